"""The StyleGAN2 model family (rosinality/stylegan2-pytorch layout), one folder: generator backbone and its
discriminator, checkpoints, layer blending, SeFa's weight selection, W-space inversion and their commands."""

from toonlift.plugins.stylegan2.checkpoint import (
    load_generator,
    load_rosinality_checkpoint,
    save_generator,
)
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone, stylegan2_channels

__all__ = [
    "StyleGAN2Backbone",
    "StyleGAN2Discriminator",
    "load_generator",
    "load_rosinality_checkpoint",
    "save_generator",
    "stylegan2_channels",
]
