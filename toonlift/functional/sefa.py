"""SeFa: closed-form latent directions of a StyleGAN2 (Shen & Zhou 2021).

The directions ``n`` maximising ``||A n||`` for unit ``n`` are the eigenvectors of ``AᵀA``, ``A`` the stacked
style-modulation weights ``[sum C_l, w_dim]`` (each row maps ``w`` to one channel's style). Two conventions:

* ``"rosinality"`` (``closed_form_factorization.py``): every ``*modulation.weight`` whose key does not contain
  ``to_rgbs`` -- i.e. ``conv1``, ``to_rgb1`` (the quirk of that filter) and all ``convs`` -- with no normalisation.
* ``"genforce"`` (``genforce/sefa``): the modulated convs of the chosen W+ layers (index ``i`` = the conv fed by
  ``ws[:, i]``; the last index is the final ToRGB), each row normalised to unit L2 norm.

Directions are returned as columns ``[w_dim, K]`` sorted by decreasing eigenvalue (as ``torch.svd(A).V``). The sign
of an eigenvector is arbitrary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError

CONVENTIONS = ("rosinality", "genforce")


def _state(G: nn.Module | Mapping[str, Tensor]) -> Mapping[str, Tensor]:  # noqa: N803
    return G.state_dict() if isinstance(G, nn.Module) else G


def _num_ws(state: Mapping[str, Tensor]) -> int:
    n_convs = len({k.split(".")[1] for k in state if k.startswith("convs.")})
    return n_convs + 2  # conv1 + convs + final ToRGB index


def layer_modulation_key(layer: int, num_ws: int) -> str:
    """The modulation-weight key that W+ index ``layer`` feeds in the genforce convention."""
    if layer == 0:
        return "conv1.conv.modulation.weight"
    if layer == num_ws - 1:
        return f"to_rgbs.{(num_ws - 4) // 2}.conv.modulation.weight"
    return f"convs.{layer - 1}.conv.modulation.weight"


def stacked_modulation_weights(
    G: nn.Module | Mapping[str, Tensor],  # noqa: N803 - the paper's name
    layers: Sequence[int] | str = "all",
    convention: str = "rosinality",
    normalize: bool | None = None,
) -> Tensor:
    """The matrix ``A`` ``[sum C_l, w_dim]`` (float64) that SeFa factorises.

    Args:
        G: a :class:`StyleGAN2Backbone` or its state dict.
        layers: ``"all"`` or W+ indices (genforce convention only; rosinality always uses its fixed set).
        convention: ``"rosinality"`` or ``"genforce"``.
        normalize: unit-normalise each row (``None``: the convention's choice, off for rosinality, on for genforce).
    """
    state = _state(G)
    if convention == "rosinality":
        if layers != "all":
            raise ConfigError("SeFa layers can only be chosen with convention='genforce' (rosinality uses all)")
        keys = [k for k in state if "modulation" in k and "weight" in k and "to_rgbs" not in k]
        mats = [state[k] for k in keys]
    elif convention == "genforce":
        num_ws = _num_ws(state)
        idx = list(range(num_ws)) if layers == "all" else [int(i) for i in layers]
        bad = [i for i in idx if not 0 <= i < num_ws]
        if bad or not idx:
            raise ConfigError(f"SeFa layers must be W+ indices in [0, {num_ws - 1}], got {list(layers)}")
        mats = [state[layer_modulation_key(i, num_ws)] for i in idx]
    else:
        raise ConfigError(f"SeFa convention must be one of {CONVENTIONS}, got {convention!r}")
    A = torch.cat([m.detach().double().cpu() for m in mats], 0)
    if normalize if normalize is not None else convention == "genforce":
        A = A / A.norm(dim=1, keepdim=True)
    return A


def closed_form_directions(
    G: nn.Module | Mapping[str, Tensor],  # noqa: N803 - the paper's name
    layers: Sequence[int] | str = "all",
    normalize: bool | None = None,
    convention: str = "rosinality",
) -> tuple[Tensor, Tensor]:
    """SeFa directions: eigenvectors of ``AᵀA`` sorted by decreasing eigenvalue.

    Args:
        G: a :class:`StyleGAN2Backbone` or its state dict.
        layers: ``"all"`` or W+ indices (genforce convention).
        normalize: override the convention's row normalisation (``None`` keeps it: off for rosinality, on for
            genforce).
        convention: ``"rosinality"`` or ``"genforce"``.

    Returns:
        ``(directions [w_dim, w_dim] float32, columns = unit directions; eigenvalues [w_dim] float64, decreasing)``.
    """
    A = stacked_modulation_weights(G, layers, convention, normalize)
    # SVD of A: V's columns are the eigenvectors of AᵀA, singular values sorted decreasingly
    _, S, Vh = torch.linalg.svd(A, full_matrices=False)
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
