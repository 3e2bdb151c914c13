"""Building blocks of StyleGAN2 with rosinality/stylegan2-pytorch parameter names, shapes and initialisation.

Every module here stores exactly the parameters and buffers of its rosinality namesake (so a checkpoint's state
dict loads strictly) and computes with the fast ops of :mod:`toonlift.functional.resample` and
:mod:`toonlift.functional.modconv`. Equalised learning rate: weights are stored as ``N(0, 1) / lr_mul`` and scaled
by ``lr_mul / sqrt(fan_in)`` at run time (Karras et al. 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.functional.modconv import bias_leaky_relu, demod_noise_bias_lrelu, modulated_conv2d_raw
from toonlift.functional.resample import fir_kernel_2d, upfirdn2d, upsample2d

BLUR_TAPS = (1, 3, 3, 1)


class PixelNorm(nn.Module):
    """Normalise each latent to unit root-mean-square: ``z * rsqrt(mean(z^2) + 1e-8)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate and optional fused bias + leaky ReLU (``style.*``, affines).

    Args:
        in_dim: input features.
        out_dim: output features.
        bias_init: initial bias (1 for the style affines, so styles start at 1).
        lr_mul: learning-rate multiplier (0.01 for the mapping network).
        activation: ``True`` for bias + leaky ReLU(0.2) * sqrt(2) after the product.
    """

    def __init__(
        self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activation: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        if self.activation:
            return bias_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, bias=self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate (the discriminator's convolutions).

    Args:
        in_channel: input channels.
        out_channel: output channels.
        kernel_size: square kernel side.
        stride: convolution stride.
        padding: zero padding.
        bias: learn a bias (only when no activation follows; otherwise the activation holds it).
    """

    def __init__(
        self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channel)) if bias else None
        self.scale = 1.0 / math.sqrt(in_channel * kernel_size**2)
        self.stride = stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride, padding=self.padding)


class FusedLeakyReLU(nn.Module):
    """Per-channel bias, then leaky ReLU(0.2) times sqrt(2) (rosinality's ``activate.bias``).

    Args:
        channel: number of channels (bias size).
    """

    def __init__(self, channel: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel))

    def forward(self, x: Tensor) -> Tensor:
        return bias_leaky_relu(x, self.bias)


class Blur(nn.Module):
    """FIR filter without resampling; the kernel is the persistent buffer ``kernel`` (a checkpoint key).

    Args:
        pad: ``(pad0, pad1)`` on both axes.
        taps: 1D FIR taps.
        gain: kernel sum (4 after a stride-2 transposed convolution).
    """

    def __init__(self, pad: tuple[int, int], taps: Sequence[float] = BLUR_TAPS, gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel_2d(taps, gain))
        self.pad = tuple(pad)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """FIR upsampling by 2 of the skip image (kernel buffer carries the gain of 4, as in rosinality)."""

    def __init__(self, taps: Sequence[float] = BLUR_TAPS) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel_2d(taps, gain=4.0))

    def forward(self, x: Tensor) -> Tensor:
        return upsample2d(x, self.kernel, factor=2)


class ModulatedConv2d(nn.Module):
    """Modulated convolution ``conv.*``: ``weight [1, Cout, Cin, k, k]``, ``modulation`` affine, optional ``blur``.

    Args:
        in_channel: input channels.
        out_channel: output channels.
        kernel_size: square kernel side (3, or 1 for ToRGB).
        style_dim: latent size ``w_dim``.
        demodulate: weight demodulation (False for ToRGB).
        upsample: stride-2 transposed convolution followed by the 4x4 FIR blur.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.in_channel, self.out_channel, self.kernel_size = in_channel, out_channel, kernel_size
        self.upsample, self.demodulate = upsample, demodulate
        if upsample:
            # rosinality: p = (len(taps) - 2) - (k - 1); pads ((p + 1) // 2 + 1, p // 2 + 1)
            p = (len(BLUR_TAPS) - 2) - (kernel_size - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)
        self.scale = 1.0 / math.sqrt(in_channel * kernel_size**2)
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1.0)
        self.fused: bool | None = None  # None: grouped for batch 1, activation modulation otherwise

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        """``x [B, Cin, H, W]``, ``w [B, style_dim]`` -> ``[B, Cout, H', W']``."""
        out, dcoefs = self.forward_raw(x, w)
        return out if dcoefs is None else out * dcoefs.view(*dcoefs.shape, 1, 1)

    def forward_raw(self, x: Tensor, w: Tensor) -> tuple[Tensor, Tensor | None]:
        """Like :meth:`forward` but returns ``(out, dcoefs)`` with the demodulation scale still to apply."""
        styles = self.modulation(w)  # [B, Cin]
        return modulated_conv2d_raw(
            x,
            self.weight[0] * self.scale,
            styles,
            demodulate=self.demodulate,
            upsample=self.upsample,
            blur_kernel=self.blur.kernel if self.upsample else None,
            blur_pad=self.blur.pad if self.upsample else (0, 0),
            fused=self.fused,
        )

    def extra_repr(self) -> str:
        return f"{self.in_channel}, {self.out_channel}, {self.kernel_size}, upsample={self.upsample}"


class NoiseInjection(nn.Module):
    """Adds ``weight * noise`` (``noise.weight [1]``, zero at init)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor | None) -> Tensor:
        if noise is None:
            return x
        return x + self.weight * noise


class ConstantInput(nn.Module):
    """The learned 4x4 input ``input.input [1, C, 4, 4]``."""

    def __init__(self, channel: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, batch: int) -> Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated 3x3 convolution, noise injection, bias + leaky ReLU (``conv``, ``noise``, ``activate``).

    Args:
        in_channel: input channels.
        out_channel: output channels.
        style_dim: latent size.
        upsample: double the resolution first.
    """

    def __init__(self, in_channel: int, out_channel: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None) -> Tensor:
        out, dcoefs = self.conv.forward_raw(x, w)
        return demod_noise_bias_lrelu(out, dcoefs, self.activate.bias, noise, self.noise.weight)


class ToRGB(nn.Module):
    """1x1 modulated convolution to RGB (no demodulation) plus bias, plus the FIR-upsampled skip image.

    Args:
        in_channel: input channels.
        style_dim: latent size.
        upsample: whether a lower-resolution skip image is upsampled and added.
        out_channel: output channels (3 for RGB; e.g. 96 for EG3D's three 32-channel tri-planes).
    """

    def __init__(self, in_channel: int, style_dim: int, upsample: bool = True, out_channel: int = 3) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_channel, out_channel, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

    def forward(self, x: Tensor, w: Tensor, skip: Tensor | None = None) -> Tensor:
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out
