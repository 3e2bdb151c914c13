"""Where along each ray the renderer samples: stratified coarse depths, then importance depths from their weights.

Both follow EG3D's ``ImportanceRenderer``. The deterministic mode (for reproducible renders and the equality test)
drops the stratified jitter and draws the importance samples at the fixed quantiles ``linspace(0, 1, n)`` of the
coarse weights' distribution (NeRF's ``det=True``); EG3D itself always jitters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

PDF_EPS = 1e-5
WEIGHT_FLOOR = 0.01  # EG3D adds this to the smoothed weights so empty rays still spread their samples


def stratified_depths(
    batch: int,
    rays: int,
    ray_start: float,
    ray_end: float,
    n: int,
    jitter: bool,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """``[B, M, n, 1]`` depths at ``linspace(start, end, n)``, each pushed up by ``U(0, 1) * step`` when jittered."""
    depths = torch.linspace(ray_start, ray_end, n, device=device, dtype=dtype).reshape(1, 1, n, 1)
    depths = depths.repeat(batch, rays, 1, 1)
    if jitter:
        step = (ray_end - ray_start) / (n - 1)
        noise = torch.rand(depths.shape, generator=generator, device=depths.device, dtype=depths.dtype)
        depths = depths + noise * step
    return depths


def sample_pdf(bins: Tensor, weights: Tensor, n: int, u: Tensor) -> Tensor:
    """Inverse-CDF samples ``[N, n]`` of the piecewise-constant density ``weights [N, K]`` on ``bins [N, K+1]``.

    Args:
        bins: bin edges per ray.
        weights: unnormalised bin weights per ray.
        n: samples per ray.
        u: ``[N, n]`` quantiles in ``[0, 1]``.
    """
    k = weights.shape[1]
    weights = weights + PDF_EPS
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], -1)  # [N, K+1]
    inds = torch.searchsorted(cdf, u.contiguous(), right=True)
    below = (inds - 1).clamp_min(0)
    above = inds.clamp_max(k)
    idx = torch.stack([below, above], -1).reshape(u.shape[0], 2 * n)
    cdf_g = torch.gather(cdf, 1, idx).reshape(u.shape[0], n, 2)
    bins_g = torch.gather(bins, 1, idx).reshape(u.shape[0], n, 2)
    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < PDF_EPS, torch.ones_like(denom), denom)  # an empty bin is never chosen
    return bins_g[..., 0] + (u - cdf_g[..., 0]) / denom * (bins_g[..., 1] - bins_g[..., 0])


@torch.no_grad()
def importance_depths(
    depths: Tensor, weights: Tensor, n: int, jitter: bool, generator: torch.Generator | None = None
) -> Tensor:
    """``[B, M, n, 1]`` depths drawn from the coarse weights (``[B, M, S-1, 1]``) over coarse depths ``[B, M, S, 1]``.

    As EG3D: the weights are smoothed by a max-pool then an average-pool of width 2 and floored by 0.01, and the
    samples fall between the midpoints of the coarse depths.
    """
    b, m, s, _ = depths.shape
    z = depths.reshape(b * m, s)
    w = weights.reshape(b * m, -1)
    w = F.max_pool1d(w.unsqueeze(1), 2, 1, padding=1)
    w = F.avg_pool1d(w, 2, 1).squeeze(1) + WEIGHT_FLOOR
    mids = 0.5 * (z[:, :-1] + z[:, 1:])
    if jitter:
        u = torch.rand(b * m, n, generator=generator, device=z.device, dtype=z.dtype)
    else:
        u = torch.linspace(0, 1, n, device=z.device, dtype=z.dtype).expand(b * m, n)
    return sample_pdf(mids, w[:, 1:-1], n, u).reshape(b, m, n, 1)
