"""EG3D's ray marcher (``MipRayMarcher2``): alpha compositing of colours and depths at the midpoints of samples.

Between consecutive samples the colour, raw density and depth are averaged; the density is activated with
``softplus(sigma - 1)`` (EG3D's bias of -1 makes training start better), ``alpha = 1 - exp(-density * delta)``, and
the weight of interval ``i`` is ``alpha_i * prod_{j<i} (1 - alpha_j + 1e-10)``. The colour ends scaled to ``[-1, 1]``
(white background optional, as EG3D's ShapeNet config); the depth is the weighted mean depth, clamped to the sampled
range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def march(colors: Tensor, densities: Tensor, depths: Tensor, white_back: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Composite samples sorted along each ray.

    Args:
        colors: ``[B, M, S, C]`` in ``[0, 1]``.
        densities: ``[B, M, S, 1]`` raw densities.
        depths: ``[B, M, S, 1]`` increasing along ``S``.
        white_back: composite over white instead of black.

    Returns:
        ``(rgb [B, M, C] in [-1, 1], depth [B, M, 1], weights [B, M, S-1, 1])``.
    """
    deltas = depths[:, :, 1:] - depths[:, :, :-1]
    colors_mid = (colors[:, :, :-1] + colors[:, :, 1:]) / 2
    densities_mid = F.softplus((densities[:, :, :-1] + densities[:, :, 1:]) / 2 - 1)
    depths_mid = (depths[:, :, :-1] + depths[:, :, 1:]) / 2
    alpha = 1 - torch.exp(-densities_mid * deltas)
    shifted = torch.cat([torch.ones_like(alpha[:, :, :1]), 1 - alpha + 1e-10], -2)
    weights = alpha * torch.cumprod(shifted, -2)[:, :, :-1]
    rgb = torch.sum(weights * colors_mid, -2)
    total = weights.sum(2)
    depth = torch.nan_to_num(torch.sum(weights * depths_mid, -2) / total, float("inf"))
    depth = torch.clamp(depth, torch.min(depths), torch.max(depths))
    if white_back:
        rgb = rgb + 1 - total
    return rgb * 2 - 1, depth, weights
