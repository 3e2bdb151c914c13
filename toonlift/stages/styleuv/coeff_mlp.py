"""StyleFaceUV's style code -> 3DMM coefficients MLP ``F_3D(w)`` and its ridge-regression baseline.

The paper's two MLPs read the flattened W+ code (14 x 512 there, ``num_ws x w_dim`` here) through hidden layers
of 9, 6 and 3 units of 512 (here: units of ``w_dim``), then ``w_dim``; the first uses Tanh and predicts the shape,
expression, pose and light coefficients, the second uses ELU (alpha 1) and predicts the texture coefficients
(here the rig's 9-value albedo code). Outputs are predicted in the training pairs' standard units and mapped back to
the rig latent (``toonlift.plugins.head_rig.latent``) inside :meth:`CoeffMLP.forward`. The loss is L1; targets
that the labeller could not give (NaN, e.g. the analyser's missing albedo) are left out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.ridge import fit_ridge
from toonlift.plugins.head_rig.latent import LATENT_DIM, SLICES
from toonlift.stages.styleuv.oversample import batch_indices, check_fraction, fraction_weights

ALBEDO = SLICES["albedo"]
# every latent index except the albedo code, in order: what the Tanh network predicts
SHAPE_INDEX = torch.tensor([i for i in range(LATENT_DIM) if not ALBEDO.start <= i < ALBEDO.stop])


def _mlp(dims: list[int], act: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(act)
    return nn.Sequential(*layers)


class CoeffMLP(nn.Module):
    """``F_3D``: W+ ``[B, num_ws, w_dim]`` -> rig latents ``[B, 53]``.

    Args:
        num_ws: W+ layers of the generator.
        w_dim: style size.
        unit: hidden unit size (the paper's 512; default ``w_dim``): hidden widths ``9u, 6u, 3u, u``.
    """

    def __init__(self, num_ws: int, w_dim: int, unit: int | None = None) -> None:
        super().__init__()
        u = int(unit or w_dim)
        self.num_ws, self.w_dim, self.unit = int(num_ws), int(w_dim), u
        dims = [self.num_ws * self.w_dim, 9 * u, 6 * u, 3 * u, u]
        self.net_shape = _mlp([*dims, len(SHAPE_INDEX)], nn.Tanh())
        self.net_albedo = _mlp([*dims, ALBEDO.stop - ALBEDO.start], nn.ELU(alpha=1.0))
        self.register_buffer("target_mean", torch.zeros(LATENT_DIM))
        self.register_buffer("target_std", torch.ones(LATENT_DIM))
        self.register_buffer("shape_index", SHAPE_INDEX.clone(), persistent=False)

    def arch_args(self) -> dict[str, int]:
        return {"num_ws": self.num_ws, "w_dim": self.w_dim, "unit": self.unit}

    def standardised(self, w_plus: Tensor) -> Tensor:
        """Predictions ``[B, 53]`` in the targets' standard units (what the loss compares)."""
        x = w_plus.reshape(w_plus.shape[0], -1)
        if x.shape[1] != self.num_ws * self.w_dim:
            raise ConfigError(
                f"CoeffMLP reads W+ codes of {self.num_ws} x {self.w_dim}; got shape {tuple(w_plus.shape)}."
            )
        out = x.new_zeros(x.shape[0], LATENT_DIM)
        out[:, self.shape_index] = self.net_shape(x)
        out[:, ALBEDO] = self.net_albedo(x)
        return out

    def forward(self, w_plus: Tensor) -> Tensor:
        return self.standardised(w_plus) * self.target_std + self.target_mean


def set_target_stats(model: CoeffMLP, latent: Tensor) -> None:
    """Standard units of the targets from training latents ``[N, 53]`` (NaN ignored). Columns that never vary
    (the rig's pose shift and log-scale are 0 in the world) get sd 0, so the MLP outputs their constant exactly."""
    mean = torch.nanmean(latent, 0)
    std = torch.nan_to_num(torch.sqrt(torch.nanmean((latent - mean) ** 2, 0)))
    model.target_mean.copy_(torch.nan_to_num(mean))
    model.target_std.copy_(torch.where(std > 1e-6, std, torch.zeros_like(std)))


def loss_units(model: CoeffMLP) -> Tensor:
    """The targets' sd ``[53]`` with constant columns at 1 (what the loss divides by)."""
    return torch.where(model.target_std > 0, model.target_std, torch.ones_like(model.target_std))


def masked_l1(pred: Tensor, target: Tensor) -> Tensor:
    """Mean ``|pred - target|`` over the entries where ``target`` is known (not NaN)."""
    known = ~torch.isnan(target)
    return (pred - torch.nan_to_num(target)).abs().mul(known).sum() / known.sum().clamp_min(1)


@dataclass
class FitLog:
    """Loss every ``every`` steps and the wall time of the fit."""

    losses: list[float]
    seconds: float


def fit_coeff_mlp(
    model: CoeffMLP,
    w_plus: Tensor,
    latent: Tensor,
    steps: int = 4000,
    batch: int = 16,
    lr_start: float = 1e-4,
    lr_end: float = 1e-7,
    seed: int = 0,
    inverted: int = 0,
    inverted_fraction: float | None = None,
) -> FitLog:
    """Adam on the L1 loss in standard units, the learning rate decayed geometrically ``lr_start -> lr_end``.

    The paper decays 1e-5 -> 1e-8 over 22 epochs of 36,000 pairs at batch 16 (about 50k steps); with a few hundred
    pairs the default here is 4,000 steps from a 10x higher rate. Batches are drawn uniformly, or, with
    ``inverted_fraction``, that share of each batch from the first ``inverted`` rows (the inverted pairs with true
    coefficients) and the rest from the other rows (:func:`~toonlift.stages.styleuv.oversample.batch_indices`).
    """
    import time

    if steps < 1 or batch < 1:
        raise ConfigError(f"fit_coeff_mlp: steps and batch must be >= 1, got {steps}, {batch}.")
    check_fraction(w_plus.shape[0], inverted, inverted_fraction)
    set_target_stats(model, latent)
    target = (latent - model.target_mean) / loss_units(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr_start)
    gamma = (lr_end / lr_start) ** (1.0 / max(1, steps - 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    t0, losses = time.perf_counter(), []
    for step in range(steps):
        idx = batch_indices(w_plus.shape[0], batch, gen, inverted, inverted_fraction)
        loss = masked_l1(model.standardised(w_plus[idx]), target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 50) == 0:
            losses.append(float(loss.detach()))
    model.eval()
    return FitLog(losses, time.perf_counter() - t0)


class RidgeCoeff(nn.Module):
    """The linear baseline: ridge regression from flattened W+ to the latent, one fit per group of columns on the
    rows where that group is known (the analyser labels no albedo), ``lam`` chosen on a held-out fifth.

    ``fit(..., inverted=n, inverted_fraction=f)`` weights the samples so that the first ``n`` rows (the inverted
    pairs) carry the share ``f`` of the total weight, as the MLP's batches do (``None``: unweighted)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        self.lams: dict[str, float] = {}

    def fit(
        self,
        w_plus: Tensor,
        latent: Tensor,
        lams: tuple[float, ...] = (0.1, 1, 10, 100, 1000),
        inverted: int = 0,
        inverted_fraction: float | None = None,
    ) -> RidgeCoeff:
        from toonlift.plugins.head_rig.latent import GROUPS

        weights = fraction_weights(w_plus.shape[0], inverted, inverted_fraction)  # [N] or None
        x_all = w_plus.reshape(w_plus.shape[0], -1).double()
        weight = torch.zeros(x_all.shape[1], LATENT_DIM, dtype=torch.float64)
        bias = torch.zeros(LATENT_DIM, dtype=torch.float64)
        for name, _ in GROUPS:
            cols = SLICES[name]
            y_all = latent[:, cols].double()
            known = ~torch.isnan(y_all).any(1)
            x, y = x_all[known], y_all[known]
            if len(x) < 5:
                raise ConfigError(f"RidgeCoeff: only {len(x)} codes carry the {name} coefficients; need >= 5.")
            scale = y.std(0).clamp_min(1e-6)
            kind = torch.arange(len(known))[known] < inverted  # [n] True on inverted pairs
            # weights only matter between kinds: with one kind known (albedo: inverted pairs only) fit unweighted
            s = None if weights is None or bool(kind.all()) or not bool(kind.any()) else weights[known]
            # validation: the first fifth as before; weighted, every fifth row, so that both kinds are in it
            val = torch.arange(len(x)) < max(1, len(x) // 5) if s is None else torch.arange(len(x)) % 5 == 0
            best = (float("inf"), lams[0])
            for lam in lams:
                w, b = fit_ridge(x[~val], y[~val], lam, None if s is None else s[~val])
                err = ((x[val] @ w + b - y[val]) / scale).abs()  # [n_val, K]
                err = err.mean() if s is None else (err.mean(1) * s[val]).sum() / s[val].sum().clamp_min(1e-12)
                best = min(best, (float(err), lam))
            self.lams[name] = best[1]
            weight[:, cols], bias[cols] = fit_ridge(x, y, best[1], s)
        self.weight, self.bias = weight, bias
        return self

    def forward(self, w_plus: Tensor) -> Tensor:
        if self.weight is None or self.bias is None:
            raise ConfigError("RidgeCoeff: call fit() before predicting.")
        x = w_plus.reshape(w_plus.shape[0], -1).double()
        return (x @ self.weight + self.bias).to(w_plus.dtype)


def l1_standardised(pred: Tensor, true: Tensor, std: Tensor) -> Tensor:
    """Mean absolute error per latent value in standard units ``[53]``."""
    return F.l1_loss(pred / std, true / std, reduction="none").mean(0)


__all__ = ["CoeffMLP", "FitLog", "RidgeCoeff", "fit_coeff_mlp", "masked_l1", "set_target_stats"]
