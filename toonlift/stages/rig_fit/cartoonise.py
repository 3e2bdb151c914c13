"""002's first step for ``toonlift avatar --cartoon-generator``: the portrait's cartoon through a Stage-1 pair.

Seed 002 cartoonises the portrait with a StyleGAN and its layer-swapped cartoon twin before reconstructing. Here
the face crop (already framed by ``photo_face.py``) is inverted into the photo generator (``--generator``: FFHQ or
any StyleGAN2 export) by toonlift's StyleGAN2 projector (LPIPS with ``--lpips-weights``, else a pixel MSE), and the
same ``w`` (constant noise) is rendered by the cartoon generator (``--cartoon-generator``: its
Stage-1 fine-tune, which shares the latent space). The cartoon is resized back to the crop, so the landmarks and
the crop's camera stay aligned with it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError


class PixelDistance(nn.Module):
    """Mean squared pixel distance per image, with the ``distance`` method the projector calls for LPIPS."""

    random_backbone = False

    def distance(self, a: Tensor, b: Tensor) -> Tensor:
        """``[B]`` mean squared difference of images ``[B, 3, H, W]``."""
        return (a - b).pow(2).mean((1, 2, 3))


def cartoonise(
    crop: Tensor,
    generator: str | Path,
    cartoon_generator: str | Path,
    steps: int = 200,
    lpips_weights: str | None = None,
    seed: int = 0,
) -> tuple[Tensor, dict]:
    """``(cartoon [1, 3, S, S] in [-1, 1], info)`` of ``crop`` ``[1, 3, S, S]`` through a photo/cartoon pair.

    Raises:
        ConfigError: the two generators do not share a latent space (different ``w_dim`` or number of ``w``).
    """
    from toonlift.plugins.stylegan2 import load_generator
    from toonlift.plugins.stylegan2.projector import project

    g = load_generator(generator).eval().requires_grad_(False)
    gc = load_generator(cartoon_generator).eval().requires_grad_(False)
    if (g.w_dim, g.num_ws) != (gc.w_dim, gc.num_ws):
        raise ConfigError(
            f"--cartoon-generator '{cartoon_generator}' has w_dim {gc.w_dim} and {gc.num_ws} ws, but --generator "
            f"'{generator}' has {g.w_dim} and {g.num_ws}: the cartoon generator must be fine-tuned from the photo one."
        )
    if lpips_weights is not None:
        from toonlift.plugins.losses.lpips import LPIPSLoss

        distance: nn.Module = LPIPSLoss(backbone_weights=lpips_weights)
        mse = 0.0
    else:
        distance, mse = PixelDistance(), 1.0
    target = F.interpolate(crop.float(), size=(g.size, g.size), mode="area")
    result = project(
        g, target, distance, steps=steps, mse=mse, generator=torch.Generator().manual_seed(seed), n_mean_latent=2000
    )
    with torch.no_grad():
        cartoon = gc.synthesis(result.ws, noise_mode="const").image.clamp(-1, 1)
        photo = result.image.clamp(-1, 1)
    size = crop.shape[-1]
    resize = lambda x: F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)  # noqa: E731
    info = {
        "generator": str(generator),
        "cartoon_generator": str(cartoon_generator),
        "projection_steps": steps,
        "distance": "lpips" if lpips_weights is not None else "pixel mse",
        "projection_l1": round(float((photo - target).abs().mean()), 4),
        "generator_size": int(g.size),
    }
    return resize(cartoon), info | {"projection": resize(photo)}


__all__ = ["PixelDistance", "cartoonise"]
