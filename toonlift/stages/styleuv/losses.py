"""StyleFaceUV's reconstruction terms (Eq. 4-5), weighted per pixel."""

from __future__ import annotations

from torch import Tensor


def masked_photometric(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Eq. 5 as the official code: per-pixel RGB Euclidean distance ``[B, H, W]`` times ``weight [B, 1, H, W]``,
    summed and divided by the weight's sum (images in ``[-1, 1]``)."""
    dist = (pred - target).pow(2).sum(1, keepdim=True).clamp_min(1e-12).sqrt()
    return (dist * weight).sum() / weight.sum().clamp_min(1.0)


__all__ = ["masked_photometric"]
