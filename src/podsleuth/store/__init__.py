"""store stage of the podsleuth pipeline."""
