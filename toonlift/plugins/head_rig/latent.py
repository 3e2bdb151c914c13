"""The layout of the head rig's latent: one flat 53-value vector with named slices.

=============  =====  ================================================================================
slice          size   meaning
=============  =====  ================================================================================
``identity``   17     identity coefficients of the synthetic head model (``IDENTITY_NAMES``, ~unit sd)
``expression`` 12     blendshape weights (``EXPRESSION_NAMES``, 1 = the full action)
``albedo``     9      the world's appearance code (``APPEARANCE_NAMES``: skin tone, redness, hair RGB, ...)
``light``      9      grey second-order spherical-harmonics coefficients (``toonlift.functional.shading``)
``pose``       6      yaw, pitch, roll (degrees), ``tx``, ``ty`` (camera units), log-scale of the head
=============  =====  ================================================================================

With ``tx = ty = 0`` and log-scale 0 the pose places the head exactly as ``toonlift.synthetic.render`` does, so
the rig's geometry equals the world's for the same identity, expression and (yaw, pitch, roll).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.identity_basis import IDENTITY_NAMES
from toonlift.synthetic.sampler import APPEARANCE_NAMES

POSE_NAMES = ("yaw", "pitch", "roll", "tx", "ty", "log_scale")
SH_NAMES = ("sh00", "sh1m1", "sh10", "sh11", "sh2m2", "sh2m1", "sh20", "sh21", "sh22")
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity", IDENTITY_NAMES),
    ("expression", EXPRESSION_NAMES),
    ("albedo", APPEARANCE_NAMES),
    ("light", SH_NAMES),
    ("pose", POSE_NAMES),
)


def _slices() -> dict[str, slice]:
    out, start = {}, 0
    for name, names in GROUPS:
        out[name] = slice(start, start + len(names))
        start += len(names)
    return out


SLICES: dict[str, slice] = _slices()
LATENT_DIM: int = sum(len(n) for _, n in GROUPS)  # 53
LATENT_NAMES: tuple[str, ...] = tuple(f"{g}.{n}" for g, names in GROUPS for n in names)


@dataclass(frozen=True)
class RigLatent:
    """A batch of rig latents split into its groups (views into one ``[B, 53]`` tensor, gradients kept).

    Attributes:
        identity: ``[B, 17]``.
        expression: ``[B, 12]``.
        albedo: ``[B, 9]``.
        light: ``[B, 9]``.
        pose: ``[B, 6]``.
    """

    identity: Tensor
    expression: Tensor
    albedo: Tensor
    light: Tensor
    pose: Tensor


def split_latent(latent: Tensor) -> RigLatent:
    """Split ``[B, 53]`` (or ``[B, 1, 53]``) latents into their named groups."""
    if latent.dim() == 3 and latent.shape[1] == 1:
        latent = latent[:, 0]
    if latent.dim() != 2 or latent.shape[1] != LATENT_DIM:
        raise ConfigError(
            f"A head-rig latent is [B, {LATENT_DIM}] (identity 17, expression 12, albedo 9, light 9, pose 6); got "
            f"shape {tuple(latent.shape)}. Build one with toonlift.plugins.head_rig.latent.join_latent."
        )
    return RigLatent(**{name: latent[:, s] for name, s in SLICES.items()})


def join_latent(parts: RigLatent) -> Tensor:
    """The flat ``[B, 53]`` latent of its groups (inverse of :func:`split_latent`)."""
    return torch.cat([getattr(parts, name) for name, _ in GROUPS], dim=1)
