"""Latent editing: Stage 2's identity-preserving expression offsets (usable without Lightning)."""
