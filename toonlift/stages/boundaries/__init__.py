"""Linear attribute boundaries (InterFaceGAN) for any registered backbone: sample, read out, fit, save.

Needs of the backbone: only the :class:`~toonlift.plugins.backbones.base.Backbone` contract (``sample_z``,
``mapping``, ``synthesis``); a backbone offering ``CameraConditioned`` is mapped and rendered with its canonical
camera unless the caller asks for sampled cameras. The math is :mod:`toonlift.functional.boundaries`.
"""

from toonlift.stages.boundaries.fit import BoundaryFile, fit_backbone_boundary, load_boundary, sample_and_read

__all__ = ["BoundaryFile", "fit_backbone_boundary", "load_boundary", "sample_and_read"]
