"""Two-pass volume rendering of tri-planes (EG3D's ``ImportanceRenderer``): coarse stratified samples, then
importance samples drawn from the coarse weights, both composited together in depth order."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.eg3d.decoder import TriplaneDecoder
from toonlift.plugins.eg3d.depth_sampling import importance_depths, stratified_depths
from toonlift.plugins.eg3d.marcher import march
from toonlift.plugins.eg3d.triplane import sample_triplane


@dataclass(frozen=True)
class RenderOptions:
    """Ray bounds and sample counts (EG3D FFHQ: 2.25-3.3, box 1, 48 + 48).

    Attributes:
        ray_start: near depth along each (unit) ray.
        ray_end: far depth.
        box_warp: side of the cube the tri-planes span, centred at the origin.
        depth_samples: stratified samples per ray.
        importance_samples: importance samples per ray (0: one pass).
        white_back: composite over white.
    """

    ray_start: float = 2.25
    ray_end: float = 3.3
    box_warp: float = 1.0
    depth_samples: int = 48
    importance_samples: int = 48
    white_back: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.ray_start < self.ray_end or self.box_warp <= 0:
            raise ConfigError(
                f"EG3D rendering needs 0 <= ray_start < ray_end and box_warp > 0, got ray_start={self.ray_start}, "
                f"ray_end={self.ray_end}, box_warp={self.box_warp}."
            )
        if self.depth_samples < 2 or self.importance_samples < 0:
            raise ConfigError(
                f"EG3D rendering needs depth_samples >= 2 and importance_samples >= 0, got {self.depth_samples} and "
                f"{self.importance_samples}."
            )


def query_points(planes: Tensor, decoder: TriplaneDecoder, coords: Tensor, box_warp: float) -> tuple[Tensor, Tensor]:
    """``(rgb [B, N, C], sigma [B, N, 1])`` of points ``coords [B, N, 3]`` (also the shape/mesh query)."""
    return decoder(sample_triplane(planes, coords, box_warp), coords)


def _eval_samples(
    planes: Tensor, decoder: TriplaneDecoder, origins: Tensor, dirs: Tensor, depths: Tensor, box_warp: float
) -> tuple[Tensor, Tensor]:
    b, m, s, _ = depths.shape
    coords = (origins.unsqueeze(-2) + depths * dirs.unsqueeze(-2)).reshape(b, m * s, 3)
    rgb, sigma = query_points(planes, decoder, coords, box_warp)
    return rgb.reshape(b, m, s, -1), sigma.reshape(b, m, s, 1)


def render_rays(
    planes: Tensor,
    decoder: TriplaneDecoder,
    origins: Tensor,
    dirs: Tensor,
    options: RenderOptions,
    jitter: bool,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Render rays through tri-planes.

    Args:
        planes: ``[B, 3, C, H, W]``.
        decoder: the tri-plane decoder.
        origins: ``[B, M, 3]`` ray origins.
        dirs: ``[B, M, 3]`` unit directions.
        options: ray bounds and sample counts.
        jitter: stratified jitter and random importance samples (EG3D's training); ``False``: deterministic.
        generator: random stream of the jitter.

    Returns:
        ``(features [B, M, C'] in [-1, 1], depth [B, M, 1], weights_sum [B, M, 1])``.
    """
    b, m, _ = origins.shape
    depths = stratified_depths(
        b,
        m,
        options.ray_start,
        options.ray_end,
        options.depth_samples,
        jitter,
        generator,
        origins.device,
        origins.dtype,
    )
    colors, densities = _eval_samples(planes, decoder, origins, dirs, depths, options.box_warp)
    if options.importance_samples > 0:
        _, _, weights = march(colors, densities, depths, options.white_back)
        fine = importance_depths(depths, weights, options.importance_samples, jitter, generator)
        colors_f, densities_f = _eval_samples(planes, decoder, origins, dirs, fine, options.box_warp)
        depths = torch.cat([depths, fine], dim=-2)
        colors = torch.cat([colors, colors_f], dim=-2)
        densities = torch.cat([densities, densities_f], dim=-2)
        _, order = torch.sort(depths, dim=-2)
        depths = torch.gather(depths, -2, order)
        colors = torch.gather(colors, -2, order.expand(-1, -1, -1, colors.shape[-1]))
        densities = torch.gather(densities, -2, order)
    rgb, depth, weights = march(colors, densities, depths, options.white_back)
    return rgb, depth, weights.sum(2)
