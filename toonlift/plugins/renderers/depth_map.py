"""Depth-map renderer plugin (registry name ``depth_map``): the Unsup3d / GAN2Shape image formation.

Given a canonical depth ``d``, albedo ``a``, a view ``v`` and a light, it shades the canonical image
``t = ((a + 1) / 2 * (ambient + diffuse * max(0, n . l))) * 2 - 1`` (``n`` from the depth map), rasterises the depth
map's grid mesh from the view (``recon_depth``), builds the inverse warp grid and samples ``t`` with
``grid_sample`` -- the reference's ``forward_step1`` rendering path, differentiable w.r.t. depth, albedo, view and
light. The math lives in ``toonlift.functional.depth_map``; conventions in ``docs/rendering.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional import depth_map as dm
from toonlift.functional.camera import fov_to_intrinsics, view_to_transform
from toonlift.functional.shading import (
    depth_normal_planes,
    depth_normals,
    depth_to_points,
    lambert_cosine,
    lambert_mix,
)
from toonlift.plugins.renderers.base import Renderer


@dataclass
class DepthMapRenderOutput:
    """What :class:`DepthMapRenderer` returns.

    Attributes:
        image: ``[B, C, H, W]`` the shaded canonical image seen from the view, in ``[-1, 1]`` (clamped).
        mask: ``[B, 1, H, W]`` float valid mask (new-view pixels that see the surface; no gradient).
        recon_depth: ``[B, H, W]`` depth seen from the view (clamped to the range +- margin).
        grid: ``[B, H, W, 2]`` the inverse warp grid (new view -> canonical image, ``align_corners=True``).
        canonical_image: ``[B, C, H, W]`` the shaded image in the canonical view.
        normal: ``[B, H, W, 3]`` canonical normals (outward, ``n_z < 0`` when facing the camera).
        diffuse_shading: ``[B, 1, H, W]`` ``max(0, n . l)``.
        shading: ``[B, 1, H, W]`` ``ambient + diffuse * max(0, n . l)``.
    """

    image: Tensor
    mask: Tensor
    recon_depth: Tensor
    grid: Tensor
    canonical_image: Tensor
    normal: Tensor
    diffuse_shading: Tensor
    shading: Tensor


class DepthMapRenderer(Renderer):
    """Unsup3d/GAN2Shape renderer: canonical depth + albedo + view + light -> image, in pure PyTorch.

    Args:
        image_size: side of the (square) depth maps and images in pixels.
        fov: horizontal field of view in degrees (reference 10).
        min_depth: smallest canonical depth (reference 0.9).
        max_depth: largest canonical depth (reference 1.1).
        rot_center_depth: depth of the rotation pivot on the optical axis (reference 1.0).
        padding_mode: ``grid_sample`` padding for samples outside the canonical image (reference ``"zeros"``).
        max_candidates: rasteriser chunk size (memory bound).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"image_size": 16}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen, s = torch.Generator().manual_seed(0), self.image_size
        depth = (1.0 - 0.05 * torch.rand(batch, s, s, generator=gen)).requires_grad_(True)  # inside [0.9, 1.1]
        albedo = torch.rand(batch, 3, s, s, generator=gen) * 2 - 1
        view = torch.randn(batch, 6, generator=gen) * 0.05
        light = torch.nn.functional.normalize(torch.tensor([[0.2, -0.3, -1.0]]).expand(batch, -1), dim=1)
        return depth, albedo, view, light

    def __init__(
        self,
        image_size: int = 64,
        fov: float = 10.0,
        min_depth: float = 0.9,
        max_depth: float = 1.1,
        rot_center_depth: float = 1.0,
        padding_mode: str = "zeros",
        max_candidates: int = 1 << 22,
    ) -> None:
        super().__init__(image_size)
        if not 0.0 < min_depth < max_depth:
            raise ConfigError(f"DepthMapRenderer needs 0 < min_depth < max_depth, got {min_depth} and {max_depth}.")
        if not 0.0 < fov < 180.0:
            raise ConfigError(f"DepthMapRenderer fov must lie in (0, 180) degrees, got {fov}.")
        if padding_mode not in ("zeros", "border", "reflection"):
            raise ConfigError(f"DepthMapRenderer padding_mode must be zeros, border or reflection; got {padding_mode}.")
        self.fov = float(fov)
        self.min_depth = float(min_depth)
        self.max_depth = float(max_depth)
        self.rot_center_depth = float(rot_center_depth)
        self.padding_mode = padding_mode
        self.max_candidates = int(max_candidates)
        self.register_buffer("K", fov_to_intrinsics(self.fov, self.image_size), persistent=False)

    # ------------------------------------------------------------------ building blocks (reference names)
    @property
    def margin(self) -> float:
        """Allowed excursion outside the depth range: ``(max - min) / 2``."""
        return (self.max_depth - self.min_depth) / 2.0

    def _check_depth(self, depth: Tensor) -> None:
        if depth.dim() != 3 or depth.shape[1:] != (self.image_size, self.image_size):
            raise ValueError(f"depth must be [B, {self.image_size}, {self.image_size}], got {tuple(depth.shape)}")

    def rescale_depth(self, raw: Tensor) -> Tensor:
        """Map ``[-1, 1]`` network outputs (after ``tanh``) to ``[min_depth, max_depth]``."""
        return (raw + 1.0) / 2.0 * (self.max_depth - self.min_depth) + self.min_depth

    def clamp_border(self, depth: Tensor) -> Tensor:
        """The reference's border treatment: left/right 2 columns pushed to ``0.7 max + 0.3 min`` (weight 1.02)."""
        return dm.clamp_depth_border(depth, dm.border_depth(self.min_depth, self.max_depth))

    def depth_to_3d_grid(self, depth: Tensor) -> Tensor:
        """``[B, H, W]`` depth -> ``[B, H, W, 3]`` camera-space points."""
        return depth_to_points(depth, self.K.to(depth))

    def normals(self, depth: Tensor) -> Tensor:
        """``[B, H, W, 3]`` outward unit normals of a depth map (border ``(0, 0, -1)``)."""
        return depth_normals(depth, self.K.to(depth))

    def warp_canon_depth(self, depth: Tensor, view: Tensor) -> Tensor:
        """Depth ``[B, H, W]`` of the canonical surface seen from ``view`` ``[B, 6|5|3]`` (differentiable)."""
        self._check_depth(depth)
        rot, trans = view_to_transform(view.to(depth.dtype))
        return dm.warp_canon_depth(
            depth,
            rot,
            trans,
            self.K.to(depth),
            self.min_depth,
            self.max_depth,
            self.rot_center_depth,
            self.max_candidates,
        )

    def inverse_warp_grid(self, recon_depth: Tensor, view: Tensor) -> Tensor:
        """``grid_sample`` grid ``[B, H, W, 2]`` from the view back to the canonical image."""
        rot, trans = view_to_transform(view.to(recon_depth.dtype))
        return dm.inverse_warp_grid(recon_depth, rot, trans, self.K.to(recon_depth), self.rot_center_depth)

    def forward_warp_grid(self, depth: Tensor, view: Tensor) -> Tensor:
        """``grid_sample`` grid ``[B, H, W, 2]`` of where each canonical pixel lands in the view."""
        rot, trans = view_to_transform(view.to(depth.dtype))
        return dm.forward_warp_grid(depth, rot, trans, self.K.to(depth), self.rot_center_depth)

    def valid_mask(self, recon_depth: Tensor) -> Tensor:
        """``[B, 1, H, W]`` float mask of pixels that see the surface (detached, as in the reference)."""
        return dm.valid_mask(recon_depth.detach(), self.min_depth, self.max_depth)

    def warp_image(self, image: Tensor, depth: Tensor, view: Tensor, mode: str = "bilinear") -> tuple[Tensor, Tensor]:
        """Warp a canonical image ``[B, C, H, W]`` to ``view`` using ``depth``: ``(image, valid mask)``.

        GAN2Shape's ``render_given_view(..., grid_sample=True)``; ``mode="nearest"`` for masks.
        """
        recon = self.warp_canon_depth(depth, view)
        grid = self.inverse_warp_grid(recon, view)
        return dm.sample_image(image, grid, mode=mode, padding_mode=self.padding_mode), self.valid_mask(recon)

    # ------------------------------------------------------------------ full render
    def forward(
        self,
        depth: Tensor,
        albedo: Tensor,
        view: Tensor,
        light_direction: Tensor,
        ambient: Tensor | float = 0.5,
        diffuse: Tensor | float = 0.5,
    ) -> DepthMapRenderOutput:
        """Render canonical depth + albedo from a view under a directional light.

        Args:
            depth: ``[B, H, W]`` canonical depth in ``[min_depth, max_depth]``.
            albedo: ``[B, C, H, W]`` canonical albedo in ``[-1, 1]``.
            view: ``[B, 6]`` ``(rx, ry, rz, tx, ty, tz)`` (radians; ``[B, 5]`` / ``[B, 3]`` accepted).
            light_direction: ``[B, 3]`` unit direction towards the light (toonlift convention; convert the
                reference's ``(dx, dy)`` with ``toonlift.functional.shading.reference_light_direction``).
            ambient: ambient strength, scalar or ``[B]`` (reference: ``L[0] / 2 + 0.5``).
            diffuse: diffuse strength, scalar or ``[B]`` (reference: ``L[1] / 2 + 0.5``).
        """
        self._check_depth(depth)
        if not bool(torch.isfinite(depth).all()):
            raise NonFiniteError("DepthMapRenderer got a depth map with NaN or infinite values (check the depth net).")
        if albedo.dim() != 4 or albedo.shape[0] != depth.shape[0] or albedo.shape[2:] != depth.shape[1:]:
            raise ValueError(f"albedo must be [B, C, H, W] matching depth {tuple(depth.shape)}")
        planes = depth_normal_planes(depth, self.K.to(depth))  # (n_x, n_y, n_z) [B, H, W]
        normal = torch.stack(planes, dim=-1)
        light = light_direction.to(depth)
        cosine = lambert_cosine(planes, light)  # [B, H, W], computed once for both outputs
        diffuse_shading = lambert_mix(cosine, 0.0, 1.0)[:, None]  # [B, 1, H, W]
        shading = lambert_mix(cosine, ambient, diffuse)[:, None]
        canonical = ((albedo + 1.0) / 2.0 * shading) * 2.0 - 1.0
        recon_depth = self.warp_canon_depth(depth, view)
        grid = self.inverse_warp_grid(recon_depth, view)
        image = dm.sample_image(canonical, grid, padding_mode=self.padding_mode).clamp(-1.0, 1.0)
        return DepthMapRenderOutput(
            image=image,
            mask=self.valid_mask(recon_depth),
            recon_depth=recon_depth,
            grid=grid,
            canonical_image=canonical,
            normal=normal,
            diffuse_shading=diffuse_shading,
            shading=shading,
        )
