"""A head-pose estimate as the starting view of VLDA (``VLDATraining.view_prior``).

GAN2Shape's view network starts near the frontal view and, on a turned face, often stays there: the depth then
absorbs the turn (docs/stage3.md, "The prior"). With ``view_prior="analyser"`` the synthetic world's face analyser
reads the head pose (yaw, pitch, roll in degrees) off every image the view network sees, the pose is converted to
the renderer's view with the world's own convention (:func:`toonlift.synthetic.render.pose_to_view`: ``(rx, ry, rz)
= (pitch, yaw, roll)``), and the decoded network view is added to it, so the view network learns a residual.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.synthetic.render import pose_to_view

ViewPrior = Callable[[Tensor], Tensor]

VIEW_PRIORS = ("none", "analyser")


def pose_view(pose_deg: Tensor, scale: float = 1.0) -> Tensor:
    """Renderer view ``[B, 6]`` (radians, zero translation) of head poses ``[B, 3]`` (yaw, pitch, roll degrees),
    the angles multiplied by ``scale``."""
    return pose_to_view(pose_deg * scale)


class AnalyserViewPrior:
    """``images [B, 3, H, W] in [-1, 1] -> views [B, 6]`` from the face analyser's pose read-out (no gradient).

    Deliberately not an ``nn.Module``: stored on :class:`~toonlift.stages.vlda.reconstructor.VLDANets` it must not
    join the networks' parameters, state dict or checkpoints (it is a fixed, shipped network).

    Args:
        scale: multiplier of the estimated angles (1: the estimate as is).
        weights: analyser safetensors file (``None``: the shipped one).
    """

    def __init__(self, scale: float = 1.0, weights: str | None = None) -> None:
        from toonlift.synthetic.analyser import FaceAnalyser

        self.scale = scale
        self.net: nn.Module = FaceAnalyser.load(weights).eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        self.net.to(images.device)
        pose = self.net(images.detach().float()).pose
        return pose_view(pose, self.scale).to(images.dtype)


def make_view_prior(kind: str, scale: float = 1.0) -> ViewPrior | None:
    """The view prior named ``kind`` (``"none"``: ``None``; ``"analyser"``: :class:`AnalyserViewPrior`)."""
    if kind == "none":
        return None
    if kind == "analyser":
        return AnalyserViewPrior(scale)
    raise ConfigError(f"training.view_prior must be one of {', '.join(VIEW_PRIORS)}, got {kind!r}.")
