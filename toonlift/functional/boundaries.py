"""Linear attribute boundaries in a latent space (InterFaceGAN, Shen et al. 2020): pure math.

Recipe (InterFaceGAN ``utils/manipulator.py:train_boundary``): score N latents with an attribute read-out, keep the
top and the bottom ``fraction`` as positives and negatives, shuffle each and split them ``train_ratio`` /
``1 - train_ratio``, fit a linear classifier on the training part, and use the unit normal of its hyperplane as the
edit direction ``w' = w + d * n``. Accuracy on the held-out extremes tells how linearly separable the attribute is.

scikit-learn is not a dependency: the classifier here is a linear SVM fitted in the primal with the squared hinge
loss (scikit-learn's ``LinearSVC`` default) plus ``0.5 ||w||²``, a smooth convex problem solved to convergence by
L-BFGS in float64. *Conditional* boundaries (InterFaceGAN Sec. 2.3) remove the components along other attributes'
normals: ``n' = n - C (CᵀC)⁻¹ Cᵀ n``, renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError


@dataclass(frozen=True)
class BoundaryFit:
    """A fitted boundary: unit ``normal [D]``, ``bias`` (in the unit-normal scale), and accuracies in ``[0, 1]``."""

    normal: Tensor
    bias: float
    train_accuracy: float
    val_accuracy: float
    num_train: int
    num_val: int


def extreme_labels(scores: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """Indices of the top and the bottom ``fraction`` of ``scores [N]`` (positives, negatives), each ``>= 1``.

    Args:
        scores: read-out values, one per latent.
        fraction: share of samples kept at each end, in ``(0, 0.5]``.
    """
    if scores.ndim != 1:
        raise ConfigError(f"extreme_labels: scores must be one value per latent [N], got shape {tuple(scores.shape)}.")
    if not 0.0 < fraction <= 0.5:
        raise ConfigError(f"extreme_labels: fraction must be in (0, 0.5] (a share at each end), got {fraction}.")
    k = max(1, int(round(fraction * scores.numel())))
    order = torch.argsort(scores, descending=True)
    return order[:k], order[-k:]


def fit_linear_svm(x: Tensor, y: Tensor, c: float = 1.0, max_iter: int = 200) -> tuple[Tensor, Tensor]:
    """Primal linear SVM: ``argmin 0.5 ||w||² + c * sum_i max(0, 1 - y_i (w·x_i + b))²``.

    Args:
        x: samples ``[N, D]``.
        y: labels ``[N]`` in ``{-1, +1}``.
        c: inverse regularisation strength (scikit-learn's ``C``).
        max_iter: L-BFGS iterations (the problem is strongly convex in ``w``).

    Returns:
        ``(w [D], b [])`` in float64 (not normalised).
    """
    xd, yd = x.detach().double(), y.detach().double()
    w = torch.zeros(xd.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-10)

    def closure() -> Tensor:
        opt.zero_grad()
        margin = (1 - yd * (xd @ w + b)).clamp_min(0)
        loss = 0.5 * w.pow(2).sum() + c * margin.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach(), b.detach()


def train_boundary(
    latents: Tensor,
    scores: Tensor,
    fraction: float = 0.02,
    train_ratio: float = 0.7,
    c: float = 1.0,
    generator: torch.Generator | None = None,
) -> BoundaryFit:
    """InterFaceGAN's boundary of the attribute ``scores`` in the space of ``latents``.

    Args:
        latents: ``[N, D]`` codes (e.g. W of a backbone).
        scores: ``[N]`` attribute read-out of each code's image.
        fraction: share kept at each end as positives/negatives (InterFaceGAN: 0.02).
        train_ratio: share of the kept samples used to fit; the rest measures ``val_accuracy``.
        c: SVM ``C``.
        generator: random source of the split.

    Returns:
        The unit normal pointing towards high scores, its bias and the accuracies.
    """
    if latents.ndim != 2 or latents.shape[0] != scores.shape[0]:
        raise ConfigError(
            f"train_boundary: latents must be [N, D] and scores [N]; got {tuple(latents.shape)} and "
            f"{tuple(scores.shape)}."
        )
    if not 0.0 < train_ratio < 1.0:
        raise ConfigError(f"train_boundary: train_ratio must be in (0, 1), got {train_ratio}.")
    pos, neg = extreme_labels(scores, fraction)
    if pos.numel() < 2:
        raise ConfigError(
            f"train_boundary: {scores.numel()} latents x fraction {fraction} leave fewer than 2 samples per class; "
            "sample more latents or raise the fraction."
        )
    pos = pos[torch.randperm(pos.numel(), generator=generator)]
    neg = neg[torch.randperm(neg.numel(), generator=generator)]
    n_train = max(1, min(pos.numel() - 1, int(round(train_ratio * pos.numel()))))
    x_train = torch.cat([latents[pos[:n_train]], latents[neg[:n_train]]])
    y_train = torch.cat([torch.ones(n_train), -torch.ones(n_train)])
    x_val = torch.cat([latents[pos[n_train:]], latents[neg[n_train:]]])
    y_val = torch.cat([torch.ones(pos.numel() - n_train), -torch.ones(neg.numel() - n_train)])
    w, b = fit_linear_svm(x_train, y_train, c=c)
    norm = w.norm()
    if norm == 0:
        raise ConfigError("train_boundary: the classifier found no direction (all selected latents identical?).")

    def accuracy(x: Tensor, y: Tensor) -> float:
        return float(((x.double() @ w + b).sign() == y.double()).double().mean())

    return BoundaryFit(
        normal=(w / norm).to(latents.dtype),
        bias=float(b / norm),
        train_accuracy=accuracy(x_train, y_train),
        val_accuracy=accuracy(x_val, y_val),
        num_train=int(y_train.numel()),
        num_val=int(y_val.numel()),
    )


def project_out(normal: Tensor, *conditions: Tensor) -> Tensor:
    """Conditional boundary: ``normal [D]`` minus its component in the span of ``conditions`` (each ``[D]``),
    renormalised (InterFaceGAN ``project_boundary``: ``n - C (CᵀC)⁻¹ Cᵀ n``)."""
    if not conditions:
        return normal / normal.norm()
    cmat = torch.stack([c.to(normal.dtype) for c in conditions], dim=1)  # [D, K]
    coef = torch.linalg.lstsq(cmat, normal.unsqueeze(1)).solution  # [K, 1] = (CᵀC)⁻¹ Cᵀ n
    rest = normal - (cmat @ coef).squeeze(1)
    norm = rest.norm()
    # a boundary inside the span leaves only the solver's round-off (~1e-7 relative in float32, more or less with
    # the BLAS and thread count), so the test is relative to the dtype's precision, not a fixed 1e-8
    if norm < 100 * torch.finfo(rest.dtype).eps * normal.norm():
        raise ConfigError("project_out: the boundary lies in the span of the conditions; nothing is left to edit.")
    return rest / norm


def edit_latents(latents: Tensor, normal: Tensor, distances: Tensor) -> Tensor:
    """``latents [B, ..., D]`` moved by each of ``distances [K]`` along ``normal [D]``: ``[K, B, ..., D]``."""
    shape = (-1,) + (1,) * latents.ndim
    return latents.unsqueeze(0) + distances.to(latents).view(shape) * normal.to(latents)
