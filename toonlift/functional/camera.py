"""Camera conventions of toonlift, written down once and used by every renderer, exporter and test.

Conventions (identical to Unsup3d / GAN2Shape, which use OpenCV's camera frame):

* **Camera space** is right-handed: ``+X`` points right in the image, ``+Y`` points *down* in the image, ``+Z`` points
  forward, away from the camera, into the scene. A visible point has ``Z > 0``; ``Z`` is its *depth*.
* **Pixel coordinates** ``(x, y)``: ``x`` is the column index, ``y`` the row index, origin at the top-left pixel.
  **Pixel centres lie on integer coordinates**: the pixel in row ``i``, column ``j`` is centred at ``(x, y) = (j, i)``
  and covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. The image spans ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.
* **Intrinsics** ``K = [[f, 0, cx], [0, f, cy], [0, 0, 1]]`` with ``cx = (W - 1) / 2``, ``cy = (H - 1) / 2`` and
  ``f = (W - 1) / 2 / tan(fov / 2)``; ``fov`` is the horizontal field of view (for the square images of the reference
  it is both). Projection: ``(x, y) = (f X / Z + cx, f Y / Z + cy)``; unprojection ``(X, Y, Z) = d K^-1 (x, y, 1)``.
* **grid_sample**: pixel ``(x, y)`` maps to normalised ``(2 x / (W - 1) - 1, 2 y / (H - 1) - 1)`` and every call uses
  ``align_corners=True``, so a pixel centre samples exactly that pixel (see :func:`pixels_to_ndc`).
* **View** ``[B, 6] = (rx, ry, rz, tx, ty, tz)``: Euler angles in radians about the camera X (pitch), Y (yaw) and
  Z (roll) axes and a translation. ``R = Rz @ Ry @ Rx``. A point moves as ``p' = R (p - c) + c + t`` with the pivot
  ``c = (0, 0, rot_center_depth)`` (default 1.0, the middle of the 0.9-1.1 depth range); the inverse is
  ``p = R^T (p' - t - c) + c``. A ``[B, 5]`` view has no z translation, a ``[B, 3]`` view no translation.
* **Surfaces**: triangles are wound counter-clockwise as seen from outside, so ``(v1 - v0) x (v2 - v0)`` is the
  outward normal; a surface facing the camera has a normal with ``n_z < 0``. See ``toonlift.functional.shading`` for
  the light direction convention.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

DEFAULT_FOV_DEG = 10.0
DEFAULT_ROT_CENTER_DEPTH = 1.0


def _size_hw(image_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    h, w = image_size
    return int(h), int(w)


def fov_to_intrinsics(
    fov_deg: float = DEFAULT_FOV_DEG,
    image_size: int | tuple[int, int] = 64,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Pinhole intrinsics ``K`` ``[3, 3]`` for a horizontal field of view (the reference's formula).

    Args:
        fov_deg: horizontal field of view in degrees (reference default 10).
        image_size: ``S`` for a square image or ``(H, W)``.
        device: device of the result.
        dtype: dtype of the result.

    Returns:
        ``K`` with ``f = (W - 1) / 2 / tan(fov / 2)``, ``cx = (W - 1) / 2``, ``cy = (H - 1) / 2``.
    """
    if not 0.0 < fov_deg < 180.0:
        raise ValueError(f"fov_deg must lie in (0, 180), got {fov_deg}")
    h, w = _size_hw(image_size)
    f = (w - 1) / 2.0 / math.tan(math.radians(fov_deg) / 2.0)
    return torch.tensor([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]], device=device, dtype=dtype)


def project(points: Tensor, intrinsics: Tensor, eps: float = 1e-8) -> Tensor:
    """Project camera-space points to pixel coordinates, keeping the depth.

    Args:
        points: ``[..., 3]`` camera-space points ``(X, Y, Z)``.
        intrinsics: ``[3, 3]`` or ``[B, 3, 3]`` ``K`` (batched needs ``points`` of shape ``[B, ..., 3]``).

    Returns:
        ``[..., 3]`` = ``(x_pixel, y_pixel, Z)``.
    """
    K = intrinsics
    z = points[..., 2:3]
    # keep the sign of z so points behind the camera are not silently mirrored into view
    safe_z = torch.where(z.abs() < eps, torch.full_like(z, eps), z)
    uv1 = points / safe_z  # [..., 3] = (X/Z, Y/Z, 1)
    if K.dim() == 2:
        xy = uv1 @ K[:2].T
    else:
        shape = uv1.shape
        xy = (uv1.reshape(shape[0], -1, 3) @ K[:, :2].transpose(1, 2)).reshape(*shape[:-1], 2)
    return torch.cat([xy, z], dim=-1)


def unproject(pixels_depth: Tensor, intrinsics: Tensor) -> Tensor:
    """Inverse of :func:`project`: ``(x, y, d)`` pixel coordinates with depth to camera-space points ``d K^-1 (x,y,1)``.

    Args:
        pixels_depth: ``[..., 3]`` = ``(x_pixel, y_pixel, depth)``.
        intrinsics: ``[3, 3]`` ``K``.

    Returns:
        ``[..., 3]`` camera-space points.
    """
    K = intrinsics
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    d = pixels_depth[..., 2]
    x = (pixels_depth[..., 0] - cx) / fx * d
    y = (pixels_depth[..., 1] - cy) / fy * d
    return torch.stack([x, y, d], dim=-1)


def pixel_grid(
    height: int, width: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Pixel-centre coordinates ``[H, W, 2]`` = ``(x, y)`` = ``(column, row)``."""
    ys = torch.arange(height, device=device, dtype=dtype)
    xs = torch.arange(width, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def pixels_to_ndc(xy: Tensor, height: int, width: int) -> Tensor:
    """Pixel coordinates ``[..., 2]`` to ``grid_sample`` coordinates in ``[-1, 1]`` (use ``align_corners=True``)."""
    scale = xy.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    return xy * scale - 1.0


def rotation_x(angle: Tensor) -> Tensor:
    """Rotation matrices ``[B, 3, 3]`` about the camera X axis (pitch) by ``angle`` ``[B]`` radians."""
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([o, z, z, z, c, -s, z, s, c], dim=-1).reshape(*angle.shape, 3, 3)


def rotation_y(angle: Tensor) -> Tensor:
    """Rotation matrices ``[B, 3, 3]`` about the camera Y axis (yaw) by ``angle`` ``[B]`` radians."""
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, z, s, z, o, z, -s, z, c], dim=-1).reshape(*angle.shape, 3, 3)


def rotation_z(angle: Tensor) -> Tensor:
    """Rotation matrices ``[B, 3, 3]`` about the camera Z axis (roll) by ``angle`` ``[B]`` radians."""
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, -s, z, s, c, z, z, z, o], dim=-1).reshape(*angle.shape, 3, 3)


def euler_to_rotation(angles: Tensor) -> Tensor:
    """``R = Rz(rz) @ Ry(ry) @ Rx(rx)`` ``[B, 3, 3]`` from ``angles`` ``[B, 3]`` = ``(rx, ry, rz)`` radians."""
    return rotation_z(angles[..., 2]) @ rotation_y(angles[..., 1]) @ rotation_x(angles[..., 0])


def view_to_transform(view: Tensor) -> tuple[Tensor, Tensor]:
    """Split a view vector into a rotation ``[B, 3, 3]`` and a translation ``[B, 3]``.

    Args:
        view: ``[B, 6]`` ``(rx, ry, rz, tx, ty, tz)``, ``[B, 5]`` (``tz = 0``) or ``[B, 3]`` (no translation).
    """
    if view.dim() != 2 or view.shape[1] not in (3, 5, 6):
        raise ValueError(f"view must be [B, 3], [B, 5] or [B, 6]; got {tuple(view.shape)}")
    rot = euler_to_rotation(view[:, :3])
    trans = torch.zeros(view.shape[0], 3, device=view.device, dtype=view.dtype)
    if view.shape[1] >= 5:
        trans = torch.cat([view[:, 3:], trans[:, view.shape[1] - 3 :]], dim=1)
    return rot, trans


def transform_points(
    points: Tensor, rot: Tensor, trans: Tensor, rot_center_depth: float = DEFAULT_ROT_CENTER_DEPTH
) -> Tensor:
    """Rotate about the pivot ``(0, 0, rot_center_depth)`` then translate: ``p' = R (p - c) + c + t``.

    Args:
        points: ``[B, N, 3]`` camera-space points.
        rot: ``[B, 3, 3]`` rotations.
        trans: ``[B, 3]`` translations.
        rot_center_depth: depth of the pivot on the optical axis.
    """
    centre = points.new_tensor([0.0, 0.0, rot_center_depth])
    return (points - centre) @ rot.transpose(1, 2) + centre + trans[:, None, :]


def inverse_transform_points(
    points: Tensor, rot: Tensor, trans: Tensor, rot_center_depth: float = DEFAULT_ROT_CENTER_DEPTH
) -> Tensor:
    """Inverse of :func:`transform_points`: ``p = R^T (p' - t - c) + c`` (``points`` ``[B, N, 3]``)."""
    centre = points.new_tensor([0.0, 0.0, rot_center_depth])
    return (points - trans[:, None, :] - centre) @ rot + centre
