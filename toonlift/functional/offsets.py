"""Stage 2 math: applying latent offsets and the identity-preserving offset objective (seed 000, Eq. 4-9).

An *offset* ``w*`` moves a latent along an expression direction. SeFa's direction ``n*`` changes the expression but
also identity, shape and hair; Stage 2 optimises ``w*`` (started at ``alpha * n*``) so that the face keeps its
identity (``L_id`` small) while the face region keeps changing (``L_low`` large, so the trivial ``w* = 0`` is not a
minimum).

Every loss here is **per sample** (shape ``[B]``): the module sums them over the batch, so each latent's gradient is
exactly the one it would get on its own and a batched optimisation equals the per-sample one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

OBJECTIVES = ("paper", "log")


def edit_latents(ws: Tensor, offset: Tensor, sign: float = 1.0, layers: Sequence[int] | None = None) -> Tensor:
    """``ws + sign * offset`` on the chosen W+ layers.

    Args:
        ws: W+ latents ``[B, L, D]``.
        offset: one offset per latent shared by the layers ``[B, D]``, or one per layer ``[B, L, D]``.
        sign: ``+1`` for ``w + w*``, ``-1`` for ``w - w*`` (any scale is allowed, e.g. for a sweep).
        layers: W+ indices that move (``None``: all of them).
    """
    if ws.dim() != 3:
        raise ValueError(f"edit_latents: ws must be [B, L, D], got {tuple(ws.shape)}")
    if offset.dim() == 2:
        offset = offset.unsqueeze(1)  # [B, 1, D], broadcast over layers
    if offset.dim() != 3 or offset.shape[0] != ws.shape[0] or offset.shape[-1] != ws.shape[-1]:
        raise ValueError(f"edit_latents: offset {tuple(offset.shape)} does not fit latents {tuple(ws.shape)}")
    if offset.shape[1] not in (1, ws.shape[1]):
        raise ValueError(f"edit_latents: per-layer offset has {offset.shape[1]} layers, latents {ws.shape[1]}")
    delta = sign * offset.expand_as(ws)
    if layers is None:
        return ws + delta
    mask = torch.zeros(1, ws.shape[1], 1, dtype=ws.dtype, device=ws.device)
    mask[:, list(layers)] = 1.0
    return ws + delta * mask


def identity_distance(emb_base: Tensor, emb_edit: Tensor) -> Tensor:
    """Squared L2 distance ``||f(G(w)) - f(G(w + w*))||^2`` per sample ``[B]``; the base embedding is a constant."""
    return (emb_edit.flatten(1) - emb_base.detach().flatten(1)).pow(2).sum(1)


def low_level_distance(feat_a: Tensor, feat_b: Tensor) -> Tensor:
    """Mean squared difference of low-level features (of masked images) per sample ``[B]``."""
    return (feat_a.flatten(1) - feat_b.flatten(1)).pow(2).mean(1)


def low_level_pairs(signs: Sequence[int], objective: str) -> list[tuple[int, int]]:
    """Which image pairs ``L_low`` compares (0 = the unedited image, +1 = ``w + w*``, -1 = ``w - w*``).

    ``paper``: each edit against the original. ``log`` (the authors' code): also ``+`` against ``-``.
    """
    pairs = [(0, s) for s in signs]
    if objective == "log" and 1 in signs and -1 in signs:
        pairs.append((1, -1))
    return pairs


def offset_objective(
    embeddings: Mapping[int, Tensor],
    low_features: Mapping[int, Tensor],
    objective: str = "paper",
    lambda_low: float = 0.2,
    eps: float = 1e-8,
) -> dict[str, Tensor]:
    """Stage 2's loss per sample.

    * ``paper`` (Eq. 9): ``L_m = L_id - lambda_low * L_low`` (lambda_low = 0.2 in the paper).
    * ``log`` (the authors' code): ``L_m = L_id + lambda_low * (-log L_low)`` (lambda_low = 0.1 there).

    ``L_id`` is the mean over the edits of :func:`identity_distance` to the original; ``L_low`` the mean over
    :func:`low_level_pairs` of :func:`low_level_distance`.

    Args:
        embeddings: identity embeddings ``[B, E]`` keyed by sign (0 = original, +1, -1).
        low_features: low-level features of the masked images ``[B, ...]`` keyed the same way.
        objective: ``"paper"`` or ``"log"``.
        lambda_low: weight of the low-level term (0 turns it off: the trivial ``w* -> 0`` solution wins).
        eps: added inside the log.

    Returns:
        ``{"id": [B], "low": [B], "total": [B]}``.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"offset_objective: objective must be one of {OBJECTIVES}, got {objective!r}")
    signs = sorted((s for s in embeddings if s != 0), reverse=True)
    if 0 not in embeddings or not signs:
        raise ValueError("offset_objective: needs the original (key 0) and at least one edit (key +1 or -1)")
    l_id = torch.stack([identity_distance(embeddings[0], embeddings[s]) for s in signs]).mean(0)
    pairs = low_level_pairs(signs, objective)
    l_low = torch.stack([low_level_distance(low_features[a], low_features[b]) for a, b in pairs]).mean(0)
    # "log": -log keeps rewarding change with diminishing returns, so the offset cannot run away
    low_term = l_low if objective == "paper" else torch.log(l_low + eps)
    total = l_id - lambda_low * low_term
    return {"id": l_id, "low": l_low, "total": total}
