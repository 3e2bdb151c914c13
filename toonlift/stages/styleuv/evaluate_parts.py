"""Figures of StyleFaceUV's small parts: coefficient R² per group and yaw control.

* :func:`coefficient_r2`: pooled R² of each rig-latent group (identity, expression, albedo, light, pose) of
  predicted against true latents, in the training targets' standard units (so each value counts alike).
* :func:`yaw_control`: for held-out codes and asked yaws, ``w' = w + F_yaw(w; a) d``; achieved yaw read by the
  analyser off ``G(w')`` (and by ``F_3D(w')``), mean absolute error against ``a``, and the identity drift: the
  analyser's identity of ``G(w')`` against that of ``G(w)`` (L2), beside the typical distance between two faces.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toonlift.functional.ridge import r2_per_group
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.stages.styleuv.parts import StyleUVParts
from toonlift.stages.styleuv.yaw import move_to_yaw, read_yaw
from toonlift.synthetic.analyser import FaceAnalyser

GROUPS = {name: SLICES[name] for name in ("identity", "expression", "albedo", "light", "pose")}


def coefficient_r2(pred: Tensor, true: Tensor, std: Tensor) -> dict[str, float]:
    """R² per group of ``pred`` / ``true`` ``[N, 53]`` in units of ``std [53]``."""
    return r2_per_group(pred / std, true / std, GROUPS)


@torch.no_grad()
def yaw_control(
    generator: nn.Module, analyser: FaceAnalyser, parts: StyleUVParts, w_plus: Tensor, asked: tuple[float, ...]
) -> dict[str, object]:
    """Yaw-control figures for codes ``w_plus [N, L, D]`` and each asked yaw (degrees)."""
    _, id0 = read_yaw(generator, analyser, w_plus)
    n = w_plus.shape[0]
    # typical identity distance between two different faces, for the drift's scale
    spread = float((id0[:, None] - id0[None]).norm(dim=-1).sum() / max(1, n * (n - 1)))
    rows = []
    for a in asked:
        moved = move_to_yaw(parts.yaw_step, w_plus, parts.yaw_normal, torch.full((n,), float(a)))
        yaw, ids = read_yaw(generator, analyser, moved)
        mlp_yaw = parts.coeff(moved)[:, SLICES["pose"].start]
        rows.append(
            {
                "asked": float(a),
                "achieved_mean": float(yaw.mean()),
                "mae_analyser": float((yaw - a).abs().mean()),
                "mae_mlp": float((mlp_yaw - a).abs().mean()),
                "identity_drift": float((ids - id0).norm(dim=1).mean()),
            }
        )
    return {
        "rows": rows,
        "mae_analyser": sum(r["mae_analyser"] for r in rows) / len(rows),
        "mae_mlp": sum(r["mae_mlp"] for r in rows) / len(rows),
        "identity_drift": sum(r["identity_drift"] for r in rows) / len(rows),
        "identity_spread": spread,
    }


__all__ = ["GROUPS", "coefficient_r2", "yaw_control"]
