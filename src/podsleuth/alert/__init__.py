"""alert stage of the podsleuth pipeline."""
