"""EG3D's dual discriminator (registry name ``eg3d_dual``): image and upsampled neural render, camera-conditioned.

The super-resolved image ``[B, 3, H, W]`` and the raw neural render, resized to ``H`` (bilinear, antialiased), are
concatenated to 6 channels and scored by StyleGAN2's residual discriminator (fromRGB, residual blocks down to 4 px,
minibatch standard deviation, conv, FC). The camera is mapped by an 8-layer MLP to ``cmap`` and the logit is the
projection ``<out, cmap> / sqrt(cmap_dim)``; ``disc_c_noise`` adds Gaussian noise of that many batch standard
deviations to the camera first (EG3D's guard against memorised poses). Convolution outputs are clamped to +-256 as
EG3D's (fp16) discriminator does. For real images without a raw render, the raw input is the image downsampled to
``raw_resolution`` (as EG3D's loss builds it).
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
from toonlift.functional.modconv import bias_leaky_relu
from toonlift.functional.resample import fir_kernel_2d, upfirdn2d
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.eg3d.camera import COND_DIM, orbit_cond
from toonlift.plugins.eg3d.mapping import CameraMapping
from toonlift.plugins.stylegan2.layers import BLUR_TAPS, EqualLinear


def resize(x: Tensor, size: int) -> Tensor:
    """EG3D's ``filtered_resizing`` in its default (antialiased bilinear) mode."""
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class DConv(nn.Module):
    """Equalised-lr convolution ``weight [O, I, k, k]``, ``bias [O]``, optional FIR-filtered stride 2, optional
    leaky ReLU, output times ``gain`` and clamped to ``+-clamp * gain`` (StyleGAN2-ADA's ``Conv2dLayer``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel side.
        down: halve the resolution ([1, 3, 3, 1] filter then stride 2).
        bias: learn a bias.
        activate: leaky ReLU(0.2) * sqrt(2).
        clamp: output clamp, ``None`` for none.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        down: bool = False,
        bias: bool = True,
        activate: bool = True,
        clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.down, self.activate, self.clamp, self.k = down, activate, clamp, kernel_size
        if down:
            self.register_buffer("resample_kernel", fir_kernel_2d(BLUR_TAPS), persistent=False)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        w = self.weight * self.scale
        if self.down and self.k == 1:
            x = F.conv2d(upfirdn2d(x, self.resample_kernel.to(x), down=2, pad=(1, 1)), w)
        elif self.down:
            pad = (len(BLUR_TAPS) - 2 + self.k - 1) // 2  # 2 for a 3x3 kernel
            x = F.conv2d(upfirdn2d(x, self.resample_kernel.to(x), pad=(pad, pad)), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.k // 2)
        if self.activate:
            x = bias_leaky_relu(x, self.bias, gain=math.sqrt(2.0) * gain)
        else:
            x = x if self.bias is None else x + self.bias.view(1, -1, 1, 1)
            x = x * gain if gain != 1 else x
        if self.clamp is not None:
            x = x.clamp(-self.clamp * gain, self.clamp * gain)
        return x


class DBlock(nn.Module):
    """Residual block: conv 3x3, conv 3x3 down, plus a 1x1 down skip, each branch scaled by sqrt(1/2)."""

    def __init__(self, tmp_channels: int, out_channels: int, clamp: float | None) -> None:
        super().__init__()
        self.conv0 = DConv(tmp_channels, tmp_channels, 3, clamp=clamp)
        self.conv1 = DConv(tmp_channels, out_channels, 3, down=True, clamp=clamp)
        self.skip = DConv(tmp_channels, out_channels, 1, down=True, bias=False, activate=False)

    def forward(self, x: Tensor) -> Tensor:
        g = math.sqrt(0.5)
        return self.skip(x, gain=g) + self.conv1(self.conv0(x), gain=g)


class Epilogue(nn.Module):
    """Minibatch stddev, conv 3x3, FC, output FC (to ``cmap_dim`` or 1)."""

    def __init__(self, channels: int, cmap_dim: int, group: int, clamp: float | None) -> None:
        super().__init__()
        self.group = group
        self.conv = DConv(channels + 1, channels, 3, clamp=clamp)
        self.fc = EqualLinear(channels * 16, channels, activation=True)
        self.out = EqualLinear(channels, max(cmap_dim, 1))

    def minibatch_std(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        y = x.reshape(g, -1, 1, c, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.minibatch_std(x))
        return self.out(self.fc(x.flatten(1)))


class EG3DDualDiscriminator(Discriminator):
    """EG3D's ``DualDiscriminator`` (resnet architecture) with toonlift parameter names.

    Args:
        resolution: image side (power of two, 8-1024).
        raw_resolution: neural render side used for real images given without ``image_raw``.
        channel_base: widths ``min(channel_max, channel_base // res)``.
        channel_max: cap on the widths.
        cmap_dim: camera embedding size (default: the 4 px width).
        mapping_layers: depth of the camera mapping (EG3D: 8).
        conv_clamp: clamp of convolution outputs (EG3D: 256).
        mbstd_group: minibatch standard deviation group.
        disc_c_noise: camera noise in batch standard deviations (EG3D's ``--disc_c_noise``).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"resolution": 16, "raw_resolution": 8, "channel_base": 128, "channel_max": 16, "mapping_layers": 2}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        """``(images [batch, 3, H, W], cameras [batch, 25])``: random images seen from orbit cameras."""
        gen = torch.Generator().manual_seed(0)
        image = torch.rand(batch, 3, self.resolution, self.resolution, generator=gen) * 2 - 1
        yaw = (torch.rand(batch, generator=gen) * 2 - 1) * 0.5
        return image, orbit_cond(yaw, torch.zeros(batch), 2.7, look_at=(0.0, 0.0, 0.2)).to(image.dtype)

    def __init__(
        self,
        resolution: int = 512,
        raw_resolution: int = 128,
        channel_base: int = 32768,
        channel_max: int = 512,
        cmap_dim: int | None = None,
        mapping_layers: int = 8,
        conv_clamp: float | None = 256.0,
        mbstd_group: int = 4,
        disc_c_noise: float = 0.0,
    ) -> None:
        super().__init__()
        if not isinstance(resolution, int) or resolution < 8 or resolution > 1024 or resolution & (resolution - 1):
            raise ConfigError(f"EG3D discriminator resolution must be a power of two in [8, 1024], got {resolution!r}.")
        ch = {
            r: max(1, min(channel_max, channel_base // r))
            for r in (2**k for k in range(2, int(math.log2(resolution)) + 1))
        }
        cmap_dim = ch[4] if cmap_dim is None else cmap_dim
        self._arch = {
            "resolution": resolution, "raw_resolution": raw_resolution, "channel_base": channel_base,
            "channel_max": channel_max, "cmap_dim": cmap_dim, "mapping_layers": mapping_layers,
            "conv_clamp": conv_clamp, "mbstd_group": mbstd_group, "disc_c_noise": float(disc_c_noise),
        }  # fmt: skip
        self.fromrgb = DConv(6, ch[resolution], 1, clamp=conv_clamp)
        self.blocks = nn.ModuleList(
            DBlock(ch[r], ch[r // 2], conv_clamp) for r in (2**k for k in range(int(math.log2(resolution)), 2, -1))
        )
        self.epilogue = Epilogue(ch[4], cmap_dim, mbstd_group, conv_clamp)
        self.mapping = CameraMapping(0, COND_DIM, cmap_dim, mapping_layers, track_w_avg=False)

    @property
    def resolution(self) -> int:
        return self._arch["resolution"]

    @property
    def cond_dim(self) -> int:
        return COND_DIM

    def arch_args(self) -> dict[str, Any]:
        """Constructor arguments that fix the architecture."""
        return dict(self._arch)

    def _input(self, image: Tensor, image_raw: Tensor | None) -> Tensor:
        raw = resize(image, self._arch["raw_resolution"]) if image_raw is None else image_raw
        return torch.cat([image, resize(raw, image.shape[-1])], dim=1)

    def forward(self, image: Tensor, cond: Tensor | None = None, image_raw: Tensor | None = None) -> Tensor:
        """Logits ``[B, 1]`` of images ``[B, 3, H, W]``, cameras ``[B, 25]`` and raw renders ``[B, 3, h, h]``."""
        if cond is None or cond.dim() != 2 or cond.shape[1] != COND_DIM:
            raise ConfigError(
                "The EG3D dual discriminator is camera-conditioned: call it with the cameras [B, 25] of the images "
                f"(got {None if cond is None else tuple(cond.shape)})."
            )
        x = self.fromrgb(self._input(image, image_raw))
        for block in self.blocks:
            x = block(x)
        out = self.epilogue(x)
        c = cond.to(out.dtype)
        if self._arch["disc_c_noise"] > 0 and self.training:
            c = c + torch.randn_like(c) * c.std(0) * self._arch["disc_c_noise"]
        cmap = self.mapping(None, c)
        return (out * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(cmap.shape[1]))

    def block_features(self, image: Tensor, num_blocks: int, image_raw: Tensor | None = None) -> list[Tensor]:
        """Outputs of the first ``num_blocks`` residual blocks."""
        if not 1 <= num_blocks <= len(self.blocks):
            raise ConfigError(
                f"num_blocks must be in [1, {len(self.blocks)}] for this discriminator, got {num_blocks}."
            )
        x, feats = self.fromrgb(self._input(image, image_raw)), []
        for block in self.blocks[:num_blocks]:
            x = block(x)
            feats.append(x)
        return feats

    def feature_block_count(self) -> int:
        """How many blocks :meth:`block_features` can return."""
        return len(self.blocks)

    def block_parameters(self, num_blocks: int) -> Iterator[nn.Parameter]:
        """Parameters of fromRGB and the first ``num_blocks`` blocks (FreezeD)."""
        yield from self.fromrgb.parameters()
        for block in self.blocks[:num_blocks]:
            yield from block.parameters()


def discriminator_arch_from_eg3d(D: Any) -> dict[str, Any]:  # noqa: N803 - NVlabs name
    """``EG3DDualDiscriminator`` arguments of an unpickled NVlabs ``DualDiscriminator``."""
    init = dict(getattr(D, "init_kwargs", {}) or {})
    clamp = getattr(D.b4.conv, "conv_clamp", None)
    return {
        "resolution": int(D.img_resolution),
        "raw_resolution": int(init.get("raw_resolution", 64)),
        "channel_base": int(init.get("channel_base", 32768)),
        "channel_max": int(init.get("channel_max", 512)),
        "cmap_dim": int(D.b4.cmap_dim),
        "mapping_layers": int(D.mapping.num_layers),
        "conv_clamp": None if clamp is None else float(clamp),
        "mbstd_group": int(D.b4.mbstd.group_size),
        "disc_c_noise": float(getattr(D, "disc_c_noise", 0.0)),
    }
