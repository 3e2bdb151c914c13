"""Fast FIR resampling and modulated convolution against slow reference implementations (float64)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from toonlift.functional.modconv import modulated_conv2d
from toonlift.functional.resample import (
    conv_transpose2d_ref,
    downsample2d,
    fir_kernel_2d,
    upfirdn2d,
    upfirdn2d_ref,
    upsample2d,
)

CASES = [
    (1, 1, (1, 1)),  # blur after the up-conv
    (1, 1, (2, 2)),  # discriminator blur before a 3x3 stride-2 conv
    (2, 1, (2, 1)),  # ToRGB skip upsampling
    (1, 2, (1, 1)),  # downsampling
    (2, 2, (1, 2)),
    (2, 1, (-1, 3)),  # crop on one side
    (3, 1, (4, 2)),
    (1, 1, (0, 0, 2, -1)),  # per-axis pads
]


@pytest.mark.parametrize(("up", "down", "pad"), CASES)
def test_upfirdn2d_matches_reference_forward_and_backward(up: int, down: int, pad: tuple) -> None:
    g = torch.Generator().manual_seed(0)
    kernel = torch.rand(4, 4, generator=g, dtype=torch.float64)  # asymmetric: catches a missing flip
    x = torch.randn(2, 3, 7, 9, generator=g, dtype=torch.float64, requires_grad=True)
    fast, ref = upfirdn2d(x, kernel, up, down, pad), upfirdn2d_ref(x, kernel, up, down, pad)
    assert fast.shape == ref.shape
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-12)
    grad_out = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    (g_fast,) = torch.autograd.grad(fast, x, grad_out)
    (g_ref,) = torch.autograd.grad(ref, x, grad_out)
    torch.testing.assert_close(g_fast, g_ref, rtol=0, atol=1e-12)


def test_upfirdn2d_channels_last_input() -> None:
    k = fir_kernel_2d([1, 3, 3, 1], gain=4.0).double()
    x = torch.randn(2, 5, 6, 6, dtype=torch.float64)
    xc = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(upfirdn2d(xc, k, pad=(1, 1)), upfirdn2d_ref(x, k, pad=(1, 1)), rtol=0, atol=1e-12)


def test_fir_kernel_is_stylegan2_blur() -> None:
    k = fir_kernel_2d([1, 3, 3, 1])
    assert k.shape == (4, 4)
    torch.testing.assert_close(k.sum(), torch.tensor(1.0))
    torch.testing.assert_close(k[0, 0], torch.tensor(1 / 64))


def test_up_and_down_sampling_sizes_and_dc_gain() -> None:
    x = torch.ones(1, 2, 8, 8, dtype=torch.float64)
    up = upsample2d(x, fir_kernel_2d([1, 3, 3, 1], gain=4.0).double())
    down = downsample2d(x, fir_kernel_2d([1, 3, 3, 1]).double())
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    # interior pixels keep a constant image constant (borders see the zero padding)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.ones_like(up[..., 2:-2, 2:-2]))
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.ones_like(down[..., 1:-1, 1:-1]))


def test_conv_transpose_reference_matches_torch() -> None:
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    w = torch.randn(3, 4, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(conv_transpose2d_ref(x, w, stride=2), F.conv_transpose2d(x, w, stride=2))


def _modconv_reference(x, weight, styles, demodulate, upsample, blur):
    """Per sample: build the modulated kernel explicitly, slow transposed conv / conv, reference blur."""
    outs = []
    for b in range(x.shape[0]):
        w = weight * styles[b].view(1, -1, 1, 1)
        if demodulate:
            w = w / torch.sqrt(w.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8)
        if upsample:
            o = conv_transpose2d_ref(x[b : b + 1], w.transpose(0, 1), stride=2)
            o = upfirdn2d_ref(o, blur, pad=(1, 1))
        else:
            o = F.conv2d(x[b : b + 1], w, padding=weight.shape[-1] // 2)
        outs.append(o)
    return torch.cat(outs)


@pytest.mark.parametrize("upsample", [False, True])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv2d_matches_reference(upsample: bool, fused: bool, demodulate: bool) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    styles = (torch.randn(3, 4, generator=g, dtype=torch.float64) + 1).requires_grad_(True)
    blur = fir_kernel_2d([1, 3, 3, 1], gain=4.0).double()
    out = modulated_conv2d(x, weight, styles, demodulate, upsample, blur, (1, 1), fused=fused)
    ref = _modconv_reference(x, weight, styles, demodulate, upsample, blur)
    assert out.shape == ((3, 6, 10, 10) if upsample else (3, 6, 5, 5))
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    go = torch.randn(out.shape, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad(out, (x, weight, styles), go)
    grads_ref = torch.autograd.grad(ref, (x, weight, styles), go)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
