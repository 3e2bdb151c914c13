"""Shading math: surface normals of meshes and depth maps, Lambertian and spherical-harmonics lighting.

Conventions (camera frame of ``toonlift.functional.camera``: +X right, +Y down, +Z forward):

* Normals are unit and point **out of the surface**, so a surface facing the camera has ``n_z < 0``. Mesh faces are
  wound counter-clockwise seen from outside: the face normal is ``(v1 - v0) x (v2 - v0)``.
* A light **direction** ``l`` points from the surface towards the light (``(0, 0, -1)`` = light at the camera).
  Lambert shading is ``ambient + diffuse * max(0, n . l)``.
* Unsup3d/GAN2Shape write normals as ``tu x tv`` (pointing away from the camera, ``n_z > 0``) and the light as
  ``normalize(dx, dy, 1)``; both are the negatives of ours, so ``n . l`` -- and every shaded image -- is identical.
  Use :func:`reference_light_direction` to turn their ``(dx, dy)`` into ours.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.functional.camera import pixel_grid
from toonlift.functional.normal_planes import depth_normal_planes_fused

_EPS = 1e-7

# real spherical-harmonics normalisation constants, bands 0-2 (Ramamoorthi & Hanrahan 2001)
_SH_C0 = 0.28209479177387814  # 1 / (2 sqrt(pi))
_SH_C1 = 0.4886025119029199  # sqrt(3 / (4 pi))
_SH_C2 = 1.0925484305920792  # sqrt(15 / (4 pi))
_SH_C3 = 0.31539156525252005  # sqrt(5 / (16 pi))
_SH_C4 = 0.5462742152960396  # sqrt(15 / (16 pi))


def face_normals(vertices: Tensor, faces: Tensor, normalize: bool = True) -> Tensor:
    """Face normals ``(v1 - v0) x (v2 - v0)`` ``[B, F, 3]`` (unnormalised = twice the area, area-weighted).

    Args:
        vertices: ``[B, V, 3]`` positions.
        faces: ``[F, 3]`` vertex indices.
        normalize: return unit vectors.
    """
    tri = vertices[:, faces.long()]  # [B, F, 3, 3]
    n = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    return F.normalize(n, dim=-1, eps=_EPS) if normalize else n


def vertex_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """Unit per-vertex normals ``[B, V, 3]``: the area-weighted mean of the adjacent face normals.

    Args:
        vertices: ``[B, V, 3]`` positions.
        faces: ``[F, 3]`` vertex indices (counter-clockwise seen from outside).
    """
    fn = face_normals(vertices, faces, normalize=False)  # [B, F, 3]
    B, V = vertices.shape[:2]
    idx = faces.long().reshape(-1)  # [3F]
    acc = vertices.new_zeros(B, V, 3)
    acc = acc.index_add(1, idx, fn.repeat_interleave(3, dim=1))
    return F.normalize(acc, dim=-1, eps=_EPS)


def depth_to_points(depth: Tensor, intrinsics: Tensor) -> Tensor:
    """Unproject a depth map: ``[B, H, W]`` depth to camera-space points ``[B, H, W, 3]`` = ``d K^-1 (x, y, 1)``."""
    K = intrinsics
    B, H, W = depth.shape
    xy = pixel_grid(H, W, device=depth.device, dtype=depth.dtype)  # [H, W, 2]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    x = (xy[..., 0] - cx) / fx * depth
    y = (xy[..., 1] - cy) / fy * depth
    return torch.stack([x, y, depth], dim=-1)


def depth_normals(depth: Tensor, intrinsics: Tensor) -> Tensor:
    """Unit normals ``[B, H, W, 3]`` of a depth map from central differences of its 3D points (outward, ``n_z<0``).

    The one-pixel border, where central differences are undefined, gets ``(0, 0, -1)`` (facing the camera), as the
    reference does with its (sign-flipped) ``(0, 0, 1)``.

    Args:
        depth: ``[B, H, W]`` depth.
        intrinsics: ``[3, 3]`` ``K``.
    """
    return torch.stack(depth_normal_planes(depth, intrinsics), dim=-1)


def depth_normal_planes(depth: Tensor, intrinsics: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The components ``(n_x, n_y, n_z)`` ``[B, H, W]`` each of :func:`depth_normals` (structure of arrays).

    One autograd node with a closed-form backward (``toonlift.functional.normal_planes``); the values are those of
    :func:`depth_normal_planes_elementwise`, the same operations in the same order.
    """
    return depth_normal_planes_fused(depth, intrinsics)


def depth_normal_planes_elementwise(depth: Tensor, intrinsics: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`depth_normal_planes` as plain element-wise autograd operations (the reference for its backward)."""
    K = intrinsics
    B, H, W = depth.shape
    # camera-space points as three [B, H, W] planes (structure of arrays: no strided [..., 3] slices to differentiate)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    ax = (torch.arange(W, device=depth.device, dtype=depth.dtype) - cx) / fx  # [W] X / Z along a row
    ay = (torch.arange(H, device=depth.device, dtype=depth.dtype) - cy) / fy  # [H] Y / Z along a column
    planes = (ax * depth, ay[:, None] * depth, depth)
    tu = [p[:, 1:-1, 2:] - p[:, 1:-1, :-2] for p in planes]  # d/dx  [B, H-2, W-2] each
    tv = [p[:, 2:, 1:-1] - p[:, :-2, 1:-1] for p in planes]  # d/dy
    # tv x tu = -(tu x tv): outward
    n = (tv[1] * tu[2] - tv[2] * tu[1], tv[2] * tu[0] - tv[0] * tu[2], tv[0] * tu[1] - tv[1] * tu[0])
    norm = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().clamp_min(_EPS)
    # border: (0, 0, -1), facing the camera
    nx, ny, nz = (F.pad(c / norm, (1, 1, 1, 1), value=v) for c, v in zip(n, (0.0, 0.0, -1.0)))
    return nx, ny, nz


def reference_light_direction(light_dxy: Tensor) -> Tensor:
    """Light direction ``[B, 3]`` (toonlift convention) from the reference's ``(dx, dy)`` ``[B, 2]``.

    The reference uses ``normalize(dx, dy, 1)`` with normals pointing away from the camera; toonlift's equivalent is
    its negative, ``normalize(-dx, -dy, -1)``, so shading values agree exactly.
    """
    d = torch.cat([light_dxy, torch.ones_like(light_dxy[:, :1])], dim=1)
    return -F.normalize(d, dim=1, eps=_EPS)


def lambert(normals: Tensor, light_dir: Tensor, ambient: Tensor | float, diffuse: Tensor | float) -> Tensor:
    """Lambertian shading ``ambient + diffuse * max(0, n . l)``.

    Args:
        normals: ``[B, ..., 3]`` unit normals (e.g. ``[B, H, W, 3]``).
        light_dir: ``[B, 3]`` unit directions towards the light.
        ambient: ambient strength, scalar or ``[B]``.
        diffuse: diffuse strength, scalar or ``[B]``.

    Returns:
        ``[B, ...]`` shading (e.g. ``[B, H, W]``).
    """
    return lambert_mix(lambert_cosine(normals, light_dir), ambient, diffuse)


def lambert_cosine(normals: Tensor | tuple[Tensor, Tensor, Tensor], light_dir: Tensor) -> Tensor:
    """``max(0, n . l)`` ``[B, ...]`` of unit normals ``[B, ..., 3]`` (or their three component planes ``[B, ...]``)
    and light directions ``[B, 3]``."""
    if isinstance(normals, tuple):  # planes: n_x l_x + n_y l_y + n_z l_z, no interleaved [..., 3] products
        extra = [1] * (normals[0].dim() - 1)
        lx, ly, lz = (light_dir[:, k].reshape(-1, *extra) for k in range(3))
        return (normals[0] * lx + normals[1] * ly + normals[2] * lz).clamp_min(0.0)
    light = light_dir.reshape(light_dir.shape[0], *([1] * (normals.dim() - 2)), 3)
    return (normals * light).sum(-1).clamp_min(0.0)


def lambert_mix(cosine: Tensor, ambient: Tensor | float, diffuse: Tensor | float) -> Tensor:
    """``ambient + diffuse * cosine`` with ``ambient`` / ``diffuse`` scalars or ``[B]`` (``cosine`` ``[B, ...]``)."""
    extra = cosine.dim() - 1
    a = torch.as_tensor(ambient, dtype=cosine.dtype, device=cosine.device)
    b = torch.as_tensor(diffuse, dtype=cosine.dtype, device=cosine.device)
    if a.dim() == 1:
        a = a.reshape(-1, *([1] * extra))
    if b.dim() == 1:
        b = b.reshape(-1, *([1] * extra))
    return a + b * cosine


def sh_basis(normals: Tensor) -> Tensor:
    """The 9 real spherical harmonics of bands 0-2 at unit directions: ``[..., 3]`` -> ``[..., 9]``.

    Order: ``Y00, Y1-1 (y), Y10 (z), Y11 (x), Y2-2 (xy), Y2-1 (yz), Y20 (3z^2-1), Y21 (xz), Y22 (x^2-y^2)``.
    The basis is orthonormal on the unit sphere.
    """
    x, y, z = normals.unbind(-1)
    return torch.stack(
        [
            torch.full_like(x, _SH_C0),
            _SH_C1 * y,
            _SH_C1 * z,
            _SH_C1 * x,
            _SH_C2 * x * y,
            _SH_C2 * y * z,
            _SH_C3 * (3.0 * z * z - 1.0),
            _SH_C2 * x * z,
            _SH_C4 * (x * x - y * y),
        ],
        dim=-1,
    )


def sh_shading(normals: Tensor, coefficients: Tensor) -> Tensor:
    """Second-order spherical-harmonics lighting ``sum_k c_k Y_k(n)``.

    Args:
        normals: ``[B, ..., 3]`` unit normals.
        coefficients: ``[B, 9]`` (one grey light) or ``[B, 9, C]`` (per colour channel).

    Returns:
        ``[B, ...]`` for ``[B, 9]`` coefficients, ``[B, ..., C]`` for ``[B, 9, C]``.
    """
    basis = sh_basis(normals)  # [B, ..., 9]
    B = normals.shape[0]
    flat = basis.reshape(B, -1, 9)
    if coefficients.dim() == 2:
        return (flat @ coefficients[..., None]).reshape(basis.shape[:-1])
    return (flat @ coefficients).reshape(*basis.shape[:-1], coefficients.shape[-1])


def lambert_sh_coefficients(light_dir: Tensor, ambient: Tensor | float, diffuse: Tensor | float) -> Tensor:
    """SH coefficients ``[B, 9]`` approximating Lambert shading (clamped cosine, Ramamoorthi & Hanrahan 2001).

    ``ambient + diffuse * max(0, n . l)``: by the Funk-Hecke theorem the clamped cosine around ``l`` has the
    coefficients ``A_l Y_lm(l)`` with ``A_0 = pi``, ``A_1 = 2 pi / 3``, ``A_2 = pi / 4``; the 9-term truncation is
    within a few percent of the exact clamped cosine (tested).
    """
    B = light_dir.shape[0]
    y = sh_basis(light_dir)  # [B, 9]
    band = light_dir.new_tensor([1.0, 2 / 3, 2 / 3, 2 / 3, 0.25, 0.25, 0.25, 0.25, 0.25]) * math.pi
    a = torch.as_tensor(ambient, dtype=light_dir.dtype, device=light_dir.device).reshape(-1, 1).expand(B, 1)
    b = torch.as_tensor(diffuse, dtype=light_dir.dtype, device=light_dir.device).reshape(-1, 1).expand(B, 1)
    coef = b * band * y
    dc = torch.zeros_like(coef)
    dc[:, 0] = 1.0 / _SH_C0  # Y00 * this = 1
    return coef + a * dc
