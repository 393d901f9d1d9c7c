"""lab stage of the podsleuth pipeline."""
