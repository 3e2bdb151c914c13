"""EG3D camera labels of the synthetic world's renders: exact, from each image's pose.

The world renders a head placed at the pivot ``c = (0, 0, 1)`` in front of a fixed camera (renderer convention: X
right, Y down, Z forward, 10 degree field of view) and turns it by the pose: a head point ``h`` (head frame: y up,
z toward the unposed camera, origin at the pivot, in world units) lands at ``p = R D h + c`` with ``D = diag(1, -1,
-1)`` and ``R`` the pose's rotation (``toonlift.synthetic.render``). In the head frame the camera therefore orbits
the pivot: ``cam2world = [[D R^T, -D R^T c], [0, 1]]`` (OpenCV axes, as EG3D), radius 1; the unposed camera sits at
``(0, 0, 1)``. The world's intrinsics ``f = (S - 1) / 2 / tan(fov / 2)``, ``cx = cy = (S - 1) / 2`` (pixel centres
at integers) are EG3D's normalised ``fx = fy = f / S``, ``cx = cy = 0.5`` (pixel centres at ``(j + 0.5) / S``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from toonlift.functional.camera import euler_to_rotation
from toonlift.plugins.eg3d.camera import intrinsics_matrix, make_cond
from toonlift.synthetic.render import FOV_DEG, pose_to_view

PIVOT_DEPTH = 1.0  # the world's rotation pivot (0, 0, 1)


def world_focal(image_size: int, fov_deg: float = FOV_DEG) -> float:
    """EG3D's normalised focal length of the world camera for ``image_size`` px renders."""
    return (image_size - 1) / 2.0 / math.tan(math.radians(fov_deg) / 2.0) / image_size


def synthetic_cond(pose: Tensor, image_size: int) -> Tensor:
    """Camera labels ``[B, 25]`` of world renders with poses ``[B, 3]`` (yaw, pitch, roll degrees) at ``image_size``."""
    rot = euler_to_rotation(pose_to_view(pose.to(torch.float64))[:, :3])  # [B, 3, 3]
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64, device=pose.device))
    axes = flip @ rot.transpose(1, 2)  # camera axes in the head frame, as columns
    centre = torch.tensor([0.0, 0.0, PIVOT_DEPTH], dtype=torch.float64, device=pose.device)
    cam2world = torch.eye(4, dtype=torch.float64, device=pose.device).repeat(pose.shape[0], 1, 1)
    cam2world[:, :3, :3] = axes
    cam2world[:, :3, 3] = -(axes @ centre)
    intr = intrinsics_matrix(world_focal(image_size), pose.shape[0], device=pose.device, dtype=torch.float64)
    return make_cond(cam2world, intr).to(pose.dtype if pose.is_floating_point() else torch.float32)
