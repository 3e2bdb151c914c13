"""3DArtmator (seed 004): one artwork -> a stylised sub-space of a 3D-aware generator that keeps its controls.

Needs: the ``eg3d`` generator; a feature extractor for the directional loss. Parts: :mod:`.anchor` (stage 1,
latent and joint latent-and-camera search), :mod:`.stylise` (stage 2, directional + spatial fine-tune),
:mod:`.pipeline` (``Artmator``), :mod:`.module` (``artmator``).
"""
