"""Mesh renderer plugin (registry name ``mesh``): shaded triangle meshes with vertex colours or a UV texture.

Pipeline: camera-space vertices -> optional view transform -> pinhole projection -> z-buffer rasterisation ->
perspective-correct interpolation of colours / UVs and vertex normals -> Lambert or SH shading -> composite over a
background colour or image. Every step is differentiable except the discrete visibility (see
``toonlift.functional.rasterize``); an optional soft silhouette (``soft_sigma > 0``) gives edge gradients.
Conventions (axes, pixel centres, UVs, normals, light direction): ``docs/rendering.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.camera import fov_to_intrinsics, project, transform_points, view_to_transform
from toonlift.functional.rasterize import Fragments, interpolate, rasterize
from toonlift.functional.shading import lambert, sh_shading, vertex_normals
from toonlift.functional.silhouette import soft_silhouette
from toonlift.functional.texture import sample_texture
from toonlift.plugins.renderers.base import Renderer

_SHADINGS = ("lambert", "sh", "none")


@dataclass
class MeshRenderOutput:
    """What :class:`MeshRenderer` returns (images are ``[-1, 1]``, like every toonlift image).

    Attributes:
        image: ``[B, C, H, W]`` shaded colour composited over the background.
        depth: ``[B, 1, H, W]`` camera depth, 0 on background.
        mask: ``[B, 1, H, W]`` float hard coverage (1 where a triangle is visible).
        normals: ``[B, 3, H, W]`` unit camera-space normals (outward, facing the camera: ``n_z < 0``), 0 on background.
        albedo: ``[B, C, H, W]`` unshaded colour, 0 on background.
        shading: ``[B, 1 or C, H, W]`` shading factor, 0 on background.
        alpha: ``[B, 1, H, W]`` soft silhouette when ``soft_sigma > 0``, else the hard mask.
        fragments: the raw rasteriser output.
    """

    image: Tensor
    depth: Tensor
    mask: Tensor
    normals: Tensor
    albedo: Tensor
    shading: Tensor
    alpha: Tensor
    fragments: Fragments


class MeshRenderer(Renderer):
    """Differentiable mesh renderer with Lambert or second-order spherical-harmonics lighting.

    Args:
        image_size: output side in pixels (square images).
        fov: horizontal field of view in degrees (10 = the Unsup3d/GAN2Shape camera).
        shading: ``"lambert"`` (``ambient + diffuse * max(0, n.l)``), ``"sh"`` (9 SH coefficients per call) or
            ``"none"`` (unlit colours).
        ambient: default ambient strength for Lambert shading.
        diffuse: default diffuse strength for Lambert shading.
        light_direction: default direction towards the light, camera frame (``[0, 0, -1]`` = from the camera).
        background: background colour in ``[-1, 1]``, one value per channel (or one for all).
        rot_center_depth: depth of the pivot used by the ``view`` argument of :meth:`forward`.
        soft_sigma: softness in pixels of the optional soft silhouette (``alpha``); 0 disables it.
        max_candidates: rasteriser chunk size (memory bound).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"image_size": 16}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        # a tetrahedron 1 unit in front of the camera, about the frame's width (fov 10 deg sees +-0.087 at Z = 1)
        v = torch.tensor([[0.0, -0.06, 1.0], [-0.06, 0.05, 1.0], [0.06, 0.05, 1.0], [0.0, 0.0, 0.95]])
        vertices = v.expand(batch, -1, -1).clone().requires_grad_(True)
        faces = torch.tensor([[0, 2, 1], [0, 1, 3], [1, 2, 3], [2, 0, 3]])
        colors = torch.rand(batch, 4, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
        return vertices, faces, colors

    def __init__(
        self,
        image_size: int = 256,
        fov: float = 10.0,
        shading: str = "lambert",
        ambient: float = 0.5,
        diffuse: float = 0.5,
        light_direction: tuple[float, float, float] = (0.0, 0.0, -1.0),
        background: tuple[float, ...] = (1.0, 1.0, 1.0),
        rot_center_depth: float = 1.0,
        soft_sigma: float = 0.0,
        max_candidates: int = 1 << 22,
    ) -> None:
        super().__init__(image_size)
        if shading not in _SHADINGS:
            raise ConfigError(f"MeshRenderer shading must be one of {_SHADINGS}, got '{shading}'.")
        if not 0.0 < fov < 180.0:
            raise ConfigError(f"MeshRenderer fov must lie in (0, 180) degrees, got {fov}.")
        if soft_sigma < 0:
            raise ConfigError(f"MeshRenderer soft_sigma must be >= 0, got {soft_sigma}.")
        self.fov = float(fov)
        self.shading = shading
        self.ambient = float(ambient)
        self.diffuse = float(diffuse)
        self.rot_center_depth = float(rot_center_depth)
        self.soft_sigma = float(soft_sigma)
        self.max_candidates = int(max_candidates)
        self.register_buffer("K", fov_to_intrinsics(self.fov, self.image_size), persistent=False)
        light = F.normalize(torch.tensor(light_direction, dtype=torch.float32), dim=0)
        self.register_buffer("light_direction", light, persistent=False)
        self.register_buffer("background", torch.tensor(background, dtype=torch.float32), persistent=False)

    def forward(
        self,
        vertices: Tensor,
        faces: Tensor,
        vertex_colors: Tensor | None = None,
        uv: Tensor | None = None,
        texture: Tensor | None = None,
        uv_faces: Tensor | None = None,
        view: Tensor | None = None,
        light_direction: Tensor | None = None,
        ambient: Tensor | float | None = None,
        diffuse: Tensor | float | None = None,
        sh_coefficients: Tensor | None = None,
        background_image: Tensor | None = None,
    ) -> MeshRenderOutput:
        """Render a batch of meshes sharing one topology.

        Args:
            vertices: ``[B, V, 3]`` camera-space positions (+X right, +Y down, +Z forward; visible at ``Z > 0``).
            faces: ``[F, 3]`` int64, counter-clockwise seen from outside.
            vertex_colors: ``[B or 1, V, C]`` colours in ``[-1, 1]`` (give these or ``uv`` + ``texture``).
            uv: ``[B or 1, Vt, 2]`` texture coordinates (OBJ convention, ``v`` up).
            texture: ``[B or 1, C, Ht, Wt]`` texture image in ``[-1, 1]``, row 0 = top.
            uv_faces: ``[F, 3]`` indices into ``uv`` (default: ``faces``, i.e. one UV per vertex).
            view: optional ``[B, 6]`` view ``(rx, ry, rz, tx, ty, tz)`` applied about ``rot_center_depth``.
            light_direction: ``[B, 3]`` direction towards the light (default: the constructor's).
            ambient: ambient strength, scalar or ``[B]`` (default: the constructor's).
            diffuse: diffuse strength, scalar or ``[B]`` (default: the constructor's).
            sh_coefficients: ``[B, 9]`` or ``[B, 9, C]``, required when ``shading="sh"``.
            background_image: ``[B, C, H, W]`` in ``[-1, 1]`` replacing the background colour.
        """
        B, S = vertices.shape[0], self.image_size
        if not bool(torch.isfinite(vertices).all()):
            raise NonFiniteError("MeshRenderer got vertices with NaN or infinite values.")
        if view is not None:
            rot, trans = view_to_transform(view.to(vertices.dtype))
            vertices = transform_points(vertices, rot, trans, self.rot_center_depth)
        K = self.K.to(vertices)
        frags = rasterize(project(vertices, K), faces, S, max_candidates=self.max_candidates)
        mask = frags.mask[:, None].to(vertices.dtype)  # [B, 1, H, W]

        if vertex_colors is not None:
            albedo = interpolate(vertex_colors.to(vertices.dtype), faces, frags).permute(0, 3, 1, 2)
        elif uv is not None and texture is not None:
            uv_pix = interpolate(uv.to(vertices.dtype), faces if uv_faces is None else uv_faces, frags)
            albedo = sample_texture(texture.to(vertices.dtype), uv_pix) * mask
        else:
            raise ConfigError("MeshRenderer.forward needs vertex_colors, or uv together with texture.")

        normals = F.normalize(interpolate(vertex_normals(vertices, faces), faces, frags), dim=-1, eps=1e-7)
        shade = self._shade(normals, B, light_direction, ambient, diffuse, sh_coefficients)  # [B, H, W(, C)]
        shade = shade[:, None] if shade.dim() == 3 else shade.permute(0, 3, 1, 2)
        shade = shade * mask
        color = ((albedo + 1.0) / 2.0 * shade) * 2.0 - 1.0  # shading acts on [0, 1] reflectance

        alpha = mask
        if self.soft_sigma > 0:
            alpha = soft_silhouette(project(vertices, K), faces, S, self.soft_sigma, max_candidates=self.max_candidates)
            alpha = alpha[:, None]
        if background_image is not None:
            bg = background_image.to(color.dtype)
        else:
            bg = self.background.to(color).reshape(1, -1, 1, 1).expand(B, color.shape[1], S, S)
        image = alpha * color + (1.0 - alpha) * bg
        return MeshRenderOutput(
            image=image,
            depth=frags.depth[:, None],
            mask=mask,
            normals=normals.permute(0, 3, 1, 2) * mask,
            albedo=albedo * mask,
            shading=shade,
            alpha=alpha,
            fragments=frags,
        )

    def _shade(
        self,
        normals: Tensor,
        batch: int,
        light_direction: Tensor | None,
        ambient: Tensor | float | None,
        diffuse: Tensor | float | None,
        sh_coefficients: Tensor | None,
    ) -> Tensor:
        """Shading ``[B, H, W]`` (or ``[B, H, W, C]`` for coloured SH) from per-pixel normals ``[B, H, W, 3]``."""
        if self.shading == "none":
            return torch.ones_like(normals[..., 0])
        if self.shading == "sh":
            if sh_coefficients is None:
                raise ConfigError("MeshRenderer(shading='sh') needs sh_coefficients [B, 9] or [B, 9, C].")
            return sh_shading(normals, sh_coefficients.to(normals.dtype))
        if light_direction is None:
            light_direction = self.light_direction.to(normals).expand(batch, 3)
        a = self.ambient if ambient is None else ambient
        d = self.diffuse if diffuse is None else diffuse
        return lambert(normals, F.normalize(light_direction.to(normals), dim=-1), a, d)
