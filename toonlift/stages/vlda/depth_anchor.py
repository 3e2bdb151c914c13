"""Keeping VLDA's depth near its prior (beyond GAN2Shape; ``VLDATraining.init_view``, ``depth_bound``, ``lam_anchor``).

On the synthetic world the photometric steps let the depth absorb what the view and the light should explain: from a
good prior the depth's relief grows past the truth's and the final shape scores worse than the prior and a flat plane
(docs/stage3.md, "The prior"). Three options act on it:

* ``init_view="input"``: the init phase fits the depth *seen from the input's predicted view* to the prior, which is
  measured in the input image. With a view prior (the head pose) the canonical depth then is the prior turned back to
  the frontal view; GAN2Shape fits the canonical depth itself, which is the same only for a frontal view.
* ``depth_bound``: the canonical depth is held within ``± bound`` of the *anchor*, the depth the init phase ended
  with (a soft ``tanh`` bound, so gradients never vanish abruptly); with ``depth_smooth`` the departure from the
  anchor is low-passed first, so it cannot be pixel-scale ripple.
* ``lam_anchor``: a penalty on the mean absolute difference to the anchor, added to step 3's loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def smooth_map(x: Tensor, size: int) -> Tensor:
    """``x`` ``[B, H, W]`` filtered twice by a ``size x size`` box (edge-replicated; a near-Gaussian low-pass of
    std ~``size / 2.5`` pixels); ``size <= 1`` returns ``x``."""
    if size <= 1:
        return x
    y = x.unsqueeze(1)
    for _ in range(2):
        lo, hi = (size - 1) // 2, size // 2
        y = F.avg_pool2d(F.pad(y, (lo, hi, lo, hi), mode="replicate"), size, stride=1)
    return y.squeeze(1)


def bound_depth(depth: Tensor, anchor: Tensor, bound: float, smooth: int = 0) -> Tensor:
    """``anchor + bound * tanh(smooth(depth - anchor) / bound)``: ``depth`` ``[B, H, W]`` held within ``± bound``
    of ``anchor`` ``[1|B, H, W]`` (identity to first order near the anchor). ``smooth > 1`` low-passes the
    departure from the anchor first (:func:`smooth_map`), so the photometric steps can move the shape but not add
    pixel-scale ripple to it. ``bound <= 0`` returns ``depth``."""
    if bound <= 0:
        return depth
    return anchor + bound * torch.tanh(smooth_map(depth - anchor, smooth) / bound)


def anchor_loss(depth: Tensor, anchor: Tensor) -> Tensor:
    """Mean absolute difference (depth units) between ``depth`` ``[B, H, W]`` and ``anchor`` ``[1|B, H, W]``."""
    return (depth - anchor).abs().mean()


def init_loss(depth: Tensor, prior: Tensor, view: Tensor | None, renderer: nn.Module) -> Tensor:
    """The init phase's MSE between the depth and the prior ``[1, H, W]``.

    Args:
        depth: canonical depth ``[1, H, W]`` (no border clamp, as GAN2Shape's init).
        prior: the prior, measured in the input image.
        view: ``None`` compares the canonical depth itself (GAN2Shape); else the input's view ``[1, 6]``: the depth
            is first seen from it (``renderer.warp_canon_depth``) and compared where it covers the image.
        renderer: the depth-map renderer.
    """
    if view is None:
        return F.mse_loss(depth, prior)
    seen = renderer.warp_canon_depth(depth, view.detach())
    valid = renderer.valid_mask(seen)[:, 0]
    return ((seen - prior) ** 2 * valid).sum() / valid.sum().clamp_min(1.0)


def attach_anchor(nets: nn.Module, anchor: Tensor | None, bound: float, smooth: int) -> None:
    """Give the VLDA networks their anchor depth ``[1, H, W]`` (``None``: none) with the bound and smoothing that
    :func:`bound_depth` applies around it (``training.depth_bound``, ``training.depth_smooth``)."""
    nets.depth_anchor = anchor
    nets.depth_bound, nets.depth_smooth = bound, smooth
