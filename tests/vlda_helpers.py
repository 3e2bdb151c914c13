"""Shared helpers of the Stage-3 tests: a tiny random StyleGAN2 checkpoint in rosinality layout."""

from __future__ import annotations

from pathlib import Path

import torch

from toonlift.plugins.backbones.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.discriminators.stylegan2 import StyleGAN2Discriminator

TINY = {"size": 32, "channel_multiplier": 1, "channel_max": 16}


def tiny_stylegan2(seed: int = 0) -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator]:
    """A 32 px StyleGAN2 generator (style_dim 32) and discriminator with random weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = StyleGAN2Backbone(style_dim=32, n_mlp=8, **TINY)
        d = StyleGAN2Discriminator(**TINY)
    return g, d


def write_tiny_checkpoint(path: Path) -> Path:
    """Save ``{'g', 'g_ema', 'd', 'latent_avg'}`` as rosinality's train.py does (plain tensors only)."""
    g, d = tiny_stylegan2()
    torch.save({"g": g.state_dict(), "g_ema": g.state_dict(), "d": d.state_dict(), "latent_avg": torch.zeros(32)}, path)
    return path
