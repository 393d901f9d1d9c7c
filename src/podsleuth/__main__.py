from podsleuth.cli import main

main()
