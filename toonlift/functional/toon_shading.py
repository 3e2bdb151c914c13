"""Toon (cel) shading: flat colour regions, banded light and dark lines, for the cartoon look of 002's results.

* :func:`cartoon_texture` flattens a photo texture: a median filter (edge-preserving smoothing), the luminance
  rounded to ``levels`` steps with each texel's chroma kept (so skin stays skin-coloured), and dark lines where the
  smoothed luminance changes fast (Sobel magnitude above ``edge``: eyes, brows, lips, nostrils). Applied in UV
  space, the lines stay on the surface when the head turns.
* :func:`toon_shade`: a pixel's Lambert term ``max(0, n.l)`` rounded to one of ``bands`` levels, mixed with
  ``ambient``.
* :func:`outline_mask`: pixels whose normal is nearly perpendicular to the view (``|n_z| < outline``) are the
  silhouette and are drawn dark.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)  # Rec. 601 luma weights


def cartoon_texture(
    texture: Tensor, levels: int = 6, edge: float = 0.72, median: int = 5, line: float = 0.35
) -> Tensor:
    """The flattened texture ``[3, H, W]`` in ``[-1, 1]`` of ``texture`` ``[3, H, W]`` in ``[-1, 1]``.

    Args:
        levels: luminance steps.
        edge: Sobel magnitude (of luminance in ``[0, 1]``) above which a texel is a line.
        median: median-filter size.
        line: brightness factor of line texels.
    """
    x = ((texture.detach().double().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()  # [H, W, 3]
    x = ndimage.median_filter(x, size=(median, median, 1), mode="nearest")
    lum = x @ np.array(LUMA)
    flat = (np.floor(lum * levels).clip(0, levels - 1) + 0.5) / levels
    out = x * (flat / np.maximum(lum, 1e-3))[..., None]
    out[np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1)) > edge] *= line
    return torch.from_numpy(out.clip(0, 1)).permute(2, 0, 1).to(texture.dtype) * 2 - 1


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


__all__ = ["cartoon_texture", "outline_mask", "toon_shade"]
