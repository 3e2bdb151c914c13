"""EG3D's super-resolution: two StyleGAN2 synthesis blocks driven by the last latent, from the neural render's
feature image to the output image.

The feature image (``C`` channels, the first three the raw RGB) is first resized bilinearly (antialiased) to the
module's input resolution; each block is ``[upsample] conv 3x3, conv 3x3, ToRGB`` with the RGB skip added (and
upsampled with the [1, 3, 3, 1] filter when the block upsamples). EG3D clamps every convolution output of these
blocks to +-256 (they run in fp16 on GPUs). The official modules:

=================  =====  ===========================  ========================
module             input  blocks (channels, upsample)  output
=================  =====  ===========================  ========================
``hybrid2x``       64     (128, no), (64, yes)         128
``hybrid4x``       128    (128, no), (64, yes)         256
``hybrid8x``       128    (128, yes), (64, yes)        512
``hybrid8xdc``     128    (256, yes), (128, yes)       512 (EG3D's FFHQ 512)
=================  =====  ===========================  ========================

toonlift's small models use, e.g., ``lite2x``: input 32, (32, no), (32, yes), output 64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2.layers import StyledConv, ToRGB, Upsample

SR_PRESETS: dict[str, tuple[int, tuple[tuple[int, bool], ...]]] = {
    "hybrid2x": (64, ((128, False), (64, True))),
    "hybrid4x": (128, ((128, False), (64, True))),
    "hybrid8x": (128, ((128, True), (64, True))),
    "hybrid8xdc": (128, ((256, True), (128, True))),
    "lite2x": (32, ((32, False), (32, True))),
}


def sr_output_resolution(input_resolution: int, blocks: list[tuple[int, bool]]) -> int:
    """Output side of a super-resolution module (doubles at every upsampling block)."""
    return input_resolution * 2 ** sum(1 for _, up in blocks if up)


class SRBlock(nn.Module):
    """One EG3D super-resolution block: two styled convolutions, ToRGB, RGB skip (clamped as EG3D).

    Args:
        in_channels: input feature channels.
        out_channels: block width.
        w_dim: latent size.
        upsample: double the resolution (first conv and skip).
        resolution: the block's output side (for the noise buffers).
        conv_clamp: clamp of every convolution output (EG3D: 256), ``None`` for none.
    """

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, upsample: bool, resolution: int, conv_clamp: float | None
    ) -> None:
        super().__init__()
        self.conv0 = StyledConv(in_channels, out_channels, w_dim, upsample=upsample)
        self.conv1 = StyledConv(out_channels, out_channels, w_dim)
        self.torgb = ToRGB(out_channels, w_dim, upsample=False)
        self.up = Upsample() if upsample else None
        self.conv_clamp = conv_clamp
        self.register_buffer("noise_0", torch.randn(1, 1, resolution, resolution))
        self.register_buffer("noise_1", torch.randn(1, 1, resolution, resolution))

    def _clamp(self, x: Tensor) -> Tensor:
        return x if self.conv_clamp is None else x.clamp(-self.conv_clamp, self.conv_clamp)

    def forward(self, x: Tensor, img: Tensor, w: Tensor, noise_mode: str) -> tuple[Tensor, Tensor]:
        n0 = n1 = None
        if noise_mode == "const":
            n0, n1 = self.noise_0, self.noise_1
        elif noise_mode == "random":
            shape = (x.shape[0], *self.noise_0.shape[1:])
            n0 = torch.randn(shape, device=x.device, dtype=x.dtype)
            n1 = torch.randn(shape, device=x.device, dtype=x.dtype)
        x = self._clamp(self.conv0(x, w, n0))
        x = self._clamp(self.conv1(x, w, n1))
        y = self._clamp(self.torgb(x, w))
        if self.up is not None:
            img = self.up(img)
        return x, img + y


class SuperResolution(nn.Module):
    """Feature image ``[B, C, h, w]`` + raw RGB -> image ``[B, 3, out, out]``, every block driven by the last latent.

    Args:
        channels: channels of the feature image.
        input_resolution: side the feature image is resized to first.
        blocks: ``[(width, upsample), ...]``.
        w_dim: latent size.
        conv_clamp: EG3D's 256, or ``None``.
        antialias: antialiased bilinear resize (EG3D: true).
    """

    def __init__(
        self,
        channels: int,
        input_resolution: int,
        blocks: list[tuple[int, bool]],
        w_dim: int,
        conv_clamp: float | None = 256.0,
        antialias: bool = True,
    ) -> None:
        super().__init__()
        if not blocks:
            raise ConfigError("An EG3D super-resolution module needs at least one block (sr_blocks).")
        self.input_resolution, self.antialias = input_resolution, antialias
        self.blocks = nn.ModuleList()
        res, in_ch = input_resolution, channels
        for width, up in blocks:
            res = res * 2 if up else res
            self.blocks.append(SRBlock(in_ch, int(width), w_dim, bool(up), res, conv_clamp))
            in_ch = int(width)
        self.output_resolution = res

    def _resize(self, x: Tensor) -> Tensor:
        if x.shape[-1] == self.input_resolution:
            return x
        size = (self.input_resolution, self.input_resolution)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=self.antialias)

    def forward(self, rgb: Tensor, features: Tensor, w: Tensor, noise_mode: str = "none") -> Tensor:
        """``rgb [B, 3, h, w]``, ``features [B, C, h, w]``, ``w [B, w_dim]`` -> ``[B, 3, out, out]``."""
        x, img = self._resize(features), self._resize(rgb)
        for block in self.blocks:
            x, img = block(x, img, w, noise_mode)
        return img
