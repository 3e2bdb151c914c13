"""Tiny random generators for the one-shot stylisation tests (``stylise`` command, ``oneshot_table``)."""

from __future__ import annotations

from pathlib import Path

import torch

from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.export import save_model
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator


def tiny_oneshot_networks() -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator, EG3DBackbone]:
    """A tiny random StyleGAN2 generator, its discriminator and an EG3D, in eval mode (seeded: the same every call)."""
    torch.manual_seed(0)
    return (
        StyleGAN2Backbone(**StyleGAN2Backbone.example_args(None)).eval(),
        StyleGAN2Discriminator(**StyleGAN2Discriminator.example_args(None)).eval(),
        EG3DBackbone(**EG3DBackbone.example_args(None)).eval(),
    )


def tiny_oneshot_models(root: Path) -> dict[str, str]:
    """Export a tiny EG3D (``g3``), StyleGAN2 generator (``g2``) and discriminator (``d2``) under ``root``; paths."""
    torch.manual_seed(0)
    return {
        "g3": str(save_model(EG3DBackbone(**EG3DBackbone.example_args(root)), root / "g3.safetensors")),
        "g2": str(save_model(StyleGAN2Backbone(**StyleGAN2Backbone.example_args(root)), root / "g2.safetensors")),
        "d2": str(
            save_model(StyleGAN2Discriminator(**StyleGAN2Discriminator.example_args(root)), root / "d2.safetensors")
        ),
    }
