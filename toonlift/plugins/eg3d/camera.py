"""EG3D's 25-number camera label: OpenCV cam2world ``[4, 4]`` flattened, then normalised intrinsics ``[3, 3]``.

Layout of ``c [B, 25]`` (the training guide of NVlabs/eg3d): ``c[:, :16]`` is the camera-to-world matrix in the OpenCV
convention (camera x right, y down, z forward, row-major), ``c[:, 16:]`` the intrinsics with the focal length and the
principal point divided by the image side (``[[f, 0, 0.5], [0, f, 0.5], [0, 0, 1]]``; FFHQ's ``f = 4.2647``).

Orbit cameras here take *true* angles: the camera sits at ``orbit_center + radius * (cos p sin y, sin p, cos p cos y)``
(world y up, yaw ``y`` positive toward +x, pitch ``p`` positive above) and looks at ``look_at`` with no roll. EG3D's
``LookAtPoseSampler`` is the same camera with ``orbit_center = 0`` except that its vertical angle enters through
``arccos(1 - 2 v / pi)`` with the opposite sign; for FFHQ use ``orbit_center = (0, 0, 0)``, ``look_at = (0, 0, 0.2)``
and ``radius = 2.7``. toonlift's synthetic world turns the head about its pivot, so there the orbit centre and the
look-at point are both the pivot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.errors import ConfigError

COND_DIM = 25
FFHQ_FOCAL = 4.2647  # normalised focal length of EG3D's FFHQ cameras (18.837 mm on a 4.4 mm-wide sensor)


def intrinsics_matrix(
    focal: float, n: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> Tensor:
    """Normalised intrinsics ``[n, 3, 3]`` with the principal point at the image centre."""
    k = torch.tensor([[focal, 0.0, 0.5], [0.0, focal, 0.5], [0.0, 0.0, 1.0]], device=device, dtype=dtype)
    return k.expand(n, 3, 3).clone()


def look_at_cam2world(origin: Tensor, target: Tensor) -> Tensor:
    """OpenCV cam2world ``[B, 4, 4]`` of cameras at ``origin [B, 3]`` looking at ``target [B, 3]`` (world y up).

    Columns are right, down, forward and the position, built as EG3D's ``create_cam2world_matrix`` does.
    """
    forward = F.normalize(target - origin, dim=-1)
    up = torch.zeros_like(forward)
    up[:, 1] = 1.0
    right = -F.normalize(torch.cross(up, forward, dim=-1), dim=-1)
    down = F.normalize(torch.cross(forward, right, dim=-1), dim=-1)
    m = torch.eye(4, dtype=origin.dtype, device=origin.device).repeat(origin.shape[0], 1, 1)
    m[:, :3, :3] = torch.stack((right, down, forward), dim=-1)
    m[:, :3, 3] = origin
    return m


def orbit_cond(
    yaw: Tensor,
    pitch: Tensor,
    radius: float,
    orbit_center: Sequence[float] = (0.0, 0.0, 0.0),
    look_at: Sequence[float] = (0.0, 0.0, 0.0),
    focal: float = FFHQ_FOCAL,
) -> Tensor:
    """Camera labels ``[B, 25]`` of orbit cameras at ``yaw [B]``, ``pitch [B]`` (radians; see the module doc)."""
    if radius <= 0 or focal <= 0:
        raise ConfigError(f"An EG3D orbit camera needs radius > 0 and focal > 0, got radius={radius}, focal={focal}.")
    yaw, pitch = torch.as_tensor(yaw).reshape(-1), torch.as_tensor(pitch).reshape(-1)
    yaw, pitch = torch.broadcast_tensors(yaw, pitch)
    if not yaw.is_floating_point():
        yaw, pitch = yaw.float(), pitch.float()
    centre = torch.tensor(list(orbit_center), dtype=yaw.dtype, device=yaw.device)
    target = torch.tensor(list(look_at), dtype=yaw.dtype, device=yaw.device).expand(yaw.shape[0], 3)
    direction = torch.stack((pitch.cos() * yaw.sin(), pitch.sin(), pitch.cos() * yaw.cos()), dim=-1)
    cam2world = look_at_cam2world(centre + radius * direction, target)
    intr = intrinsics_matrix(focal, yaw.shape[0], device=yaw.device, dtype=yaw.dtype)
    return make_cond(cam2world, intr)


def make_cond(cam2world: Tensor, intrinsics: Tensor) -> Tensor:
    """Pack ``cam2world [B, 4, 4]`` and ``intrinsics [B, 3, 3]`` into the label ``[B, 25]``."""
    return torch.cat((cam2world.reshape(-1, 16), intrinsics.reshape(-1, 9)), dim=1)


def split_cond(cond: Tensor) -> tuple[Tensor, Tensor]:
    """``(cam2world [B, 4, 4], intrinsics [B, 3, 3])`` of a label ``[B, 25]``."""
    if cond.dim() != 2 or cond.shape[1] != COND_DIM:
        raise ConfigError(
            f"An EG3D camera is a [B, 25] tensor (cam2world 4x4 then normalised intrinsics 3x3), got shape "
            f"{tuple(cond.shape)}. Build one with toonlift.plugins.eg3d.camera.orbit_cond."
        )
    return cond[:, :16].reshape(-1, 4, 4), cond[:, 16:].reshape(-1, 3, 3)


def sample_orbit_angles(
    n: int,
    yaw_range: float,
    pitch_range: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """Yaw and pitch ``[n]`` uniform in ``[-yaw_range, yaw_range]`` and ``[-pitch_range, pitch_range]`` (radians)."""
    u = torch.rand(n, 2, generator=generator, device=device if generator is None else generator.device)
    u = u.to(device) if device is not None else u
    return (2 * u[:, 0] - 1) * yaw_range, (2 * u[:, 1] - 1) * pitch_range


def degrees(x: float) -> float:
    """Radians of ``x`` degrees (configs give angles in degrees)."""
    return x * math.pi / 180.0
