"""Differentiable, per-sample image augmentations for adaptive discriminator augmentation (Karras et al. 2020, ADA).

Every op takes images ``[B, C, H, W]`` in ``[-1, 1]`` and a probability ``p``: each sample independently gets the
op with probability ``p`` (ADA's "each augmentation is applied with probability p"). All ops are differentiable in
the images, because the generator's gradient flows through ``D(augment(G(z)))``; and all draw their randomness from an
explicit ``torch.Generator`` so a training run is reproducible and resumable. The pipeline is ADA's "bgc" subset that
matters most for small data sets: x-flip, 90-degree rotation, integer translation (blit), brightness, contrast,
saturation, plus cutout. Every op is "non-leaking" (invertible in distribution) as long as ``p < 1``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _choose(b: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Boolean mask ``[B]``: which samples get the op."""
    return torch.rand(b, generator=generator, device=device) < p


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, device=device)


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.randn(shape, generator=generator, device=device)


def random_xflip(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each sample horizontally with probability ``p``."""
    on = _choose(x.shape[0], p, generator, x.device).view(-1, 1, 1, 1)
    return torch.where(on, x.flip(-1), x)


def random_rotate90(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Rotate each sample by a uniform multiple of 90 degrees with probability ``p`` (square images only)."""
    b = x.shape[0]
    on = _choose(b, p, generator, x.device)
    k = (_rand((b,), generator, x.device) * 4).floor().long().clamp(max=3) * on.long()  # 0 for untouched samples
    out = x
    for turns in (1, 2, 3):
        sel = (k == turns).view(-1, 1, 1, 1)
        out = torch.where(sel, torch.rot90(x, turns, dims=(-2, -1)), out)
    return out


def _reflect(idx: Tensor, n: int) -> Tensor:
    """Map any integer index into ``[0, n)`` by mirror reflection (``... 2 1 0 1 2 ... n-1 n-2 ...``)."""
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    m = torch.remainder(idx, period)
    return (n - 1) - (m - (n - 1)).abs()


def translate_int(x: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """Shift each sample by integer pixels ``tx[b]`` (right) and ``ty[b]`` (down), reflect-padding the border.

    Args:
        x: ``[B, C, H, W]``.
        tx: ``[B]`` integer shifts along x.
        ty: ``[B]`` integer shifts along y.
    """
    b, c, h, w = x.shape
    cols = _reflect(torch.arange(w, device=x.device).view(1, w) - tx.view(b, 1), w)  # [B, W]
    rows = _reflect(torch.arange(h, device=x.device).view(1, h) - ty.view(b, 1), h)  # [B, H]
    out = x.gather(3, cols.view(b, 1, 1, w).expand(b, c, h, w))
    return out.gather(2, rows.view(b, 1, h, 1).expand(b, c, h, w))


def random_translate_int(
    x: Tensor, p: float, max_fraction: float = 0.125, generator: torch.Generator | None = None
) -> Tensor:
    """Integer translation by up to ``max_fraction`` of the image size (ADA ``xint_max = 0.125``), probability ``p``."""
    b, _, h, w = x.shape
    on = _choose(b, p, generator, x.device).float()
    t = (_rand((b, 2), generator, x.device) * 2 - 1) * max_fraction  # [B, 2] in [-max, max]
    tx = torch.round(t[:, 0] * w * on).long()
    ty = torch.round(t[:, 1] * h * on).long()
    return translate_int(x, tx, ty)


def random_brightness(x: Tensor, p: float, std: float = 0.2, generator: torch.Generator | None = None) -> Tensor:
    """Add ``N(0, std)`` to all channels of each chosen sample (ADA brightness, in ``[-1, 1]`` units doubled)."""
    b = x.shape[0]
    on = _choose(b, p, generator, x.device).to(x.dtype)
    shift = _randn((b,), generator, x.device).to(x.dtype) * std * 2.0 * on  # ADA works in [0,1]-ish units
    return x + shift.view(b, 1, 1, 1)


def random_contrast(x: Tensor, p: float, std: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Scale each chosen sample's deviation from its mean by ``lognormal(0, std * ln 2)`` (ADA contrast)."""
    b = x.shape[0]
    on = _choose(b, p, generator, x.device).to(x.dtype)
    factor = torch.exp2(_randn((b,), generator, x.device).to(x.dtype) * std * on).view(b, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor + mean


def random_saturation(x: Tensor, p: float, std: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Scale each chosen sample's chroma (deviation from per-pixel grey) by ``lognormal(0, std * ln 2)``."""
    b = x.shape[0]
    on = _choose(b, p, generator, x.device).to(x.dtype)
    factor = torch.exp2(_randn((b,), generator, x.device).to(x.dtype) * std * on).view(b, 1, 1, 1)
    grey = x.mean(dim=1, keepdim=True)  # [B, 1, H, W] (ADA uses the luma axis (1,1,1)/sqrt(3): the same grey)
    return (x - grey) * factor + grey


def random_cutout(x: Tensor, p: float, size: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Zero a square of side ``size`` (fraction of the image) at a uniform centre, probability ``p`` (ADA cutout)."""
    b, _, h, w = x.shape
    on = _choose(b, p, generator, x.device).view(b, 1, 1, 1)
    centre = _rand((b, 2), generator, x.device)  # [B, 2] in [0, 1)
    ys = (torch.arange(h, device=x.device, dtype=x.dtype) + 0.5) / h
    xs = (torch.arange(w, device=x.device, dtype=x.dtype) + 0.5) / w
    inside_y = (ys.view(1, h) - centre[:, 0:1].to(x.dtype)).abs() < size / 2  # [B, H]
    inside_x = (xs.view(1, w) - centre[:, 1:2].to(x.dtype)).abs() < size / 2  # [B, W]
    hole = (inside_y.view(b, 1, h, 1) & inside_x.view(b, 1, 1, w)) & on
    return x.masked_fill(hole, 0.0)


def augment(
    x: Tensor,
    p: float,
    generator: torch.Generator | None = None,
    xflip: bool = True,
    rotate90: bool = True,
    translate: bool = True,
    brightness: bool = True,
    contrast: bool = True,
    saturation: bool = True,
    cutout: bool = True,
) -> Tensor:
    """The ADA pipeline: each enabled op applied to each sample with probability ``p``; identity when ``p == 0``.

    Args:
        x: ``[B, C, H, W]`` in ``[-1, 1]``.
        p: augmentation probability in ``[0, 1]``.
        generator: randomness source (on ``x``'s device).
        xflip, rotate90, translate, brightness, contrast, saturation, cutout: which ops are enabled.
    """
    if p <= 0.0:
        return x
    if xflip:
        x = random_xflip(x, p, generator)
    if rotate90 and x.shape[-1] == x.shape[-2]:
        x = random_rotate90(x, p, generator)
    if translate:
        x = random_translate_int(x, p, generator=generator)
    if brightness:
        x = random_brightness(x, p, generator=generator)
    if contrast:
        x = random_contrast(x, p, generator=generator)
    if saturation and x.shape[1] == 3:
        x = random_saturation(x, p, generator=generator)
    if cutout:
        x = random_cutout(x, p, generator=generator)
    return x


def ada_adjustment(sign_mean: float, target: float, num_images: int, speed_images: float) -> float:
    """ADA's p update: ``sign(r_t - target) * images / speed`` (p moves by 1 after ``speed_images`` images).

    Args:
        sign_mean: ``r_t = E[sign(D(x_real))]`` over the last interval.
        target: the wanted ``r_t`` (0.6 in ADA).
        num_images: real images seen in the interval (all ranks).
        speed_images: images needed to move p from 0 to 1 (ADA ``ada_kimg * 1000`` = 500k).
    """
    return math.copysign(1.0, sign_mean - target) * num_images / speed_images if sign_mean != target else 0.0
