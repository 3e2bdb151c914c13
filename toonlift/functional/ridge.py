"""Ridge regression in closed form and the coefficient of determination per group of outputs: pure math.

StyleFaceUV (seed 003) maps a style code to 3DMM coefficients with an MLP; the baseline here is the linear map
``y = x W + b`` that minimises ``||x W + b - y||² + lam ||W||²`` (the bias is not penalised), solved in float64 on
centred data through the ``D x D`` normal equations (or the ``N x N`` dual form when there are fewer samples than
input values, which gives the same ``W``). Optional sample weights ``s_i`` minimise ``sum_i s_i ||x_i W + b -
y_i||² + lam ||W||²`` (weighted centring, rows scaled by ``sqrt(s_i)``): integer weights equal repeated rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from toonlift.errors import ConfigError


def fit_ridge(x: Tensor, y: Tensor, lam: float = 1.0, weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Ridge regression ``argmin_W,b sum_i s_i ||x_i W + b - y_i||² + lam ||W||²``.

    Args:
        x: inputs ``[N, D]``.
        y: targets ``[N, K]``.
        lam: L2 penalty on ``W`` (> 0).
        weight: sample weights ``s`` ``[N]`` (>= 0, not all 0); ``None``: all 1.

    Returns:
        ``(W [D, K], b [K])`` in ``x``'s dtype.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"fit_ridge: x must be [N, D] and y [N, K]; got {tuple(x.shape)} and {tuple(y.shape)}.")
    if lam <= 0:
        raise ConfigError(f"fit_ridge: lam must be > 0, got {lam}.")
    xd, yd = x.double(), y.double()
    if weight is None:
        mx, my = xd.mean(0), yd.mean(0)
        xc, yc = xd - mx, yd - my
    else:
        s = weight.double().reshape(-1)
        if s.shape[0] != xd.shape[0] or not bool(torch.isfinite(s).all() and (s >= 0).all() and s.sum() > 0):
            raise ConfigError(f"fit_ridge: weight must be [N={xd.shape[0]}] finite, >= 0 and not all 0.")
        mx, my = (s @ xd) / s.sum(), (s @ yd) / s.sum()
        root = s.sqrt()[:, None]  # rows scaled by sqrt(s): the weighted squared error as a plain one
        xc, yc = (xd - mx) * root, (yd - my) * root
    n, d = xc.shape
    if n < d:  # dual form: W = Xᵀ (X Xᵀ + lam I)⁻¹ Y
        gram = xc @ xc.T + lam * torch.eye(n, dtype=xd.dtype)
        w = xc.T @ torch.linalg.solve(gram, yc)
    else:
        gram = xc.T @ xc + lam * torch.eye(d, dtype=xd.dtype)
        w = torch.linalg.solve(gram, xc.T @ yc)
    b = my - mx @ w
    return w.to(x.dtype), b.to(x.dtype)


def r2_score(pred: Tensor, true: Tensor) -> Tensor:
    """Pooled coefficient of determination of ``pred`` against ``true`` (both ``[N, K]``): ``1 - SS_res / SS_tot``
    with ``SS_tot`` about each column's mean; columns that never vary (``SS_tot = 0``) are left out."""
    if pred.shape != true.shape or pred.ndim != 2:
        raise ConfigError(f"r2_score: pred and true must both be [N, K]; got {tuple(pred.shape)}, {tuple(true.shape)}.")
    ss_tot = ((true - true.mean(0)) ** 2).sum(0)
    ss_res = ((pred - true) ** 2).sum(0)
    keep = ss_tot > 1e-12
    if not bool(keep.any()):
        return torch.tensor(float("nan"), dtype=pred.dtype)
    return 1 - ss_res[keep].sum() / ss_tot[keep].sum()


def r2_per_group(pred: Tensor, true: Tensor, groups: Mapping[str, slice]) -> dict[str, float]:
    """:func:`r2_score` of each named column slice of ``[N, K]`` predictions, e.g. the rig latent's groups."""
    return {name: float(r2_score(pred[:, s], true[:, s])) for name, s in groups.items()}


__all__ = ["fit_ridge", "r2_per_group", "r2_score"]
