"""Oversampling the inverted pairs (true coefficients) beside the analyser-labelled random codes for ``F_3D``.

The training codes are laid out as ``[inverted pairs; other pairs]``: the first ``inverted`` rows carry the true
latents of inverted world faces, the rest the analyser's labels of random codes. Drawn uniformly, 48 inverted
faces among 2,000 random codes are 2 % of every batch (docs/styleuv.md, "More pairs for F_3D"); an
``inverted_fraction`` ``f`` draws that fraction of each batch from the inverted rows instead (the MLP), or gives
the inverted rows that share of the total sample weight (the ridge baseline). ``None`` keeps uniform sampling.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from toonlift.errors import ConfigError


def check_fraction(count: int, inverted: int, fraction: float | None) -> None:
    """Refuse an ``inverted_fraction`` that cannot be honoured on ``count`` rows of which ``inverted`` come first.

    Raises:
        ConfigError: ``fraction`` outside [0, 1], ``inverted`` outside ``0..count``, or a fraction that asks for
            rows of a kind there are none of.
    """
    if not 0 <= inverted <= count:
        raise ConfigError(f"inverted rows must be in 0..{count} (the training codes), got {inverted}.")
    if fraction is None:
        return
    if not (isinstance(fraction, int | float) and 0.0 <= fraction <= 1.0):
        raise ConfigError(f"inverted_fraction must be in [0, 1] (or None: uniform), got {fraction!r}.")
    if fraction > 0 and inverted == 0:
        raise ConfigError(
            f"inverted_fraction {fraction} asks for inverted pairs, but none are among the {count} training codes."
        )
    if fraction < 1 and inverted == count:
        raise ConfigError(
            f"inverted_fraction {fraction} asks for {1 - fraction:.0%} random codes per batch, but all {count} "
            "training codes are inverted pairs (--no-random?); use 1.0 or leave it unset."
        )


def batch_indices(
    count: int, batch: int, generator: torch.Generator, inverted: int = 0, fraction: float | None = None
) -> Tensor:
    """Row indices ``[batch]`` of one training batch.

    ``fraction=None``: ``torch.randint(0, count, (batch,))`` exactly as before (the default fit is unchanged).
    Otherwise ``floor(fraction * batch)`` rows, plus one more with probability equal to the remainder (so the
    expected share is ``fraction`` for any batch size), are drawn uniformly with replacement from the first
    ``inverted`` rows and the others from the rest; inverted rows come first in the batch.
    """
    if fraction is None:
        return torch.randint(0, count, (batch,), generator=generator)
    want = fraction * batch
    k = math.floor(want)
    if torch.rand((), generator=generator).item() < want - k:
        k += 1
    inv = torch.randint(0, max(1, inverted), (k,), generator=generator)
    rest = torch.randint(inverted, max(inverted + 1, count), (batch - k,), generator=generator)
    return torch.cat([inv, rest])


def fraction_weights(count: int, inverted: int, fraction: float | None) -> Tensor | None:
    """Sample weights ``[count]`` (mean 1) giving the first ``inverted`` rows ``fraction`` of the total weight,
    shared equally among them, and the rest ``1 - fraction``; ``None`` for ``fraction=None`` (unweighted)."""
    check_fraction(count, inverted, fraction)
    if fraction is None:
        return None
    w = torch.empty(count, dtype=torch.float64)
    w[:inverted] = fraction / max(1, inverted)
    w[inverted:] = (1 - fraction) / max(1, count - inverted)
    return w * (count / w.sum())


__all__ = ["batch_indices", "check_fraction", "fraction_weights"]
