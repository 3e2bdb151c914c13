"""Features of 3D points read from three axis-aligned feature planes (EG3D's ``sample_from_planes``).

Points are scaled by ``2 / box_warp`` (so the cube of side ``box_warp`` centred at the origin spans the planes'
``[-1, 1]`` range) and projected onto the planes with EG3D's plane axes: plane 0 reads ``(x, y)``, plane 1
``(x, z)`` and plane 2 ``(z, x)`` as its (column, row) grid coordinates. EG3D's third plane is documented as the
``zy`` plane, but its axes matrix projects to ``(z, x)``; the released weights were trained with that, so it is kept.
Bilinear sampling, zeros outside, ``align_corners=False``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# (column, row) coordinate of each plane, as indices into (x, y, z)
PLANE_AXES = ((0, 1), (0, 2), (2, 0))


def project_to_planes(coords: Tensor) -> Tensor:
    """Plane coordinates ``[B, 3, M, 2]`` of points ``[B, M, 3]`` (already scaled to the planes' range)."""
    return torch.stack([coords[..., list(axes)] for axes in PLANE_AXES], dim=1)


def sample_triplane(planes: Tensor, coords: Tensor, box_warp: float) -> Tensor:
    """Bilinear features ``[B, 3, M, C]`` of points ``coords [B, M, 3]`` from ``planes [B, 3, C, H, W]``."""
    b, n_planes, c, h, w = planes.shape
    m = coords.shape[1]
    grid = project_to_planes(coords * (2.0 / box_warp)).reshape(b * n_planes, 1, m, 2)
    out = F.grid_sample(
        planes.reshape(b * n_planes, c, h, w),
        grid.to(planes.dtype),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )  # [B*3, C, 1, M]
    return out.permute(0, 3, 2, 1).reshape(b, n_planes, m, c)
