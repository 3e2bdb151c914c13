"""StyleGAN2 (rosinality/stylegan2-pytorch layout): generator backbone, checkpoints, blending, SeFa, inversion."""

from toonlift.plugins.stylegan2.checkpoint import (
    load_generator,
    load_rosinality_checkpoint,
    save_generator,
)
from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone, stylegan2_channels

__all__ = [
    "StyleGAN2Backbone",
    "load_generator",
    "load_rosinality_checkpoint",
    "save_generator",
    "stylegan2_channels",
]
