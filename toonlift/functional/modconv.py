"""StyleGAN2's modulated convolution (Karras et al. 2020, Eq. 1-3) and bias + scaled leaky ReLU, as pure functions.

Two exact formulations of the same operator are offered:

* **grouped** (``fused=True``, rosinality's default): build one modulated, demodulated kernel per sample
  ``[B * Cout, Cin, k, k]`` and run a single grouped convolution with ``groups=B``.
* **activation-modulated** (``fused=False``): scale the input channels by the style, run one ordinary convolution
  with the *shared* weight, and multiply the output channels by the demodulation coefficients. No per-sample kernel
  is built, and the convolution is a plain batched one, which is what CPU (oneDNN) and GPU (cuDNN) libraries are
  fastest at. This is the default for batches larger than one.

Both give the same result up to float rounding (tested). The upsampling variant runs a stride-2 transposed
convolution and then the FIR blur (the demodulation is a per-channel scale, so it commutes with the blur).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.functional.resample import upfirdn2d

DEMOD_EPS = 1e-8  # rosinality / NVlabs: rsqrt(sum w^2 + 1e-8)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def bias_leaky_relu(x: Tensor, bias: Tensor | None, gain: float = LRELU_GAIN) -> Tensor:
    """``leaky_relu(x + bias, 0.2) * gain`` with ``bias`` ``[C]`` broadcast over ``x`` ``[B, C, ...]``."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.dim() - 2)))
    return F.leaky_relu(x, LRELU_SLOPE) * gain


def modulated_conv2d_raw(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    upsample: bool = False,
    blur_kernel: Tensor | None = None,
    blur_pad: tuple[int, int] = (1, 1),
    fused: bool | None = None,
) -> tuple[Tensor, Tensor | None]:
    """:func:`modulated_conv2d` without its final per-channel scale: returns ``(out, dcoefs)``.

    ``dcoefs`` ``[B, Cout]`` are the demodulation coefficients still to be multiplied in (``None`` when already
    folded into grouped kernels or when ``demodulate`` is off), so callers can fuse that multiply with what follows.
    """
    batch, in_ch = x.shape[:2]
    out_ch, _, kh, kw = weight.shape
    if fused is None:
        fused = batch == 1
    dcoefs = None
    if fused:
        w = weight[None] * styles.view(batch, 1, in_ch, 1, 1)  # [B, Cout, Cin, k, k]
        if demodulate:
            w = w * torch.rsqrt(w.pow(2).sum([2, 3, 4]) + DEMOD_EPS).view(batch, out_ch, 1, 1, 1)
        xg = x.reshape(1, batch * in_ch, *x.shape[2:])
        if upsample:
            # transposed-conv layout per group: [B * Cin, Cout, k, k]
            wt = w.transpose(1, 2).reshape(batch * in_ch, out_ch, kh, kw)
            out = F.conv_transpose2d(xg, wt, stride=2, groups=batch)
        else:
            out = F.conv2d(xg, w.reshape(batch * out_ch, in_ch, kh, kw), padding=kh // 2, groups=batch)
        out = out.view(batch, out_ch, *out.shape[2:])
    else:
        xs = x * styles.view(batch, in_ch, 1, 1)
        if upsample:
            out = F.conv_transpose2d(xs, weight.transpose(0, 1), stride=2)
        else:
            out = F.conv2d(xs, weight, padding=kh // 2)
        if demodulate:
            # sum_{i,k} (w[o,i,k] s[b,i])^2 = (s^2 @ sum_k w^2 ^T)[b, o]
            wsq = weight.pow(2).sum([2, 3])  # [Cout, Cin]
            dcoefs = torch.rsqrt(styles.pow(2) @ wsq.t() + DEMOD_EPS)  # [B, Cout]
    if upsample:
        if blur_kernel is None:
            raise ValueError("modulated_conv2d(upsample=True) needs the blur kernel")
        # the blur is per channel, so it commutes with the pending demodulation scale
        out = upfirdn2d(out, blur_kernel, pad=blur_pad)
    return out, dcoefs


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    upsample: bool = False,
    blur_kernel: Tensor | None = None,
    blur_pad: tuple[int, int] = (1, 1),
    fused: bool | None = None,
) -> Tensor:
    """Modulated (and demodulated) convolution with 'same' padding, optionally upsampling by 2.

    Args:
        x: input ``[B, Cin, H, W]``.
        weight: effective weight ``[Cout, Cin, k, k]`` (equalised-lr scale already applied).
        styles: per-sample channel scales ``[B, Cin]`` (the affine output ``s``).
        demodulate: divide each output channel by the norm of its modulated kernel (plus ``1e-8``).
        upsample: stride-2 transposed convolution followed by the FIR blur; output ``[B, Cout, 2H, 2W]``.
        blur_kernel: ``[kh, kw]`` FIR kernel (with the upsampling gain) for ``upsample``.
        blur_pad: padding of the blur after the transposed convolution.
        fused: ``True`` grouped per-sample kernels, ``False`` activation modulation, ``None`` picks grouped for a
            batch of one and activation modulation otherwise.
    """
    out, dcoefs = modulated_conv2d_raw(x, weight, styles, demodulate, upsample, blur_kernel, blur_pad, fused)
    if dcoefs is not None:
        out = out * dcoefs.view(*dcoefs.shape, 1, 1)
    return out


def demod_noise_bias_lrelu(
    x: Tensor, dcoefs: Tensor | None, bias: Tensor, noise: Tensor | None, noise_weight: Tensor
) -> Tensor:
    """StyledConv epilogue ``lrelu(x * dcoefs + noise_weight * noise + bias, 0.2) * sqrt(2)`` in two passes.

    The positive gain commutes with the leaky ReLU, so it is folded into the scales: ``base = g*bias + g*w*noise``
    is built at noise size (``[1 or B, C, H, W]`` broadcast), then one ``addcmul`` and an in-place leaky ReLU.

    Args:
        x: convolution output ``[B, C, H, W]``.
        dcoefs: pending demodulation ``[B, C]`` or ``None``.
        bias: ``[C]``.
        noise: ``[1 or B, 1, H, W]`` or ``None``.
        noise_weight: ``[1]`` noise strength.
    """
    g = LRELU_GAIN
    base = (bias * g).view(1, -1, 1, 1)
    if noise is not None:
        base = base + noise * (noise_weight * g)
    if dcoefs is None:
        out = torch.add(base, x, alpha=g)
    else:
        out = torch.addcmul(base, x, (dcoefs * g).view(*dcoefs.shape, 1, 1))
    return F.leaky_relu_(out, LRELU_SLOPE)
