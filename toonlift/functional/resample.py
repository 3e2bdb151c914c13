"""FIR resampling (``upfirdn2d``): fast depthwise-convolution ops and slow, obviously correct reference ops.

``upfirdn2d(x, k, up, down, pad)`` is the resampling primitive of StyleGAN2: insert ``up - 1`` zeros between
pixels, pad (negative pads crop), convolve every channel with the 2D FIR kernel ``k`` (a true convolution, i.e.
correlation with the flipped kernel), then keep every ``down``-th pixel. Output side:
``(H * up + pad0 + pad1 - kh) // down + 1``.

The fast path folds the zero insertion into the stride of a depthwise *transposed* convolution and the decimation
into the stride of a depthwise convolution, so no zero-stuffed or full-resolution intermediate is ever built and
nothing is reshaped to a one-channel batch (the reference ``upfirdn2d_native`` of rosinality does both). Kernels are
expanded to ``[C, 1, kh, kw]`` as views, never rebuilt.

The ``*_ref`` functions are written for clarity only: explicit zero insertion, explicit padding and a loop over the
kernel taps. Tests compare the fast ops against them in float64, forward and backward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

Pad = Sequence[int]


def fir_kernel_2d(taps: Sequence[float] | Tensor, gain: float = 1.0) -> Tensor:
    """A normalised 2D FIR kernel: outer product of 1D ``taps`` (or a 2D kernel as is), summing to ``gain``.

    ``[1, 3, 3, 1]`` gives StyleGAN2's 4x4 blur kernel; upsampling by 2 uses ``gain=4`` so the average level is kept.
    """
    k = torch.as_tensor(taps, dtype=torch.float32)
    if k.dim() == 1:
        k = k[None, :] * k[:, None]
    if k.dim() != 2:
        raise ValueError(f"FIR taps must be 1D or 2D, got shape {tuple(k.shape)}")
    return k / k.sum() * gain


def _pad4(pad: Pad) -> tuple[int, int, int, int]:
    """``(p0, p1)`` for both axes, or ``(x0, x1, y0, y1)``."""
    pad = tuple(int(p) for p in pad)
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad  # type: ignore[return-value]
    raise ValueError(f"pad must have 2 or 4 entries, got {pad}")


def upfirdn2d_output_size(size: int, kernel_size: int, up: int, down: int, pad0: int, pad1: int) -> int:
    """Output side of :func:`upfirdn2d` along one axis."""
    return (size * up + pad0 + pad1 - kernel_size) // down + 1


# ------------------------------------------------------------------------------------------------ reference ops
def upfirdn2d_ref(x: Tensor, kernel: Tensor, up: int = 1, down: int = 1, pad: Pad = (0, 0)) -> Tensor:
    """Slow, obviously correct ``upfirdn2d`` (for tests only).

    Args:
        x: ``[B, C, H, W]``.
        kernel: ``[kh, kw]`` FIR kernel (applied as a true convolution: flipped, then correlated).
        up: zero-insertion factor.
        down: decimation factor.
        pad: ``(p0, p1)`` or ``(x0, x1, y0, y1)``; negative values crop.
    """
    x0, x1, y0, y1 = _pad4(pad)
    b, c, h, w = x.shape
    # 1. zero insertion: the input pixel (i, j) lands at (i * up, j * up)
    u = x.new_zeros(b, c, h * up, w * up)
    u[:, :, ::up, ::up] = x
    # 2. pad / crop each side independently
    u = F.pad(u, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    u = u[:, :, max(-y0, 0) : u.shape[2] - max(-y1, 0), max(-x0, 0) : u.shape[3] - max(-x1, 0)]
    # 3. true convolution: out[i, j] = sum_{s, t} u[i + s, j + t] * kernel[kh - 1 - s, kw - 1 - t]
    kh, kw = kernel.shape
    flipped = kernel.flip(0, 1).to(x)
    oh, ow = u.shape[2] - kh + 1, u.shape[3] - kw + 1
    out = x.new_zeros(b, c, oh, ow)
    for s in range(kh):
        for t in range(kw):
            out = out + u[:, :, s : s + oh, t : t + ow] * flipped[s, t]
    # 4. decimation
    return out[:, :, ::down, ::down]


def conv_transpose2d_ref(x: Tensor, weight: Tensor, stride: int = 1, padding: int = 0) -> Tensor:
    """Slow transposed convolution by scattering every input pixel (for tests of the folded up-convolution).

    Args:
        x: ``[B, Cin, H, W]``.
        weight: ``[Cin, Cout, kh, kw]`` (PyTorch's transposed-convolution layout).
        stride: upsampling stride.
        padding: rows/columns cropped from every side of the full output.
    """
    b, cin, h, w = x.shape
    _, cout, kh, kw = weight.shape
    full = x.new_zeros(b, cout, (h - 1) * stride + kh, (w - 1) * stride + kw)
    for i in range(h):
        for j in range(w):
            # [B, Cin] x [Cin, Cout, kh, kw] -> [B, Cout, kh, kw]
            patch = torch.einsum("bc,cokl->bokl", x[:, :, i, j], weight)
            full[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += patch
    if padding:
        full = full[:, :, padding:-padding, padding:-padding]
    return full


# ------------------------------------------------------------------------------------------------ fast ops
def _depthwise(kernel: Tensor, channels: int, x: Tensor) -> Tensor:
    """``[C, 1, kh, kw]`` view of a ``[kh, kw]`` kernel in ``x``'s dtype and device."""
    k = kernel.to(dtype=x.dtype, device=x.device)
    return k[None, None].expand(channels, 1, *k.shape)


def upfirdn2d(x: Tensor, kernel: Tensor, up: int = 1, down: int = 1, pad: Pad = (0, 0)) -> Tensor:
    """Fast ``upfirdn2d`` with depthwise (transposed) convolutions; same result as :func:`upfirdn2d_ref`.

    Args:
        x: ``[B, C, H, W]``.
        kernel: ``[kh, kw]`` FIR kernel.
        up: zero-insertion factor (folded into the stride of a transposed convolution).
        down: decimation factor (folded into the stride of a convolution when ``up == 1``).
        pad: ``(p0, p1)`` or ``(x0, x1, y0, y1)``; negative values crop.
    """
    x0, x1, y0, y1 = _pad4(pad)
    c = x.shape[1]
    kh, kw = kernel.shape
    weight = _depthwise(kernel, c, x)
    if up == 1:
        # pad (negative pads crop), then correlate with the flipped kernel at stride ``down``
        if x0 == x1 == y0 == y1 >= 0:  # symmetric: let the convolution pad (no padded copy)
            return F.conv2d(x, weight.flip(2, 3), stride=down, padding=x0, groups=c)
        x = F.pad(x, [x0, x1, y0, y1])
        return F.conv2d(x, weight.flip(2, 3), stride=down, groups=c)
    # Transposed convolution with the kernel itself scatters every input pixel: full[n] = sum_i x[i] k[n - up*i]
    # and upfirdn2d's out[j] = full[j + kh - 1 - p0]. Crop that window (symmetric crops go into ``padding``).
    h, w = x.shape[2:]
    oh, ow = h * up + y0 + y1 - kh + 1, w * up + x0 + x1 - kw + 1
    start_y, start_x = kh - 1 - y0, kw - 1 - x0
    full_h, full_w = (h - 1) * up + kh, (w - 1) * up + kw
    end_y, end_x = full_h - (start_y + oh), full_w - (start_x + ow)  # rows/cols left over after the window
    p = min(start_y, start_x, end_y, end_x)
    p = max(p, 0)
    out = F.conv_transpose2d(x, weight, stride=up, padding=p, groups=c)
    # remaining (possibly negative = zero padding) crops per side
    out = F.pad(out, [-(start_x - p), -(end_x - p), -(start_y - p), -(end_y - p)])
    if down > 1:
        out = out[:, :, ::down, ::down]
    return out


def blur2d(x: Tensor, kernel: Tensor, pad: Pad) -> Tensor:
    """FIR filtering without resampling (``upfirdn2d`` with ``up = down = 1``)."""
    return upfirdn2d(x, kernel, pad=pad)


def upsample2d(x: Tensor, kernel: Tensor, factor: int = 2) -> Tensor:
    """StyleGAN2's FIR upsampling: ``[B, C, H, W] -> [B, C, factor*H, factor*W]`` (``kernel`` carries the gain)."""
    p = kernel.shape[0] - factor
    return upfirdn2d(x, kernel, up=factor, pad=((p + 1) // 2 + factor - 1, p // 2))


def downsample2d(x: Tensor, kernel: Tensor, factor: int = 2) -> Tensor:
    """StyleGAN2's FIR downsampling: ``[B, C, H, W] -> [B, C, H/factor, W/factor]``."""
    p = kernel.shape[0] - factor
    return upfirdn2d(x, kernel, down=factor, pad=((p + 1) // 2, p // 2))
