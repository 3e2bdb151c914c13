"""The StyleGAN2 projector's learning-rate schedule: a linear warm-up and a cosine ramp-down."""

from __future__ import annotations

import math


def get_lr(t: float, lr0: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """Learning rate at progress ``t`` in ``[0, 1]`` (``t = step / num_steps``).

    The rate rises linearly from 0 over the first ``rampup`` of the run, stays at ``lr0``, then follows half a cosine
    down to 0 over the last ``rampdown``. With ``num_steps = 10`` and ``lr0 = 0.1`` the sequence is
    ``[0, .1, .1, .1, .1, .1, .1, .1, .0905, .0345]``: step 0 has rate 0, so only 9 of the 10 Adam steps move.

    Args:
        t: progress, ``step / num_steps``.
        lr0: the peak learning rate.
        rampdown: fraction of the run spent ramping down (cosine).
        rampup: fraction of the run spent ramping up (linear).
    """
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"get_lr: progress t must be in [0, 1], got {t}")
    if rampdown <= 0 or rampup <= 0:
        raise ValueError(f"get_lr: rampdown and rampup must be positive, got {rampdown}, {rampup}")
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / rampup)
    return lr0 * ramp


def lr_sequence(num_steps: int, lr0: float, rampdown: float = 0.25, rampup: float = 0.05) -> list[float]:
    """``[get_lr(i / num_steps, lr0, ...) for i in range(num_steps)]``: the rate of each optimisation step."""
    if num_steps < 1:
        raise ValueError(f"lr_sequence: num_steps must be >= 1, got {num_steps}")
    return [get_lr(i / num_steps, lr0, rampdown, rampup) for i in range(num_steps)]
