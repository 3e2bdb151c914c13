"""Image-space losses: masked L1, feature-matching structure loss, depth smoothness."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def masked_l1(pred: Tensor, target: Tensor, mask: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """Mean absolute error, averaged over the pixels where ``mask`` (``[B, 1, H, W]``, broadcast) is on."""
    diff = (pred - target).abs()
    if mask is None:
        return diff.mean()
    mask = mask.expand_as(diff)
    return (diff * mask).sum() / mask.sum().clamp_min(eps)


def structure_loss(base_features: Sequence[Tensor], trans_features: Sequence[Tensor]) -> Tensor:
    """Structure loss of the paper (Eq. 2): ``1/n sum_k ||G_base^k(z) - G_trans^k(z)||^2``.

    Each term is the mean squared difference of the k-th synthesis block outputs (``[B, C, 2^(k+2), 2^(k+2)]``);
    the base features are treated as constants (the base generator is frozen).
    """
    if len(base_features) != len(trans_features) or not base_features:
        raise ValueError("structure_loss needs the same non-zero number of base and fine-tuned features")
    total = sum((t - b.detach()).pow(2).mean() for b, t in zip(base_features, trans_features))
    return total / len(base_features)


def second_order_smoothness(x: Tensor) -> Tensor:
    """L1 of the second-order spatial gradients of ``x`` ``[B, C, H, W]`` (GAN2Shape's depth smoothness).

    The mean absolute value of ``d2/dx2``, ``d2/dxdy``, ``d2/dydx`` and ``d2/dy2`` finite differences, summed.
    """
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    dxx = dx[..., :, 1:] - dx[..., :, :-1]
    dxy = dx[..., 1:, :] - dx[..., :-1, :]
    dyx = dy[..., :, 1:] - dy[..., :, :-1]
    dyy = dy[..., 1:, :] - dy[..., :-1, :]
    return dxx.abs().mean() + dxy.abs().mean() + dyx.abs().mean() + dyy.abs().mean()
