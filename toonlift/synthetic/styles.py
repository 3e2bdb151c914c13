"""Image-space shading of the three domains: photo (Lambert + soft shadow + sheen), cartoon (bands + outlines),
ink (ukiyo-e-like: flat colours on paper, strong lines). Pure functions of G-buffers ``[B, H, W, ...]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.synthetic import layout as L

PAPER = (0.93, 0.87, 0.74)
INK = (0.07, 0.05, 0.05)
# Label changes inside this group draw no line (the skin continues across them).
_SKIN_GROUP = (L.PART["skin"], L.PART["nose"], L.PART["ears"], L.PART["neck"])


def smoothstep(e0: float, e1: float, x: Tensor) -> Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0, 1)
    return t * t * (3 - 2 * t)


def to_srgb(x: Tensor) -> Tensor:
    """Linear ``[0, 1]`` to display values (gamma 2.2)."""
    return x.clamp(0, 1).pow(1 / 2.2)


def soft_shadow(points: Tensor, depth: Tensor, light_dir: Tensor, K: Tensor, steps: int = 6) -> Tensor:  # noqa: N803
    """Screen-space soft shadow: visibility ``[B, H, W]`` in ``[0, 1]`` of the light from each surface point.

    Each pixel's 3D point marches toward the light; where the depth map is in front of the ray (by more than a
    small bias) the point is occluded. Occlusion fades with the gap and the distance, which softens the penumbra.

    Args:
        points: ``[B, H, W, 3]`` camera-space surface points.
        depth: ``[B, H, W]`` depth map (large on the background).
        light_dir: ``[B, 3]`` unit direction toward the light.
        K: ``[3, 3]`` intrinsics.
        steps: number of march steps (0.045 camera units in all).
    """
    b, h, w, _ = points.shape
    d = depth.unsqueeze(1)  # [B, 1, H, W]
    occl = torch.zeros_like(depth)
    scale = depth.new_tensor([2.0 / (w - 1), 2.0 / (h - 1)])
    for k in range(1, steps + 1):
        t = 0.045 * k / steps
        p = points + light_dir[:, None, None, :] * t  # [B, H, W, 3]
        z = p[..., 2].clamp(min=1e-3)
        uv = torch.stack([K[0, 0] * p[..., 0] / z + K[0, 2], K[1, 1] * p[..., 1] / z + K[1, 2]], -1)
        sampled = F.grid_sample(d, uv * scale - 1, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]
        gap = z - sampled  # > 0: the surface seen at that pixel is in front of the ray
        occl = torch.maximum(occl, ((gap - 0.002) * (166.0 * (1 - 0.5 * k / steps))).clamp(0, 1 - 0.5 * k / steps))
    return 1 - occl


def photo_shade(
    albedo: Tensor, normals: Tensor, points: Tensor, light: Tensor, light_dir: Tensor, vis: Tensor, parts: Tensor
) -> Tensor:
    """Photo rendering ``[B, H, W, 3]`` (linear): ``albedo * (a + b max(0, n.l) vis) + sheen``."""
    a, b = light[:, 0, None, None], light[:, 1, None, None]
    ndl = (normals * light_dir[:, None, None, :]).sum(-1).clamp(min=0) * vis
    view = -F.normalize(points, dim=-1)
    half = F.normalize(view + light_dir[:, None, None, :], dim=-1)
    glossy = torch.where(
        torch.isin(parts, parts.new_tensor([L.PART["sclera"], L.PART["iris"], L.PART["pupil"]])), 0.6, 0.07
    )
    spec = glossy * b * (normals * half).sum(-1).clamp(min=0).pow(30) * vis
    return albedo * (a + b * ndl).unsqueeze(-1) + spec.unsqueeze(-1)


def outlines(depth: Tensor, normals: Tensor, parts: Tensor, width: int) -> Tensor:
    """Line mask ``[B, H, W]`` in ``{0, 1}``: depth jumps, normal creases and feature boundaries, ``width`` px wide."""
    h, w = depth.shape[1:]
    pixel = 2 * math.tan(math.radians(5.0)) / w  # camera units per pixel at depth 1 (fov 10 deg)
    d = depth.clamp(max=2.0)
    skin = torch.isin(parts, parts.new_tensor(_SKIN_GROUP))
    lines = torch.zeros_like(depth, dtype=torch.bool)
    for dy, dx in ((0, 1), (1, 0)):
        a = (slice(None), slice(0, h - dy), slice(0, w - dx))
        bb = (slice(None), slice(dy, h), slice(dx, w))
        jump = (d[a] - d[bb]).abs() > 3.5 * pixel * torch.minimum(d[a], d[bb])
        both = (normals[a].abs().sum(-1) > 0) & (normals[bb].abs().sum(-1) > 0)  # background normals are 0
        crease = both & ((normals[a] * normals[bb]).sum(-1) < 0.5)
        label = (parts[a] != parts[bb]) & ~(skin[a] & skin[bb])
        e = jump | crease | label
        # draw the line on the nearer side of the pair so silhouettes sit on the object
        near_a = d[a] <= d[bb]
        lines[a] |= e & near_a
        lines[bb] |= e & ~near_a
    out = lines.float().unsqueeze(1)
    if width > 1:
        out = F.max_pool2d(out, width, stride=1, padding=width // 2)
    return out[:, 0, :h, :w]


def toon_shade(
    albedo: Tensor, normals: Tensor, points: Tensor, light_dir: Tensor, vis: Tensor, parts: Tensor
) -> Tensor:
    """Cartoon colour ``[B, H, W, 3]`` (linear): two soft-edged light bands, a rim highlight, eye catch-lights."""
    ndl = (normals * light_dir[:, None, None, :]).sum(-1) * vis
    shade = 0.68 + 0.32 * smoothstep(0.12, 0.2, ndl) + 0.08 * smoothstep(0.8, 0.85, ndl)
    rgb = albedo * shade.unsqueeze(-1)
    view = -F.normalize(points, dim=-1)
    half = F.normalize(view + light_dir[:, None, None, :], dim=-1)
    eyes = torch.isin(parts, parts.new_tensor([L.PART["iris"], L.PART["pupil"]]))
    catch = (smoothstep(0.965, 0.975, (normals * half).sum(-1)) * eyes).unsqueeze(-1)
    return rgb * (1 - catch) + catch


def ink_shade(albedo: Tensor, normals: Tensor, light_dir: Tensor, parts: Tensor) -> Tensor:
    """Ukiyo-e-like colour ``[B, H, W, 3]``: flat pigments mixed with paper, pale skin, one faint shade band."""
    paper = albedo.new_tensor(PAPER)
    skin = torch.isin(parts, parts.new_tensor(_SKIN_GROUP + (L.PART["lips"],)))
    pale = torch.where(skin.unsqueeze(-1), 0.35 * albedo + 0.65 * paper, 0.8 * albedo + 0.2 * paper)
    ndl = (normals * light_dir[:, None, None, :]).sum(-1)
    shade = 0.9 + 0.1 * smoothstep(0.0, 0.1, ndl)
    return pale * shade.unsqueeze(-1)


def background(bg: Tensor, height: int, width: int, domain: str, seed: Tensor) -> Tensor:
    """Background ``[B, H, W, 3]`` (linear): flat or linear gradient; paper with fibres for ``ink``."""
    b = bg.shape[0]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
    if domain == "ink":
        g = torch.Generator().manual_seed(0)
        fibres = torch.rand(1, 1, height, width, generator=g)
        fibres = F.avg_pool2d(fibres, (1, 5), stride=1, padding=(0, 2))[0, 0]
        return (bg.new_tensor(PAPER) * (0.94 + 0.1 * fibres.unsqueeze(-1))).expand(b, height, width, 3).clamp(0, 1)
    ang = bg[:, 7]
    t = (xs[None] * ang.cos()[:, None, None] + ys[None] * ang.sin()[:, None, None]) * 0.5 + 0.5
    t = t * bg[:, 0, None, None]  # flat backgrounds have no gradient
    c0, c1 = bg[:, None, None, 1:4], bg[:, None, None, 4:7]
    return c0 + (c1 - c0) * t.unsqueeze(-1)
