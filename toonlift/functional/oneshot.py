"""Pure math of one-shot 3D-aware stylisation (Your3dEmoji, seed 001; 3DArtmator, seed 004; JoJoGAN).

* :func:`mix_fine_layers`: Your3dEmoji's Eq. 1 / JoJoGAN's style-mixing set. The exemplar's inverted W+ keeps the
  coarse layers; the fine layers (``first_fine`` onward) become ``alpha * w_e + (1 - alpha) * w_random``.
* :func:`feature_l1`: Eq. 4, the L1 distance between discriminator activations (JoJoGAN's loss).
* :func:`dual_branch_loss`: Eq. 5, ``MSE(2D, 3D) + λ1 d(3D, exemplar) + λ2 d(3D, 2D)`` for any distance ``d``.
* :func:`lerp_states`: style degree as the interpolation of two generators' weights.
* :func:`depth_relief`, :func:`pairwise_mean`: measurement helpers (depth range inside a mask; mean off-diagonal of
  a distance matrix, 004's latent diversity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor
from torch.nn import functional as F

from toonlift.errors import ConfigError

Distance = Callable[[Tensor, Tensor], Tensor]


def mix_fine_layers(w_exemplar: Tensor, w_random: Tensor, alpha: float, first_fine: int) -> Tensor:
    """Style-mixed latents ``[N, L, D]``: coarse layers ``< first_fine`` from the exemplar, fine layers blended.

    Args:
        w_exemplar: the exemplar's W+ ``[1, L, D]`` (or ``[L, D]``).
        w_random: mapped random latents ``[N, L, D]``.
        alpha: weight of the exemplar on the fine layers (Eq. 1's α; 0 = the random latents' fine layers).
        first_fine: first layer that is mixed (JoJoGAN: 7 of 18 at 1024 px).
    """
    w_e = w_exemplar.reshape(1, *w_exemplar.shape[-2:])
    if w_random.ndim != 3 or w_random.shape[1:] != w_e.shape[1:]:
        raise ConfigError(
            f"mix_fine_layers: random latents must be [N, {w_e.shape[1]}, {w_e.shape[2]}] like the exemplar's W+, got "
            f"{tuple(w_random.shape)}."
        )
    if not 0 <= first_fine <= w_e.shape[1] or not 0.0 <= alpha <= 1.0:
        raise ConfigError(
            f"mix_fine_layers: first_fine must be in [0, {w_e.shape[1]}] and alpha in [0, 1], got {first_fine} and "
            f"{alpha}."
        )
    out = w_e.expand_as(w_random).clone()
    out[:, first_fine:] = alpha * w_e[:, first_fine:] + (1 - alpha) * w_random[:, first_fine:]
    return out


def feature_l1(features: list[Tensor], targets: list[Tensor]) -> Tensor:
    """``Σ_l mean |φ_l(x) − φ_l(y)|`` over layers (JoJoGAN's discriminator-feature loss, Eq. 4). ``targets`` may
    have batch 1 (one exemplar) and are broadcast."""
    if len(features) != len(targets) or not features:
        raise ConfigError(f"feature_l1: needs the same non-zero number of layers, got {len(features)}, {len(targets)}.")
    return sum(F.l1_loss(f, t.expand_as(f)) for f, t in zip(features, targets, strict=True))


def dual_branch_loss(
    image_2d: Tensor,
    image_3d: Tensor,
    exemplar: Tensor,
    distance: Distance,
    lambda_exemplar: float = 1.0,
    lambda_2d: float = 1.0,
) -> dict[str, Tensor]:
    """Your3dEmoji's Eq. 5 terms: ``mse`` = MSE(2D, 3D), ``exemplar`` = d(3D, exemplar), ``pair`` = d(3D, 2D), and
    ``total = mse + λ1 exemplar + λ2 pair``.

    Args:
        image_2d: the 2D branch's stylised images ``[B, 3, H, W]`` in [-1, 1].
        image_3d: the 3D branch's renders at the same cameras ``[B, 3, H, W]``.
        exemplar: the style exemplar ``[1 or B, 3, H, W]``.
        distance: a perceptual distance ``(a, b) -> [B]``.
        lambda_exemplar: λ1 (unstated in the paper).
        lambda_2d: λ2 (unstated in the paper).
    """
    if image_2d.shape != image_3d.shape:
        raise ConfigError(
            f"dual_branch_loss: the 2D and 3D images must have one shape, got {tuple(image_2d.shape)} and "
            f"{tuple(image_3d.shape)}."
        )
    mse = F.mse_loss(image_3d, image_2d)
    ex = distance(image_3d, exemplar.expand_as(image_3d)).mean()
    pair = distance(image_3d, image_2d).mean()
    return {"mse": mse, "exemplar": ex, "pair": pair, "total": mse + lambda_exemplar * ex + lambda_2d * pair}


def lerp_states(a: Mapping[str, Tensor], b: Mapping[str, Tensor], t: float) -> dict[str, Tensor]:
    """``(1 − t) a + t b`` per floating tensor (other tensors from ``a``): two generators of one architecture
    blended by the style degree ``t`` (0 = ``a``, 1 = ``b``)."""
    if set(a) != set(b):
        raise ConfigError("lerp_states: the two generators have different weights; give two of one architecture.")
    return {k: torch.lerp(v, b[k].to(v), t) if v.is_floating_point() else v.clone() for k, v in a.items()}


def depth_relief(depth: Tensor, mask: Tensor, low: float = 0.05, high: float = 0.95) -> Tensor:
    """Per-image depth range inside a mask ``[B]``: the ``high`` minus the ``low`` quantile of ``depth [B, 1, H, W]``
    (or ``[B, H, W]``) over pixels with ``mask > 0.5``; 0 for an image with fewer than 2 such pixels."""
    d, m = depth.flatten(1), mask.flatten(1) > 0.5
    out = []
    for row, keep in zip(d, m, strict=True):
        vals = row[keep]
        out.append(torch.quantile(vals, high) - torch.quantile(vals, low) if vals.numel() > 1 else row.new_zeros(()))
    return torch.stack(out)


def pairwise_mean(distances: Tensor) -> Tensor:
    """Mean of the off-diagonal entries of a square distance matrix ``[N, N]`` (N ≥ 2)."""
    n = distances.shape[0]
    if distances.ndim != 2 or distances.shape[1] != n or n < 2:
        raise ConfigError(f"pairwise_mean: needs a square [N, N] matrix with N >= 2, got {tuple(distances.shape)}.")
    off = ~torch.eye(n, dtype=torch.bool, device=distances.device)
    return distances[off].mean()
