"""kube stage of the podsleuth pipeline."""
