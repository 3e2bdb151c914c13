"""The Stage-3 networks, sized as GAN2Shape: depth/albedo encoder-decoders, view/light encoders, offset encoder.

All three families halve the resolution with strided 4x4 convolutions down to 4x4, then a 4x4 "valid" convolution
to 1x1. A 64 px input needs four halvings; every doubling of the input size adds one more halving stage
(``extra = log2(size) - 6``) and doubles the channels after the fourth stage. ``nf = max(4096 // size, 16)`` in
GAN2Shape (32 at 128 px, 64 at 64 px), see :func:`default_width`.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError


def default_width(image_size: int) -> int:
    """GAN2Shape's base width ``nf = max(4096 // image_size, 16)``."""
    return max(4096 // int(image_size), 16)


def default_group_base(image_size: int) -> int:
    """GAN2Shape's GroupNorm base: 8 groups at >= 128 px, else 16."""
    return 8 if image_size >= 128 else 16


def _extra_stages(image_size: int) -> int:
    log = math.log2(image_size)
    if log != int(log) or image_size < 16:
        raise ConfigError(f"VLDA networks need a power-of-two image size >= 16, got {image_size}.")
    # below 64 px we drop halving stages instead of adding them (a negative "extra")
    return int(log) - 6


def _down(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=4, stride=2, padding=1, bias=False)


def _up(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1, bias=False)


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=k // 2, bias=False)


def _channels(nf: int, image_size: int) -> list[int]:
    """Output channels of each halving stage, from the input side, ending at the 4x4 feature map."""
    stages = int(math.log2(image_size)) - 2  # halvings from image_size to 4
    chans = [nf * 2 ** min(i, 3) for i in range(min(stages, 4))]
    for _ in range(stages - 4):  # beyond 64 px: keep doubling the width
        chans.append(chans[-1] * 2)
    return chans


class EDDeconv(nn.Module):
    """Encoder-decoder predicting a per-pixel map (canonical depth or albedo) from an image.

    Encoder: strided 4x4 convs with GroupNorm + LeakyReLU(0.2) down to 4x4, a 4x4 conv to a ``zdim`` bottleneck
    (ReLU). Decoder: 4x4 transposed convs, each followed by a 3x3 conv (GroupNorm + ReLU), back to half resolution,
    then a nearest x2 upsampling, a 3x3 and a 5x5 conv, and a 5x5 conv to ``cout``.

    Args:
        cin: input channels.
        cout: output channels (1 for depth, 3 for albedo).
        image_size: input side (power of two >= 16).
        zdim: bottleneck size (256 for depth and albedo in GAN2Shape).
        nf: base width; ``None`` = :func:`default_width`.
        group_base: GroupNorm groups of the first stage; ``None`` = :func:`default_group_base`.
        activation: ``"tanh"`` or ``"none"`` on the output.
    """

    def __init__(
        self,
        cin: int = 3,
        cout: int = 1,
        image_size: int = 64,
        zdim: int = 256,
        nf: int | None = None,
        group_base: int | None = None,
        activation: str = "none",
    ) -> None:
        super().__init__()
        _extra_stages(image_size)
        nf = default_width(image_size) if nf is None else nf
        gb = default_group_base(image_size) if group_base is None else group_base
        chans = _channels(nf, image_size)
        groups = [min(gb * 2 ** min(i, 3), c) for i, c in enumerate(chans)]
        layers: list[nn.Module] = []
        cprev = cin
        for i, (c, g) in enumerate(zip(chans, groups)):
            layers.append(_down(cprev, c))
            if i < len(chans) - 1:  # the last halving goes straight to the bottleneck (no norm)
                layers += [nn.GroupNorm(g, c), nn.LeakyReLU(0.2, inplace=True)]
            cprev = c
        layers += [
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(cprev, zdim, kernel_size=4, stride=1, padding=0, bias=False),  # 4x4 -> 1x1
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(zdim, cprev, kernel_size=4, stride=1, padding=0, bias=False),  # 1x1 -> 4x4
            nn.ReLU(inplace=True),
            _conv(cprev, cprev),
            nn.ReLU(inplace=True),
        ]
        # decoder mirrors the encoder from 4x4 up to half resolution: channels chans[-2], ..., chans[0]
        for c, g in zip(reversed(chans[:-1]), reversed(groups[:-1])):
            layers += [_up(cprev, c), nn.GroupNorm(g, c), nn.ReLU(inplace=True)]
            layers += [_conv(c, c), nn.GroupNorm(g, c), nn.ReLU(inplace=True)]
            cprev = c
        layers += [
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(cprev, cprev),
            nn.GroupNorm(groups[0], cprev),
            nn.ReLU(inplace=True),
            _conv(cprev, cprev, 5),
            nn.GroupNorm(groups[0], cprev),
            nn.ReLU(inplace=True),
            _conv(cprev, cout, 5),
        ]
        if activation == "tanh":
            layers.append(nn.Tanh())
        elif activation != "none":
            raise ConfigError(f"EDDeconv activation must be 'tanh' or 'none', got {activation!r}.")
        self.network = nn.Sequential(*layers)
        self.image_size = image_size

    def forward(self, image: Tensor) -> Tensor:
        """``[B, cin, S, S]`` -> ``[B, cout, S, S]``."""
        return self.network(image)


class Encoder(nn.Module):
    """Image to a vector (viewpoint 6-D or lighting 4-D): strided 4x4 convs + ReLU to 4x4, 4x4 conv, 1x1 conv.

    The last convolution starts at zero so a fresh network predicts the canonical view/light (``tanh(0) = 0``);
    GAN2Shape starts these networks from a pre-trained checkpoint instead, which is not public.

    Args:
        cin: input channels.
        cout: output size.
        image_size: input side (power of two >= 16).
        nf: base width; ``None`` = :func:`default_width`.
        activation: ``"tanh"`` or ``"none"``.
        zero_init_last: start the last layer at zero (canonical prediction).
    """

    def __init__(
        self,
        cin: int = 3,
        cout: int = 6,
        image_size: int = 64,
        nf: int | None = None,
        activation: str = "tanh",
        zero_init_last: bool = True,
    ) -> None:
        super().__init__()
        _extra_stages(image_size)
        nf = default_width(image_size) if nf is None else nf
        layers: list[nn.Module] = []
        cprev = cin
        for c in _channels(nf, image_size):
            layers += [_down(cprev, c), nn.ReLU(inplace=True)]
            cprev = c
        last = nn.Conv2d(cprev, cout, kernel_size=1, bias=False)
        if zero_init_last:
            nn.init.zeros_(last.weight)
        layers += [nn.Conv2d(cprev, cprev, kernel_size=4, stride=1, padding=0, bias=False), nn.ReLU(inplace=True), last]
        if activation == "tanh":
            layers.append(nn.Tanh())
        elif activation != "none":
            raise ConfigError(f"Encoder activation must be 'tanh' or 'none', got {activation!r}.")
        self.network = nn.Sequential(*layers)

    def forward(self, image: Tensor) -> Tensor:
        """``[B, cin, S, S]`` -> ``[B, cout]``."""
        return self.network(image).flatten(1)


class ResBlockDown(nn.Module):
    """Pre-activation residual block that halves the resolution (3x3 stride-2 conv, 3x3 conv; avg-pool shortcut).

    Args:
        cin: input channels.
        cout: output channels (a 1x1 conv matches the shortcut when they differ).
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, stride=2, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=3, stride=1, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, kernel_size=1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        return self.shortcut(F.avg_pool2d(x, 2)) + h


class ResEncoder(nn.Module):
    """The offset encoder E: image to a vector in the mapping network's hidden space (512-D, no activation).

    A 4x4 stride-2 conv, residual down blocks to 4x4, ReLU, a 4x4 conv to ``16 nf`` and a 1x1 conv to ``cout``.

    Args:
        cin: input channels.
        cout: output size (the StyleGAN2 style dimension).
        image_size: input side (power of two >= 16).
        nf: base width (GAN2Shape uses 32 at every size).
    """

    def __init__(self, cin: int = 3, cout: int = 512, image_size: int = 128, nf: int = 32) -> None:
        super().__init__()
        _extra_stages(image_size)
        chans = _channels(nf, image_size)
        layers: list[nn.Module] = [_down(cin, chans[0])]
        for cprev, c in zip(chans[:-1], chans[1:]):
            layers.append(ResBlockDown(cprev, c))
        cprev = chans[-1]
        layers += [
            nn.ReLU(inplace=True),
            nn.Conv2d(cprev, 2 * cprev, kernel_size=4, stride=1, padding=0, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * cprev, cout, kernel_size=1, bias=False),
        ]
        self.network = nn.Sequential(*layers)

    def forward(self, image: Tensor) -> Tensor:
        """``[B, cin, S, S]`` -> ``[B, cout]``."""
        return self.network(image).flatten(1)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())
