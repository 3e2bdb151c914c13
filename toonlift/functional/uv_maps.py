"""UV-space maps of a mesh with one UV per vertex: baking, per-vertex lookup, displacement and texel visibility.

A texture of side ``T`` covers ``u, v ∈ [0, 1]`` (``toonlift.functional.texture``: row 0 is ``v = 1``; texel
centres at ``(i + 1/2) / T``). Rasterising the mesh *in UV space* (screen = ``(u T - 1/2, (1 - v) T - 1/2)``,
orthographic) gives, for every texel, the triangle and barycentrics that own it, so any per-vertex attribute can be
baked into a map. Where several parts share UVs (the head rig's eyeballs and hair shell take the UVs of the skin
in front of them) a per-vertex ``priority`` (smaller wins, used as the z-buffer depth) chooses which one owns the
texel.

Texel visibility (StyleFaceUV's per-texel masks, which its code gets from the renderer's gradients) comes here
straight from the rasteriser: a vertex is seen when it faces the camera and its depth is within ``tol`` of the
z-buffer at its pixel; baking that flag gives the seen texels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.rasterize import Fragments, interpolate, rasterize
from toonlift.functional.texture import sample_texture


def uv_screen(uv: Tensor, size: int, priority: Tensor | None = None) -> Tensor:
    """Screen vertices ``[1, V, 3]`` that rasterise ``uv [V, 2]`` into a ``size``-texel map (depth = priority)."""
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ConfigError(f"uv_screen: uv must be [V, 2], got {tuple(uv.shape)}.")
    depth = torch.ones_like(uv[:, 0]) if priority is None else priority.to(uv)
    return torch.stack([uv[:, 0] * size - 0.5, (1 - uv[:, 1]) * size - 0.5, depth], 1)[None]


def uv_fragments(uv: Tensor, faces: Tensor, size: int, priority: Tensor | None = None) -> Fragments:
    """Fragments ``[1, T, T]`` of the mesh drawn in UV space (``faces [F, 3]``; leave out seam-crossing ones)."""
    return rasterize(uv_screen(uv, size, priority), faces, size, perspective_correct=False)


def bake_to_uv(attributes: Tensor, faces: Tensor, fragments: Fragments) -> tuple[Tensor, Tensor]:
    """Per-vertex ``attributes [B, V, C]`` baked into maps ``[B, C, T, T]``, and the covered texels ``[1, 1, T, T]``."""
    frag = fragments
    if attributes.shape[0] > 1 and frag.face_id.shape[0] == 1:
        b = attributes.shape[0]
        frag = Fragments(
            face_id=frag.face_id.expand(b, -1, -1),
            bary=frag.bary.expand(b, -1, -1, -1),
            depth=frag.depth.expand(b, -1, -1),
            mask=frag.mask.expand(b, -1, -1),
        )
    maps = interpolate(attributes, faces, frag).permute(0, 3, 1, 2)
    return maps, fragments.mask[:, None].to(attributes.dtype)


def sample_per_vertex(uv_map: Tensor, uv: Tensor) -> Tensor:
    """Values ``[B, V, C]`` of maps ``[B, C, T, T]`` at the vertices' UVs ``[V, 2]`` (bilinear, differentiable)."""
    grid_uv = uv[None, None].expand(uv_map.shape[0], 1, -1, -1)  # [B, 1, V, 2]
    return sample_texture(uv_map, grid_uv)[:, :, 0].permute(0, 2, 1)


def displace(vertices: Tensor, normals: Tensor, amount: Tensor, scale: float) -> Tensor:
    """``vertices [B, V, 3] + scale * amount [B, V, 1] * normals [B, V, 3]`` (StyleFaceUV's generalized
    displacement: its code adds ``0.01 * tanh(map)`` along the vertex normals)."""
    return vertices + scale * amount * normals


def vertex_visibility(screen: Tensor, depth: Tensor, facing: Tensor, tol: float) -> Tensor:
    """Float ``[B, V]``: 1 where a vertex faces the camera and lies within ``tol`` of the z-buffer at its pixel.

    Args:
        screen: ``[B, V, 3]`` projected vertices ``(x_pixel, y_pixel, depth)``.
        depth: ``[B, H, W]`` z-buffer depth (0 on background).
        facing: ``[B, V]`` bool, the vertex normal points at the camera.
        tol: depth tolerance (camera units).
    """
    b, h, w = depth.shape
    x = screen[..., 0].round().long().clamp(0, w - 1)
    y = screen[..., 1].round().long().clamp(0, h - 1)
    inside = (screen[..., 0] > -0.5) & (screen[..., 0] < w - 0.5) & (screen[..., 1] > -0.5) & (screen[..., 1] < h - 0.5)
    zbuf = depth.reshape(b, -1).gather(1, y * w + x)  # [B, V]
    seen = inside & facing & (zbuf > 0) & (screen[..., 2] <= zbuf + tol)
    return seen.to(screen.dtype)


def texel_visibility(
    screen: Tensor, depth: Tensor, facing: Tensor, faces: Tensor, fragments: Fragments, tol: float = 5e-3
) -> Tensor:
    """Seen texels ``[B, 1, T, T]`` in ``{0, 1}``: :func:`vertex_visibility` baked into UV space, kept above 1/2,
    then closed by one texel (the per-vertex depth test leaves pinholes where a vertex falls on a steep pixel)."""
    vis = vertex_visibility(screen, depth, facing, tol)[..., None]
    maps, covered = bake_to_uv(vis, faces, fragments)
    seen = (maps > 0.5).to(maps.dtype)
    return erode(dilate(seen)) * covered


def dilate(mask: Tensor, pixels: int = 1) -> Tensor:
    """Binary dilation of ``[B, 1, H, W]`` masks by ``pixels`` (max-pool)."""
    k = 2 * pixels + 1
    return F.max_pool2d(mask, k, stride=1, padding=pixels)


def erode(mask: Tensor, pixels: int = 1) -> Tensor:
    """Binary erosion of ``[B, 1, H, W]`` masks by ``pixels`` (min-pool; the border counts as on)."""
    return -dilate(-mask, pixels)


__all__ = [
    "bake_to_uv",
    "dilate",
    "displace",
    "erode",
    "sample_per_vertex",
    "texel_visibility",
    "uv_fragments",
    "uv_screen",
    "vertex_visibility",
]
