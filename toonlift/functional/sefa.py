"""SeFa: closed-form latent directions of a StyleGAN2 (Shen & Zhou 2021).

The directions ``n`` maximising ``||A n||`` for unit ``n`` are the eigenvectors of ``AᵀA``, ``A`` the stacked
style-modulation weights ``[sum C_l, w_dim]`` (each row maps ``w`` to one channel's style). Two conventions:

* ``"rosinality"`` (``closed_form_factorization.py``): every ``*modulation.weight`` whose key does not contain
  ``to_rgbs`` -- i.e. ``conv1``, ``to_rgb1`` (the quirk of that filter) and all ``convs`` -- with no normalisation.
* ``"genforce"`` (``genforce/sefa``): the modulated convs of the chosen W+ layers (index ``i`` = the conv fed by
  ``ws[:, i]``; the last index is the final ToRGB), each row normalised to unit L2 norm.

The backbone supplies the weights (capability ``StyleModulation``: the StyleGAN2 plugin knows its own layer
names); this module is the math only.

Directions are returned as columns ``[w_dim, K]`` sorted by decreasing eigenvalue (as ``torch.svd(A).V``). The sign
of an eigenvector is arbitrary.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from toonlift.errors import ConfigError

CONVENTIONS = ("rosinality", "genforce")


def stack_modulation_weights(
    weights: Sequence[Tensor], convention: str = "rosinality", normalize: bool | None = None
) -> Tensor:
    """The matrix ``A`` ``[sum C_l, w_dim]`` (float64) that SeFa factorises.

    Args:
        weights: per-layer style-modulation weights ``[C_l, w_dim]``, as a backbone's ``modulation_weights``
            returns them (the backbone knows its own layer names; this function only does the math).
        convention: ``"rosinality"`` or ``"genforce"`` (decides the default row normalisation).
        normalize: unit-normalise each row (``None``: the convention's choice, off for rosinality, on for genforce).
    """
    if convention not in CONVENTIONS:
        raise ConfigError(f"SeFa convention must be one of {CONVENTIONS}, got {convention!r}")
    if not weights:
        raise ConfigError("SeFa needs at least one modulation weight matrix")
    A = torch.cat([m.detach().double().cpu() for m in weights], 0)
    if normalize if normalize is not None else convention == "genforce":
        A = A / A.norm(dim=1, keepdim=True)
    return A


def closed_form_directions(A: Tensor) -> tuple[Tensor, Tensor]:  # noqa: N803 - the paper's name
    """SeFa directions: eigenvectors of ``AᵀA`` sorted by decreasing eigenvalue.

    Args:
        A: ``[N, w_dim]`` stacked modulation weights (:func:`stack_modulation_weights`).

    Returns:
        ``(directions [w_dim, w_dim] float32, columns = unit directions; eigenvalues [w_dim] float64, decreasing)``.
    """
    # SVD of A: V's columns are the eigenvectors of AᵀA, singular values sorted decreasingly
    _, S, Vh = torch.linalg.svd(A.double(), full_matrices=False)
    return Vh.t().float().contiguous(), S.pow(2)


def apply_direction(
    ws: Tensor,
    direction: Tensor,
    alpha: float | Tensor,
    layers: Sequence[int] | None = None,
    truncation: float = 1.0,
    truncation_latent: Tensor | None = None,
    before_truncation: bool = True,
) -> Tensor:
    """Move latents along a direction: ``ws[:, layers] += alpha * n``, before or after truncation.

    Args:
        ws: W+ ``[B, num_ws, w_dim]`` (untruncated).
        direction: ``[w_dim]`` (e.g. a column of :func:`closed_form_directions`).
        alpha: step (scalar or ``[B]``).
        layers: W+ indices to edit (``None`` = all).
        truncation: psi; ``1`` disables truncation.
        truncation_latent: ``[w_dim]`` or ``[1, w_dim]`` centre, needed when ``truncation < 1``.
        before_truncation: rosinality's ``apply_factor.py`` adds before truncation (the step is scaled by psi);
            genforce adds after it.
    """
    if ws.dim() != 3:
        raise ConfigError(f"apply_direction expects W+ latents [B, num_ws, w_dim], got {tuple(ws.shape)}")
    alpha_t = torch.as_tensor(alpha, dtype=ws.dtype, device=ws.device).reshape(-1, 1, 1)
    mask = torch.zeros(ws.shape[1], 1, dtype=ws.dtype, device=ws.device)
    mask[list(range(ws.shape[1])) if layers is None else list(layers)] = 1.0
    step = alpha_t * mask * direction.to(ws).view(1, 1, -1)  # [B|1, num_ws, w_dim]

    def truncate(x: Tensor) -> Tensor:
        if truncation == 1.0:
            return x
        if truncation_latent is None:
            raise ConfigError("truncation < 1 needs truncation_latent (e.g. backbone.mean_latent(4096))")
        c = truncation_latent.to(x).reshape(1, 1, -1)
        return c + truncation * (x - c)

    if before_truncation:
        return truncate(ws + step)
    return truncate(ws) + step
