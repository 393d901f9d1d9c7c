"""watch stage of the podsleuth pipeline."""
