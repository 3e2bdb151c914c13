"""Toon (cel) shading: Lambert light quantised into flat bands, with dark outlines where the surface turns away.

The cartoon look of 002's results: the textured face lit by a few flat tones instead of a smooth gradient. A pixel's
Lambert term ``max(0, n.l)`` is rounded down to one of ``bands`` levels, mixed with ``ambient``; pixels whose normal
is nearly perpendicular to the view direction (``|n_z| < outline``) are the silhouette and are drawn dark.
"""

from __future__ import annotations

import torch
from torch import Tensor


def toon_shade(normals: Tensor, light_dir: Tensor, bands: int = 3, ambient: float = 0.45) -> Tensor:
    """Banded shading ``[B, H, W]`` in ``[ambient, 1]`` of unit camera-space normals ``[B, 3, H, W]``.

    ``light_dir`` ``[3]`` points towards the light (camera frame; ``(0, 0, -1)`` is from the camera).
    """
    cos = (normals * light_dir.to(normals).reshape(1, 3, 1, 1)).sum(1).clamp(min=0.0)  # [B, H, W]
    level = torch.clamp(torch.floor(cos * bands + 0.5), max=bands) / bands  # nearest of 0, 1/bands, ..., 1
    return ambient + (1.0 - ambient) * level


def outline_mask(normals: Tensor, mask: Tensor, outline: float = 0.25) -> Tensor:
    """Bool ``[B, H, W]``: covered pixels (``mask`` ``[B, 1, H, W]``) whose normal is within ``acos(outline)`` of
    perpendicular to the view (camera looks down ``+z``, so ``|n_z|`` small)."""
    return (mask[:, 0] > 0) & (normals[:, 2].abs() < outline)


__all__ = ["outline_mask", "toon_shade"]
