"""Camera and shading helpers with the renderer's conventions (temporary until the renderer branch is merged)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def fov_to_intrinsics(fov_deg: float, image_size: int, device=None, dtype=torch.float32) -> Tensor:
    f = (image_size - 1) / 2.0 / math.tan(math.radians(fov_deg) / 2.0)
    c = (image_size - 1) / 2.0
    return torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], device=device, dtype=dtype)


def project(points: Tensor, K: Tensor) -> Tensor:
    z = points[..., 2:3]
    xy = (points / z) @ K[:2].T
    return torch.cat([xy, z], -1)


def euler_to_rotation(angles: Tensor) -> Tensor:
    def rot(a: Tensor, axis: int) -> Tensor:
        c, s = a.cos(), a.sin()
        o, z = torch.ones_like(a), torch.zeros_like(a)
        if axis == 0:
            m = [o, z, z, z, c, -s, z, s, c]
        elif axis == 1:
            m = [c, z, s, z, o, z, -s, z, c]
        else:
            m = [c, -s, z, s, c, z, z, z, o]
        return torch.stack(m, -1).reshape(*a.shape, 3, 3)

    return rot(angles[..., 2], 2) @ rot(angles[..., 1], 1) @ rot(angles[..., 0], 0)


def transform_points(points: Tensor, rot: Tensor, trans: Tensor, rot_center_depth: float = 1.0) -> Tensor:
    centre = points.new_tensor([0.0, 0.0, rot_center_depth])
    return (points - centre) @ rot.transpose(1, 2) + centre + trans[:, None, :]


def vertex_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    tri = vertices[:, faces]
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    acc = vertices.new_zeros(vertices.shape).index_add(1, faces.reshape(-1), fn.repeat_interleave(3, dim=1))
    return F.normalize(acc, dim=-1, eps=1e-7)


def depth_normals(depth: Tensor, K: Tensor) -> Tensor:
    B, H, W = depth.shape
    ys, xs = torch.meshgrid(torch.arange(H, dtype=depth.dtype), torch.arange(W, dtype=depth.dtype), indexing="ij")
    pts = torch.stack([(xs - K[0, 2]) / K[0, 0] * depth, (ys - K[1, 2]) / K[1, 1] * depth, depth], -1)
    tu = pts[:, 1:-1, 2:] - pts[:, 1:-1, :-2]
    tv = pts[:, 2:, 1:-1] - pts[:, :-2, 1:-1]
    inner = F.normalize(torch.cross(tv, tu, dim=-1), dim=-1, eps=1e-7)
    out = F.pad(inner.permute(0, 3, 1, 2), (1, 1, 1, 1)).permute(0, 2, 3, 1)
    border = torch.ones_like(depth)
    border[:, 1:-1, 1:-1] = 0.0
    return out - border[..., None] * out.new_tensor([0.0, 0.0, 1.0])


def reference_light_direction(light_dxy: Tensor) -> Tensor:
    d = torch.cat([light_dxy, torch.ones_like(light_dxy[:, :1])], dim=1)
    return -F.normalize(d, dim=1, eps=1e-7)
