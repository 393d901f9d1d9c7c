"""node stage of the podsleuth pipeline."""
