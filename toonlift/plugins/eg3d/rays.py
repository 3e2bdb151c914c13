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
