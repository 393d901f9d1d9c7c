"""diagnose stage of the podsleuth pipeline."""
