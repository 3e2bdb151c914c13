"""Shared parts of the EG3D tests: seeded weights that depend only on parameter names and shapes, and the stored
reference configurations (the NVlabs outputs in ``tests/data/eg3d/`` were computed from weights made this way)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

DATA = Path(__file__).parent / "data" / "eg3d"
CONSTANT_BUFFERS = ("blur.kernel", "upsample.kernel", "up.kernel")


def seeded_state(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """A full state dict of random values drawn in sorted-key order, so it does not depend on construction order.

    Weights are standard normal (the equalised-learning-rate init; times 100 in the mapping layers, whose
    learning-rate multiplier is 0.01), style biases ``1 + 0.1 N``, other biases and
    ``w_avg`` ``0.1 N``, noise strengths ``0.1 + 0.1 |N|`` (non-zero so noise matters), noise maps standard normal;
    the density bias is raised by 3 so rays are mostly opaque (importance sampling then matters). Resampling
    filters are kept.
    """
    gen = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    out = {}
    for key in sorted(state):
        v = state[key]
        if key.endswith(CONSTANT_BUFFERS):
            out[key] = v.clone()
            continue
        r = torch.randn(v.shape, generator=gen, dtype=torch.float64).to(v.dtype)
        if ".fcs." in key and key.endswith("weight"):
            r = 100 * r  # mapping layers store N(0, 1) / lr_mul with lr_mul = 0.01
        elif key.endswith("modulation.bias"):
            r = 1 + 0.1 * r
        elif key.endswith("noise.weight"):
            r = 0.1 + 0.1 * r.abs()
        elif key.endswith(("bias", "w_avg")):
            r = 0.1 * r
        out[key] = r
    if "decoder.fc1.bias" in out:
        out["decoder.fc1.bias"][0] += 3.0
    return out


def seeded(model: nn.Module, seed: int) -> nn.Module:
    """``model`` filled with :func:`seeded_state`, in eval mode."""
    model.load_state_dict(seeded_state(model, seed), strict=True)
    return model.eval()
