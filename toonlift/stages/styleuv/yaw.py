"""StyleFaceUV's yaw direction ``d`` and yaw-step MLP ``F_yaw(w; a)`` (paper Eq. 2: ``w' = w + F_yaw(w; a) d``).

``d`` is the unit normal of InterFaceGAN's linear SVM between the codes with the largest and the smallest yaw
(``toonlift.functional.boundaries``). ``F_yaw`` is trained on line searches: each training code is walked along
``d`` over a grid of steps, the yaw of every ``G(w + s d)`` is read by the face analyser, and for asked yaws ``a``
inside the walked range the step ``s`` that reaches ``a`` is interpolated from that curve; the MLP learns
``(w, a) -> s`` with an L1 loss. The symmetric view of a face at yaw ``y`` is ``w + F_yaw(w; -y) d``.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.boundaries import BoundaryFit, train_boundary
from toonlift.synthetic.analyser import FaceAnalyser

YAW_SCALE = 45.0  # degrees: the asked yaw enters the MLP as a / YAW_SCALE


def fit_yaw_boundary(w: Tensor, yaw: Tensor, fraction: float = 0.02, seed: int = 0) -> BoundaryFit:
    """Unit normal ``d`` of the linear SVM between the top and bottom ``fraction`` of yaw (pointing to +yaw)."""
    return train_boundary(w, yaw, fraction=fraction, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def read_yaw(generator: nn.Module, analyser: FaceAnalyser, w: Tensor, batch: int = 64) -> tuple[Tensor, Tensor]:
    """Analyser yaw ``[N]`` (degrees) and identity ``[N, 17]`` of ``G(w)`` for codes ``w [N, D]`` (same on every
    W+ layer) or W+ codes ``[N, L, D]``."""
    yaws, ids = [], []
    for lo in range(0, w.shape[0], batch):
        out = analyser(generator.synthesis(w[lo : lo + batch], noise_mode="const").image)
        yaws.append(out.pose[:, 0])
        ids.append(out.identity)
    return torch.cat(yaws), torch.cat(ids)


def walk_yaw(generator: nn.Module, analyser: FaceAnalyser, w: Tensor, d: Tensor, steps: Tensor) -> Tensor:
    """Yaw ``[N, K]`` of ``G(w + s d)`` for codes ``w [N, D]`` and each step ``s`` of ``steps [K]``."""
    moved = w[:, None] + steps[None, :, None] * d  # [N, K, D]
    yaw, _ = read_yaw(generator, analyser, moved.reshape(-1, w.shape[1]))
    return yaw.reshape(w.shape[0], steps.numel())


def steps_for_yaw(curve: Tensor, steps: Tensor, asked: Tensor) -> Tensor:
    """Steps ``[N, A]`` that reach each asked yaw ``[A]`` on monotone-ised walk curves ``[N, K]`` (linear
    interpolation; NaN where ``a`` lies outside a curve's range)."""
    mono = torch.cummax(curve, dim=1).values  # yaw grows along +d; flatten the few non-monotone wiggles
    out = torch.full((curve.shape[0], asked.numel()), float("nan"))
    for i in range(curve.shape[0]):
        y = mono[i]
        for j, a in enumerate(asked.tolist()):
            if not (y[0] <= a <= y[-1]):
                continue
            k = int(torch.searchsorted(y.contiguous(), torch.tensor(a)).clamp(1, len(y) - 1))
            y0, y1 = float(y[k - 1]), float(y[k])
            t = 0.0 if y1 <= y0 else (a - y0) / (y1 - y0)
            out[i, j] = float(steps[k - 1] + t * (steps[k] - steps[k - 1]))
    return out


class YawStepMLP(nn.Module):
    """``F_yaw(w; a)``: a code ``w [B, D]`` and an asked yaw ``a [B]`` (degrees) -> the step ``[B]`` along ``d``."""

    def __init__(self, w_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.w_dim, self.hidden = int(w_dim), int(hidden)
        self.net = nn.Sequential(
            nn.Linear(self.w_dim + 1, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 1)
        )
        self.register_buffer("w_mean", torch.zeros(self.w_dim))
        self.register_buffer("w_std", torch.ones(()))
        self.register_buffer("step_scale", torch.ones(()))

    def arch_args(self) -> dict[str, int]:
        return {"w_dim": self.w_dim, "hidden": self.hidden}

    def forward(self, w: Tensor, asked: Tensor) -> Tensor:
        x = torch.cat([(w - self.w_mean) / self.w_std, (asked / YAW_SCALE)[:, None].to(w)], 1)
        return self.net(x)[:, 0] * self.step_scale


def fit_yaw_mlp(model: YawStepMLP, w: Tensor, asked: Tensor, step: Tensor, iters: int = 3000, seed: int = 0) -> float:
    """Fit ``model`` to line-searched ``(w [N, D], asked [N], step [N])`` with L1 (Adam, cosine-free constant lr);
    returns the seconds taken."""
    if not (w.shape[0] == asked.shape[0] == step.shape[0]) or w.shape[0] < 2:
        raise ConfigError(f"fit_yaw_mlp: need >= 2 matching rows, got {w.shape[0]}, {asked.shape[0]}, {step.shape[0]}.")
    model.w_mean.copy_(w.mean(0))
    model.w_std.copy_(w.std(0).mean())
    model.step_scale.copy_(step.abs().mean().clamp_min(1e-6))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, (1e-2) ** (1 / iters))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    for _ in range(iters):
        idx = torch.randint(0, w.shape[0], (min(256, w.shape[0]),), generator=gen)
        loss = (model(w[idx], asked[idx]) - step[idx]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return time.perf_counter() - t0


def move_to_yaw(model: YawStepMLP, w_plus: Tensor, d: Tensor, asked: Tensor) -> Tensor:
    """``w' = w + F_yaw(w; a) d`` on every W+ layer; ``w_plus [B, L, D]``, ``asked [B]`` degrees."""
    s = model(w_plus[:, 0], asked)
    return w_plus + s[:, None, None] * d.to(w_plus)


__all__ = [
    "YawStepMLP",
    "fit_yaw_boundary",
    "fit_yaw_mlp",
    "move_to_yaw",
    "read_yaw",
    "steps_for_yaw",
    "walk_yaw",
]
