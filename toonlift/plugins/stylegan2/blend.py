"""Layer swapping / resolution-dependent model interpolation (Pinkney & Adler 2020) and the feature-level swap.

**Weight blending.** Two generators of one architecture are mixed key by key: ``p = y * p_high + (1 - y) * p_low``.
Each synthesis key sits at a *position* ``2 * (log2(res) - 2) + level``:

==========================  ==========================  ===========================================
rosinality key              (resolution, level)         TF name (toonify)
==========================  ==========================  ===========================================
``input.input``             (4, 0)                      ``4x4/Const``
``to_rgb1.*``               (4, 1)                      ``4x4/ToRGB``
``convs.{2k}.*`` (up)       (``2**(k+3)``, 0)           ``{r}x{r}/Conv0_up``
``convs.{2k+1}.*``          (``2**(k+3)``, 1)           ``{r}x{r}/Conv1``
``to_rgbs.{k}.*``           (``2**(k+3)``, 1)           ``{r}x{r}/ToRGB``
``style.*``, ``conv1.*``,   always from the low model   mapping network, ``4x4/Conv``, noise inputs
``noises.*``
==========================  ==========================  ===========================================

With ``x = position(key) - position(resolution, level)``: the **hard** switch takes a key from the high model when
``x > 0`` (so ``(resolution, level)`` is the *last* group from the low model); the **smooth** blend uses
``y = sigmoid(x / blend_width)``. Toonify's ``blend_models.py`` switches at ``x > 1`` (one group later);
``toonify_offset=True`` reproduces that. The low model ("structure": pose, shape) also supplies the mapping network,
``conv1`` (matching neither TF pattern in toonify), the noise buffers and ``latent_avg``; the high model supplies
"texture".

**Feature-level swap** (Cartoon-StyleGAN): run the source generator, take its block output (e.g. the 16x16
feature) and feed it to the target generator in place of the target's own (:func:`feature_swap`).
"""

from __future__ import annotations

import copy
import math
import re

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import BackboneOutput
from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone


def key_resolution_level(key: str) -> tuple[int, int] | None:
    """``(resolution, level)`` of a generator state-dict key, or ``None`` for keys always taken from the low model."""
    if key.startswith("input."):
        return 4, 0
    if key.startswith("to_rgb1."):
        return 4, 1
    m = re.match(r"convs\.(\d+)\.", key)
    if m:
        i = int(m.group(1))
        return 2 ** (i // 2 + 3), i % 2
    m = re.match(r"to_rgbs\.(\d+)\.", key)
    if m:
        return 2 ** (int(m.group(1)) + 3), 1
    return None


def position(resolution: int, level: int) -> int:
    """Layer-group index: 0 for (4, 0), 1 for (4, 1), 2 for (8, 0), ..."""
    return 2 * (int(math.log2(resolution)) - 2) + level


def blend_factor(
    key: str, resolution: int, level: int = 0, blend_width: float | None = None, toonify_offset: bool = False
) -> float:
    """Weight ``y`` of the high model for ``key`` (0 = all low, 1 = all high)."""
    rl = key_resolution_level(key)
    if rl is None:
        return 0.0
    x = position(*rl) - position(resolution, level)
    if blend_width is None:
        return 1.0 if x > (1 if toonify_offset else 0) else 0.0
    return 0.5 * (1.0 + math.tanh(x / blend_width / 2.0))  # the sigmoid, without overflow


def _check_args(size: int, resolution: int, level: int, blend_width: float | None) -> None:
    if resolution < 4 or resolution > size or resolution & (resolution - 1):
        raise ConfigError(f"blend resolution must be a power of two in [4, {size}], got {resolution}")
    if level not in (0, 1):
        raise ConfigError(f"blend level must be 0 (upsampling conv) or 1 (second conv + ToRGB), got {level}")
    if blend_width is not None and not blend_width > 0:
        raise ConfigError(f"blend_width must be positive (or None for a hard switch), got {blend_width}")


def blend_state_dicts(
    low: dict[str, Tensor],
    high: dict[str, Tensor],
    resolution: int,
    level: int = 0,
    blend_width: float | None = None,
    toonify_offset: bool = False,
) -> dict[str, Tensor]:
    """Blend two generator state dicts of the same architecture (see the module docstring).

    Args:
        low: the model for low resolutions (structure), mapping network, ``conv1`` and noise buffers.
        high: the model for high resolutions (texture).
        resolution: swap resolution (4 ... size).
        level: 0 or 1, the layer group within ``resolution`` (see the table).
        blend_width: ``None`` for a hard switch, else the sigmoid width in layer groups.
        toonify_offset: switch one group later, as toonify's ``blend_models.py`` does.
    """
    if low.keys() != high.keys():
        diff = sorted(set(low) ^ set(high))[:6]
        raise ConfigError(f"the two generators have different state-dict keys (e.g. {diff}); blend needs one layout")
    shapes = [k for k in low if low[k].shape != high[k].shape]
    if shapes:
        raise ConfigError(f"the two generators have different shapes at {shapes[:6]}; blend needs one architecture")
    size = 2 ** (len({k.split(".")[1] for k in low if k.startswith("to_rgbs.")}) + 2)
    _check_args(size, resolution, level, blend_width)
    out = {}
    for k, p_low in low.items():
        y = blend_factor(k, resolution, level, blend_width, toonify_offset)
        out[k] = p_low.clone() if y == 0.0 else high[k].clone() if y == 1.0 else torch.lerp(p_low, high[k], y)
    return out


def blend_generators(
    low: StyleGAN2Backbone,
    high: StyleGAN2Backbone,
    resolution: int,
    level: int = 0,
    blend_width: float | None = None,
    toonify_offset: bool = False,
) -> StyleGAN2Backbone:
    """A new generator whose weights blend ``low`` and ``high`` (arguments as :func:`blend_state_dicts`)."""
    if low.arch_args() != high.arch_args():
        raise ConfigError(
            f"cannot blend generators of different architectures: {low.arch_args()} vs {high.arch_args()}"
        )
    state = blend_state_dicts(low.state_dict(), high.state_dict(), resolution, level, blend_width, toonify_offset)
    out = copy.deepcopy(low)
    out.load_state_dict(state, strict=True)
    out.checkpoint = None
    return out


@torch.no_grad()
def extract_feature(G: StyleGAN2Backbone, ws: Tensor, block: str = "block_16", **synthesis_args) -> Tensor:  # noqa: N803
    """Block output ``block`` of ``G`` for latents ``ws`` (``synthesis_args``: ``noise``, ``noise_mode``)."""
    return G.synthesis(ws, return_features=(block,), **synthesis_args).features[block]


def feature_swap(
    source: StyleGAN2Backbone,
    target: StyleGAN2Backbone,
    ws: Tensor,
    block: str = "block_16",
    noise: list[Tensor] | None = None,
    noise_mode: str = "const",
) -> BackboneOutput:
    """Render ``ws`` with ``target``, its ``block`` output replaced by ``source``'s (the feature-level layer swap).

    The target's own skip image accumulated below the swap point is kept (as in Cartoon-StyleGAN).

    Args:
        source: generator providing the feature (e.g. the FFHQ model: pose, identity).
        target: generator rendering the rest (e.g. the cartoon model).
        ws: latents ``[B, w_dim]`` or W+.
        block: ``"block_{res}"`` to swap (``"block_16"`` in the paper's code).
        noise: shared noise maps for both generators (see ``make_noise``).
        noise_mode: used when ``noise`` is ``None``.
    """
    feat = extract_feature(source, ws, block, noise=noise, noise_mode=noise_mode)
    return target.synthesis(ws, noise=noise, noise_mode=noise_mode, swap_features={block: feat})
