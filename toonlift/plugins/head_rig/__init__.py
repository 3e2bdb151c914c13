"""The 3DMM rig: the synthetic world's head model as a backbone (``head_rig``), its latent layout and priors, UVs
and the export of its bases (seed 002; ``docs/rig.md``)."""
