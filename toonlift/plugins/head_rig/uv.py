"""Texture coordinates of the rig's template mesh: a latitude/longitude unwrap about the skull centre.

Every vertex of the mean head gets ``u = 1/2 + atan2(x, z) / (2 pi)`` (azimuth; the face looks down ``+z``, so the
face is the middle of the texture and the seam is at the back of the head) and ``v = 1/2 + asin(y / r) / pi``
(elevation, ``v`` up as in OBJ). The skin itself is a warped sphere grid around the same centre, so this is its own
(azimuth, elevation) parametrisation and stays free of folds on the face; the eyeballs and the neck take the
coordinates of the skin region in front of them. Triangles that straddle the seam at the back (``|du| > 1/2``)
are listed by :func:`seam_faces` so a texture baker can skip or split them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def template_uv(mean: Tensor) -> Tensor:
    """UVs ``[V, 2]`` in ``[0, 1]`` of the mean vertex positions ``mean`` ``[V, 3]`` (object space, head units)."""
    p = mean.double()
    r = p.norm(dim=1).clamp(min=1e-9)
    u = 0.5 + torch.atan2(p[:, 0], p[:, 2]) / (2 * math.pi)
    v = 0.5 + torch.asin((p[:, 1] / r).clamp(-1, 1)) / math.pi
    return torch.stack([u, v], 1).to(mean.dtype)


def seam_faces(uv: Tensor, faces: Tensor) -> Tensor:
    """Bool ``[F]``: triangles whose corners' ``u`` differ by more than one half (they cross the back seam)."""
    u = uv[faces, 0]  # [F, 3]
    return (u.amax(1) - u.amin(1)) > 0.5
