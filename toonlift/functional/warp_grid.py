"""The depth-map renderer's inverse warp grid as one autograd node with a hand-written backward.

``inverse_warp_grid`` (``toonlift.functional.depth_map``) unprojects every new-view pixel with its depth, undoes the
view (``R^T (p - t - c) + c``) and projects into the canonical camera: about 30 element-wise steps per pixel whose
autograd backward replays two to three operations each. :class:`InverseWarpGrid` computes the same forward values
(the same operations in the same order) and, in backward, the closed-form gradient:

* ``o = R^T q`` with ``q = p - t - (0, 0, c)``; ``u = f_x o_x / z + c_x``, ``v = f_y o_y / z + c_y`` with
  ``z = o_z + c`` (held at ``1e-8`` where ``|z| < 1e-8``, no gradient there); grid ``(u s_x - 1, v s_y - 1)``.
* ``dL/do_x = g_u s_x f_x / z``, ``dL/do_y = g_v s_y f_y / z``, ``dL/do_z = -(dL/do_x o_x + dL/do_y o_y) / z``;
  ``dL/dq = R dL/do``; ``dL/dt = -sum_pixels dL/dq``; ``dL/dR = sum_pixels q (dL/do)^T`` (one batched product);
  ``dL/ddepth = a_x dL/dq_x + a_y dL/dq_y + dL/dq_z`` with ``p = (a_x d, a_y d, d)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

_EPS = 1e-8  # as depth_map._project_planes


class InverseWarpGrid(torch.autograd.Function):
    """``grid [B, H, W, 2]`` from depth ``[B, H, W]``, rotation ``[B, 3, 3]``, translation ``[B, 3]``."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any, depth: Tensor, rot: Tensor, trans: Tensor, intrinsics: Tensor, rot_center_depth: float
    ) -> Tensor:
        K = intrinsics
        B, H, W = depth.shape
        ax = (torch.arange(W, device=depth.device, dtype=depth.dtype) - K[0, 2]) / K[0, 0]  # [W]
        ay = (torch.arange(H, device=depth.device, dtype=depth.dtype) - K[1, 2]) / K[1, 1]  # [H]
        p = ((ax * depth).reshape(B, -1), (ay[:, None] * depth).reshape(B, -1), depth.reshape(B, -1))
        r = rot.unsqueeze(-1)  # [B, 3, 3, 1]
        q = (p[0] - trans[:, 0:1], p[1] - trans[:, 1:2], p[2] - trans[:, 2:3] - rot_center_depth)
        o = [r[:, 0, j] * q[0] + r[:, 1, j] * q[1] + r[:, 2, j] * q[2] for j in range(3)]
        z = o[2] + rot_center_depth
        held = z.abs() < _EPS
        safe_z = torch.where(held, torch.full_like(z, _EPS), z)
        sx, sy = 2.0 / max(W - 1, 1), 2.0 / max(H - 1, 1)
        gx = (K[0, 0] * (o[0] / safe_z) + K[0, 2]) * sx - 1.0
        gy = (K[1, 1] * (o[1] / safe_z) + K[1, 2]) * sy - 1.0
        ctx.save_for_backward(rot, K, ax, ay, *q, o[0], o[1], safe_z, held)
        ctx.scales = (sx, sy)
        return torch.stack([gx, gy], dim=-1).reshape(B, H, W, 2)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: D102
        rot, K, ax, ay, q0, q1, q2, o0, o1, safe_z, held = ctx.saved_tensors
        sx, sy = ctx.scales
        B, H, W, _ = grad.shape
        g = grad.reshape(B, H * W, 2)
        inv_z = safe_z.reciprocal()
        go0 = g[..., 0] * (sx * K[0, 0]) * inv_z  # [B, N] dL/do_x
        go1 = g[..., 1] * (sy * K[1, 1]) * inv_z
        go2 = torch.where(held, 0.0, -(go0 * o0 + go1 * o1) * inv_z)
        go = torch.stack([go0, go1, go2], dim=1)  # [B, 3, N]
        gq = torch.bmm(rot, go)  # [B, 3, N]: dL/dq_i = sum_j R_ij dL/do_j
        grad_depth = grad_rot = grad_trans = None
        if ctx.needs_input_grad[0]:
            grad_depth = (ax * gq[:, 0].reshape(B, H, W)) + (ay[:, None] * gq[:, 1].reshape(B, H, W))
            grad_depth = grad_depth + gq[:, 2].reshape(B, H, W)
        if ctx.needs_input_grad[1]:
            grad_rot = torch.bmm(torch.stack([q0, q1, q2], dim=1), go.transpose(1, 2))  # [B, 3, 3]
        if ctx.needs_input_grad[2]:
            grad_trans = -gq.sum(-1)
        return grad_depth, grad_rot, grad_trans, None, None


def inverse_warp_grid_fused(
    depth: Tensor, rot: Tensor, trans: Tensor, intrinsics: Tensor, rot_center_depth: float
) -> Tensor:
    """``grid_sample`` grid ``[B, H, W, 2]`` (``align_corners=True``) from a new view back to the canonical camera;
    the values of ``depth_map.inverse_warp_grid``'s element-wise form, differentiable w.r.t. depth, rotation and
    translation (not the intrinsics)."""
    return InverseWarpGrid.apply(depth, rot, trans, intrinsics, rot_center_depth)
