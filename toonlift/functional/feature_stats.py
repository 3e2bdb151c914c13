"""Style statistics of feature maps (Gatys et al. 2016's Gram matrix; AdaIN's channel mean and std): pure math.

Both summarise *what* textures a layer sees and forget *where*, which is what a style encoder should compare.
"""

from __future__ import annotations

import torch
from torch import Tensor


def channel_mean_std(features: Tensor, eps: float = 1e-5) -> Tensor:
    """Per-channel spatial mean and standard deviation of ``[B, C, H, W]`` maps: ``[B, 2C]`` (means, then stds)."""
    flat = features.flatten(2)  # [B, C, HW]
    mean = flat.mean(2)
    std = (flat.var(2, unbiased=False) + eps).sqrt()  # eps keeps the gradient finite on constant channels
    return torch.cat([mean, std], dim=1)


def gram_matrix(features: Tensor) -> Tensor:
    """``F Fᵀ / (H W)`` of ``[B, C, H, W]`` maps: ``[B, C, C]``, symmetric and positive semi-definite."""
    flat = features.flatten(2)  # [B, C, HW]
    return flat @ flat.transpose(1, 2) / flat.shape[2]


def gram_upper(features: Tensor) -> Tensor:
    """The upper triangle (diagonal included) of :func:`gram_matrix`, ``[B, C (C + 1) / 2]`` (no repeated entries)."""
    c = features.shape[1]
    rows, cols = torch.triu_indices(c, c, device=features.device)
    return gram_matrix(features)[:, rows, cols]
