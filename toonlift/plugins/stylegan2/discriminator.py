"""The StyleGAN2 residual discriminator, state-dict compatible with rosinality/stylegan2-pytorch (``d``).

``convs[0]`` is the fromRGB 1x1 ConvLayer, ``convs[i]`` (i >= 1) the ResBlocks from ``size`` down to 8 px (each
halves the resolution), then the minibatch standard deviation (group 4, 1 feature), ``final_conv`` (3x3) and
``final_linear`` (``C*16 -> C -> 1``). FreezeD freezes ``convs[:k]`` by this index. GAN2Shape's D-feature loss uses
the outputs of the first ``num_blocks`` ResBlocks (:meth:`StyleGAN2Discriminator.block_features`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.resample import upfirdn2d
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.stylegan2.generator import check_size, check_widths, stylegan2_channels
from toonlift.plugins.stylegan2.layers import BLUR_TAPS, Blur, EqualConv2d, EqualLinear, FusedLeakyReLU


class ConvLayer(nn.Sequential):
    """[Blur,] EqualConv2d[, FusedLeakyReLU] as an ``nn.Sequential`` (so keys are ``0.weight``, ``1.bias`` ...).

    Args:
        in_channel: input channels.
        out_channel: output channels.
        kernel_size: square kernel side.
        downsample: blur (4x4 FIR) then a stride-2 convolution.
        bias: learn a bias (held by the activation when there is one).
        activate: bias + leaky ReLU(0.2) * sqrt(2) after the convolution.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        downsample: bool = False,
        bias: bool = True,
        activate: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        if downsample:
            p = (len(BLUR_TAPS) - 2) + (kernel_size - 1)
            layers.append(Blur(((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_channel, out_channel, kernel_size, stride, padding, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_channel))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """conv 3x3 -> blur + conv 3x3 stride 2, plus a blurred 1x1 stride-2 skip; sum / sqrt(2).

    Args:
        in_channel: input channels.
        out_channel: output channels.
    """

    def __init__(self, in_channel: int, out_channel: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(in_channel, in_channel, 3)
        self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True)
        self.skip = ConvLayer(in_channel, out_channel, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        # skip: blur (pad 1) then 1x1 stride 2 == blur evaluated only at the kept pixels (stride folded into the FIR)
        blur, conv = self.skip[0], self.skip[1]
        skip = F.conv2d(upfirdn2d(x, blur.kernel, down=2, pad=blur.pad), conv.weight * conv.scale)
        return (out + skip) * (1.0 / math.sqrt(2.0))


class StyleGAN2Discriminator(Discriminator):
    """StyleGAN2 discriminator (rosinality layout: a checkpoint's ``d`` loads strictly).

    Args:
        size: input resolution (power of two, 8-1024).
        channel_multiplier: width multiplier of the 64 px and larger blocks.
        channel_max: cap on every block's channels (512 = reference).
        channel_base: width budget ``min(channel_max, channel_base // res)``; ``None`` = rosinality's table.
        checkpoint: rosinality ``.pt`` or toonlift ``.safetensors`` export to load at construction.
        checkpoint_key: entry of a ``.pt`` checkpoint to load.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"size": 16, "channel_max": 16}

    def __init__(
        self,
        size: int = 256,
        channel_multiplier: int = 2,
        channel_max: int = 512,
        channel_base: int | None = None,
        checkpoint: str | None = None,
        checkpoint_key: str = "d",
    ) -> None:
        super().__init__()
        self.size = check_size(size)
        check_widths(channel_multiplier=channel_multiplier, channel_max=channel_max, channel_base=channel_base)
        self.channel_multiplier, self.channel_max, self.channel_base = channel_multiplier, channel_max, channel_base
        ch = stylegan2_channels(size, channel_multiplier, channel_max, channel_base)
        convs: list[nn.Module] = [ConvLayer(3, ch[size], 1)]
        in_ch = ch[size]
        for log_res in range(int(math.log2(size)), 2, -1):
            out_ch = ch[2 ** (log_res - 1)]
            convs.append(ResBlock(in_ch, out_ch))
            in_ch = out_ch
        self.convs = nn.Sequential(*convs)
        self.stddev_group, self.stddev_feat = 4, 1
        self.final_conv = ConvLayer(in_ch + 1, ch[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(ch[4] * 16, ch[4], activation=True), EqualLinear(ch[4], 1))
        if checkpoint is not None:
            from toonlift.plugins.stylegan2.checkpoint import load_discriminator_checkpoint

            load_discriminator_checkpoint(self, checkpoint, checkpoint_key)

    @property
    def resolution(self) -> int:
        return self.size

    @property
    def num_blocks(self) -> int:
        """Number of ResBlocks (``convs[1:]``)."""
        return len(self.convs) - 1

    def feature_block_count(self) -> int:
        """How many ResBlocks :meth:`block_features` can return (capability ``BlockFeatures``)."""
        return self.num_blocks

    def block_parameters(self, num_blocks: int) -> Iterator[nn.Parameter]:
        """Parameters of ``convs[:num_blocks]`` (fromRGB, then ResBlocks from the input side): FreezeD's frozen part.

        Cartoon-StyleGAN's ``--freezeD=3`` trains only the last 3 ResBlocks, i.e. ``num_blocks = num_blocks + 1 - 3``.
        """
        if not 0 <= num_blocks <= len(self.convs):
            raise ConfigError(
                f"freeze_d must be in [0, {len(self.convs)}] for this {self.size} px discriminator (fromRGB + "
                f"{self.num_blocks} ResBlocks), got {num_blocks}."
            )
        for block in list(self.convs)[:num_blocks]:
            yield from block.parameters()

    def load_export_state(self, tensors: dict[str, Tensor], source: str) -> None:
        """Fill from an export's tensors (strict, with the architecture in the message)."""
        from toonlift.plugins.stylegan2.checkpoint import load_state_strict

        load_state_strict(self, dict(tensors), source, ", ".join(f"{k}={v}" for k, v in self.arch_args().items()))

    def arch_args(self) -> dict:
        """Constructor arguments that fix the architecture (the export sidecar)."""
        args = {"size": self.size, "channel_multiplier": self.channel_multiplier, "channel_max": self.channel_max}
        return args if self.channel_base is None else {**args, "channel_base": self.channel_base}

    def _check_input(self, image: Tensor) -> None:
        if image.dim() != 4 or image.shape[1] != 3 or image.shape[2:] != (self.size, self.size):
            raise ConfigError(
                f"StyleGAN2Discriminator(size={self.size}) expects images [B, 3, {self.size}, {self.size}], "
                f"got {tuple(image.shape)}"
            )

    def minibatch_stddev(self, x: Tensor) -> Tensor:
        """Append the feature std over groups of ``min(B, 4)`` samples as one extra channel (rosinality)."""
        b, c, h, w = x.shape
        group = min(b, self.stddev_group)
        if b % group:
            raise ConfigError(f"the discriminator batch ({b}) must be a multiple of {group} (minibatch-stddev groups)")
        y = x.view(group, -1, self.stddev_feat, c // self.stddev_feat, h, w)
        y = torch.sqrt(y.var(0, unbiased=False) + 1e-8)  # [B/g, F, C/F, H, W]
        y = y.mean([2, 3, 4], keepdim=True).squeeze(2)  # [B/g, F, 1, 1]
        y = y.repeat(group, 1, h, w)
        return torch.cat([x, y], 1)

    def forward(self, image: Tensor, cond: Tensor | None = None) -> Tensor:
        """Logits ``[B, 1]`` for images ``[B, 3, size, size]`` in ``[-1, 1]`` (``cond`` is unused: unconditioned)."""
        del cond
        self._check_input(image)
        out = self.minibatch_stddev(self.convs(image))
        out = self.final_conv(out)
        return self.final_linear(out.flatten(1))

    def block_features(self, image: Tensor, num_blocks: int) -> list[Tensor]:
        """Outputs of the first ``num_blocks`` ResBlocks (the fromRGB layer runs but is not returned)."""
        self._check_input(image)
        if not 1 <= num_blocks <= self.num_blocks:
            raise ConfigError(f"num_blocks must be in [1, {self.num_blocks}], got {num_blocks}")
        out = self.convs[0](image)
        feats = []
        for block in self.convs[1 : num_blocks + 1]:
            out = block(out)
            feats.append(out)
        return feats


__all__ = ["ConvLayer", "ResBlock", "StyleGAN2Discriminator"]
