"""Tiny StyleFaceUV inputs for contract tests and unit tests: a 16-px StyleGAN2 and its discriminator (random
weights, exported through the one export path) and a parts file of matching sizes (untrained MLPs, a random unit
yaw direction). They exercise the wiring, not the quality."""

from __future__ import annotations

from pathlib import Path

import torch

from toonlift.plugins.export import save_model
from toonlift.plugins.head_rig.prior import prior_moments
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, StyleGAN2Discriminator
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP
from toonlift.stages.styleuv.parts import StyleUVParts, save_parts
from toonlift.stages.styleuv.yaw import YawStepMLP


def tiny_parts(num_ws: int, w_dim: int) -> StyleUVParts:
    """Untrained parts for a generator of ``num_ws x w_dim`` codes (seeded by the caller): F_3D predicts about
    the world's average face (a visible, lit head) with a little spread from its random weights."""
    normal = torch.randn(w_dim)
    coeff = CoeffMLP(num_ws, w_dim, unit=4)
    mean, std = prior_moments("photo")
    coeff.target_mean.copy_(mean)
    coeff.target_std.copy_(0.1 * std)
    return StyleUVParts(coeff, normal / normal.norm(), YawStepMLP(w_dim, hidden=8))


def write_tiny_models(workdir: str | Path, seed: int = 0) -> dict[str, str]:
    """Write ``g``, ``d`` and ``parts`` files under ``workdir``; returns the module's path arguments."""
    folder = Path(workdir)
    torch.manual_seed(seed)
    g = StyleGAN2Backbone(size=16, style_dim=16, n_mlp=2, channel_max=16)
    d = StyleGAN2Discriminator(size=16, channel_max=16)
    parts = tiny_parts(g.num_ws, g.w_dim)
    paths = {
        "generator_path": str(save_model(g, folder / "tiny_g.safetensors")),
        "discriminator_path": str(save_model(d, folder / "tiny_d.safetensors")),
        "parts_path": str(save_parts(folder / "tiny_parts.safetensors", parts)),
    }
    return paths


__all__ = ["tiny_parts", "write_tiny_models"]
