"""EG3D's training-time pieces that are not networks: the discriminator blur and its fade, the density regulariser
and R1 over both discriminator inputs (``eg3d/training/loss.py``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from toonlift.functional.resample import upfirdn2d
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.renderer import query_points


def blur_sigma(images_seen: float, init_sigma: float, fade_images: float) -> float:
    """EG3D's blur schedule: ``init_sigma`` fading linearly to 0 over the first ``fade_images`` images."""
    if fade_images <= 0:
        return 0.0
    return max(1.0 - images_seen / fade_images, 0.0) * init_sigma


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable blur with EG3D's taps ``2^-(k / sigma)^2``, ``|k| <= floor(3 sigma)``, same size (zero padding)."""
    size = math.floor(sigma * 3)
    if size <= 0:
        return x
    taps = torch.arange(-size, size + 1, device=x.device, dtype=x.dtype).div(sigma).square().neg().exp2()
    taps = taps / taps.sum()
    return upfirdn2d(x, taps[:, None] * taps[None, :], pad=(size, size))


def density_tv(
    g: EG3DBackbone, ws: Tensor, generator: torch.Generator, points: int = 1000, p_dist: float = 0.004
) -> Tensor:
    """EG3D's L1 density regulariser: ``mean |sigma(x) - sigma(x + N(0, p_dist))|`` over ``points`` random points.

    The points are uniform in the cube of side ``2 * box_warp`` (EG3D's ``[-1, 1]^3`` for its box of 1), so part of
    them lie outside the planes, as in EG3D.
    """
    b = ws.shape[0]
    box = g.render_options.box_warp
    pts = (torch.rand(b, points, 3, generator=generator, device=ws.device, dtype=ws.dtype) * 2 - 1) * box
    jitter = torch.randn(b, points, 3, generator=generator, device=ws.device, dtype=ws.dtype) * p_dist
    planes = g.synthesize_planes(ws, "random", g.make_noise(b, generator=generator, device=ws.device))
    _, sigma = query_points(planes, g.decoder, torch.cat([pts, pts + jitter], dim=1), box)
    return torch.nn.functional.l1_loss(sigma[:, :points], sigma[:, points:])


def dual_r1(logits: Tensor, image: Tensor, image_raw: Tensor) -> Tensor:
    """``sum ||dD/d image||^2 + ||dD/d image_raw||^2`` per sample, averaged (EG3D's R1 with dual discrimination)."""
    grads = torch.autograd.grad(logits.sum(), [image, image_raw], create_graph=True)
    return sum(g.square().sum(dim=[1, 2, 3]) for g in grads).mean()
