"""Training helpers shared by the LightningModules: adaptive augmentation, EMA, per-iteration random streams."""
