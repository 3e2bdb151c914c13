"""Tri-plane synthesis: toonlift's StyleGAN2 synthesis network whose skip output has ``3 * C`` channels.

The layer layout, latent indices and noise inputs are those of :mod:`toonlift.plugins.stylegan2.generator` (EG3D's
``SynthesisNetwork`` in the ``skip`` architecture is the same network under other parameter names); only the ToRGB
layers write ``3 * C`` channels, reshaped to three ``C``-channel planes. EG3D: 256 px planes, ``C = 32``, 14 latents.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2.generator import stylegan2_channels
from toonlift.plugins.stylegan2.layers import ConstantInput, StyledConv, ToRGB


def noise_resolutions(size: int) -> list[int]:
    """Side of each noise input of a synthesis network of output ``size`` (4, 8, 8, 16, 16, ...)."""
    layers = (int(math.log2(size)) - 2) * 2 + 1
    return [2 ** ((i + 5) // 2) for i in range(layers)]


class PlaneSynthesis(nn.Module):
    """Latents W+ ``[B, num_ws, w_dim]`` to tri-planes ``[B, 3, C, size, size]``.

    Args:
        size: plane resolution (power of two, 8-1024).
        plane_channels: channels ``C`` of each plane.
        w_dim: latent size.
        channel_base: width budget ``min(channel_max, channel_base // res)`` (EG3D: 32768).
        channel_max: cap on the widths (EG3D: 512).
    """

    def __init__(self, size: int, plane_channels: int, w_dim: int, channel_base: int, channel_max: int) -> None:
        super().__init__()
        if not isinstance(size, int) or size < 8 or size > 1024 or size & (size - 1):
            raise ConfigError(f"EG3D plane_resolution must be a power of two between 8 and 1024, got {size!r}.")
        self.size, self.plane_channels = size, plane_channels
        self.channels = stylegan2_channels(size, channel_max=channel_max, channel_base=channel_base)
        self.log_size = int(math.log2(size))
        self.num_ws = self.log_size * 2 - 2
        out = 3 * plane_channels
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, w_dim)
        self.to_rgb1 = ToRGB(c4, w_dim, upsample=False, out_channel=out)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i, res in enumerate(noise_resolutions(size)):
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        in_ch = c4
        for log_res in range(3, self.log_size + 1):
            out_ch = self.channels[2**log_res]
            self.convs.append(StyledConv(in_ch, out_ch, w_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, w_dim))
            self.to_rgbs.append(ToRGB(out_ch, w_dim, out_channel=out))
            in_ch = out_ch

    @property
    def num_noise(self) -> int:
        return len(noise_resolutions(self.size))

    def stored_noise(self) -> list[Tensor]:
        """The constant noise buffers, one per layer."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_noise)]

    def forward(self, ws: Tensor, noise: list[Tensor | None]) -> Tensor:
        """``ws [B, num_ws, w_dim]``, one noise map (or ``None``) per layer -> planes ``[B, 3, C, size, size]``."""
        out = self.conv1(self.input(ws.shape[0]), ws[:, 0], noise[0])
        skip = self.to_rgb1(out, ws[:, 1])
        for k, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * k](out, ws[:, 2 * k + 1], noise[2 * k + 1])
            out = self.convs[2 * k + 1](out, ws[:, 2 * k + 2], noise[2 * k + 2])
            skip = to_rgb(out, ws[:, 2 * k + 3], skip)
        return skip.reshape(ws.shape[0], 3, self.plane_channels, self.size, self.size)
