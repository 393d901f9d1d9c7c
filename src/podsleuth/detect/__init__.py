"""detect stage of the podsleuth pipeline."""
