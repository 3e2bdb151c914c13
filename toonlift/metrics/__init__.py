"""Evaluation metrics: FID/KID with a pluggable feature extractor."""
