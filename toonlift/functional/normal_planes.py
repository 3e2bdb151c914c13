"""Normals of a depth map as one autograd node with a hand-written backward (``shading.depth_normal_planes``).

The normal of pixel ``(i, j)`` is the normalised cross product ``t_v x t_u`` of the central differences of the
camera-space points ``P = (a_x d, a_y d, d)`` (``a_x = (j - c_x) / f_x``, ``a_y = (i - c_y) / f_y``); the one-pixel
border is ``(0, 0, -1)``. Autograd records ~30 full-image operations for it and its backward materialises a zero image
per slice it differentiates. :class:`DepthNormalPlanes` computes the same values with the same operations and, in
backward:

* normalisation ``m = n / max(|n|, eps)``: ``dL/dn = (g - m (m . g)) / |n|``, or ``g / eps`` where clamped;
* cross product ``n = t_v x t_u``: ``dL/dt_v = t_u x dL/dn``, ``dL/dt_u = dL/dn x t_v``;
* central differences back onto ``P`` (four shifted slice additions per coordinate) and
  ``dL/dd = a_x dL/dP_x + a_y dL/dP_y + dL/dP_z``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-7  # as toonlift.functional.shading._EPS


def _cross(a: tuple[Tensor, ...], b: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """``a x b`` of component triples."""
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


class DepthNormalPlanes(torch.autograd.Function):
    """``(n_x, n_y, n_z)`` ``[B, H, W]`` each, of a depth map ``[B, H, W]`` and intrinsics ``[3, 3]``."""

    @staticmethod
    def forward(ctx: Any, depth: Tensor, intrinsics: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # noqa: D102
        K = intrinsics
        B, H, W = depth.shape
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        ax = (torch.arange(W, device=depth.device, dtype=depth.dtype) - cx) / fx  # [W]
        ay = (torch.arange(H, device=depth.device, dtype=depth.dtype) - cy) / fy  # [H]
        planes = (ax * depth, ay[:, None] * depth, depth)
        tu = tuple(p[:, 1:-1, 2:] - p[:, 1:-1, :-2] for p in planes)  # d/dx [B, H-2, W-2]
        tv = tuple(p[:, 2:, 1:-1] - p[:, :-2, 1:-1] for p in planes)  # d/dy
        n = _cross(tv, tu)  # outward
        norm = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().clamp_min(_EPS)
        unit = [c / norm for c in n]
        ctx.save_for_backward(ax, ay, *tu, *tv, *unit, norm)
        return tuple(F.pad(c, (1, 1, 1, 1), value=v) for c, v in zip(unit, (0.0, 0.0, -1.0)))  # type: ignore[return-value]

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, None]:  # noqa: D102
        ax, ay, tu0, tu1, tu2, tv0, tv1, tv2, m0, m1, m2, norm = ctx.saved_tensors
        tu, tv, m = (tu0, tu1, tu2), (tv0, tv1, tv2), (m0, m1, m2)
        B, h, w = norm.shape
        g = [torch.zeros_like(norm) if gi is None else gi[:, 1:-1, 1:-1] for gi in grads]  # interior only
        dot = m[0] * g[0] + m[1] * g[1] + m[2] * g[2]
        dot = torch.where(norm > _EPS, dot, 0.0)  # clamped norms are constants: no projection term
        gn = tuple((gi - mi * dot) / norm for gi, mi in zip(g, m))
        g_tv, g_tu = _cross(tu, gn), _cross(gn, tv)
        grad = None
        weights = (ax, ay[:, None], None)
        for i in range(3):  # scatter the differences back onto P_i, weighted into dL/dd
            gp = norm.new_zeros(B, h + 2, w + 2)
            gp[:, 1:-1, 2:] += g_tu[i]
            gp[:, 1:-1, :-2] -= g_tu[i]
            gp[:, 2:, 1:-1] += g_tv[i]
            gp[:, :-2, 1:-1] -= g_tv[i]
            term = gp if weights[i] is None else weights[i] * gp
            grad = term if grad is None else grad + term
        return grad, None


def depth_normal_planes_fused(depth: Tensor, intrinsics: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(n_x, n_y, n_z)`` ``[B, H, W]``: the values of ``shading.depth_normal_planes``, one autograd node
    (differentiable w.r.t. ``depth``, not the intrinsics)."""
    return DepthNormalPlanes.apply(depth, intrinsics)
