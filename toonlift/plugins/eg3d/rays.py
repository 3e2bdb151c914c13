"""One ray per pixel of the neural render from an EG3D camera label (EG3D's ``RaySampler``).

Pixel ``(row i, column j)`` of an ``R x R`` render looks through the normalised image point
``(u, v) = ((j + 0.5) / R, (i + 0.5) / R)``; the point ``((u - cx + cy sk / fy - sk v / fy) / fx, (v - cy) / fy, 1)``
in camera space is moved to the world by cam2world and the ray is the unit vector from the camera centre to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.plugins.eg3d.camera import split_cond


def camera_rays(cond: Tensor, resolution: int) -> tuple[Tensor, Tensor]:
    """Ray origins and unit directions ``[B, R*R, 3]`` (rows of pixels in order) for labels ``cond [B, 25]``."""
    cam2world, intr = split_cond(cond)
    b, m = cond.shape[0], resolution * resolution
    fx, fy = intr[:, 0, 0, None], intr[:, 1, 1, None]
    cx, cy, sk = intr[:, 0, 2, None], intr[:, 1, 2, None], intr[:, 0, 1, None]
    steps = torch.arange(resolution, dtype=cond.dtype, device=cond.device) * (1.0 / resolution) + (0.5 / resolution)
    v, u = torch.meshgrid(steps, steps, indexing="ij")  # v: row, u: column, each [R, R]
    u = u.reshape(1, m).expand(b, m)
    v = v.reshape(1, m).expand(b, m)
    x = (u - cx + cy * sk / fy - sk * v / fy) / fx
    y = (v - cy) / fy
    ones = torch.ones_like(x)
    cam_points = torch.stack((x, y, ones, ones), dim=-1)  # [B, M, 4] homogeneous points at depth 1
    world = torch.bmm(cam2world, cam_points.transpose(1, 2)).transpose(1, 2)[:, :, :3]
    origin = cam2world[:, :3, 3]
    dirs = F.normalize(world - origin[:, None, :], dim=2)
    return origin[:, None, :].expand(b, m, 3), dirs


def ray_to_z_depth(distance: Tensor, cond: Tensor) -> Tensor:
    """Camera-space depth (``z``, as the synthetic world's renderer and most depth maps give it) ``[B, 1, R, R]`` of
    distances along each pixel's unit ray ``[B, 1, R, R]`` (the backbone's ``depth``) seen from cameras ``[B, 25]``.

    A pixel's ray in camera space is ``(x, y, 1) / |(x, y, 1)|`` with ``(x, y)`` as in :func:`camera_rays`, so
    ``z = distance / |(x, y, 1)|``.
    """
    if distance.dim() != 4 or distance.shape[1] != 1 or distance.shape[-1] != distance.shape[-2]:
        raise ValueError(f"expected ray distances [B, 1, R, R], got {tuple(distance.shape)}")
    _, intr = split_cond(cond.to(distance.dtype))
    r = distance.shape[-1]
    fx, fy = intr[:, 0, 0, None, None], intr[:, 1, 1, None, None]
    cx, cy, sk = intr[:, 0, 2, None, None], intr[:, 1, 2, None, None], intr[:, 0, 1, None, None]
    steps = torch.arange(r, dtype=distance.dtype, device=distance.device) / r + 0.5 / r
    v, u = torch.meshgrid(steps, steps, indexing="ij")  # [R, R] each
    x = (u - cx + cy * sk / fy - sk * v / fy) / fx  # [B, R, R]
    y = (v - cy) / fy
    return distance / torch.sqrt(1.0 + x.square() + y.square()).unsqueeze(1)
