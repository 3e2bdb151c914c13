"""Figures of a 3D-aware generator's views: how well a read-out angle follows the camera, and how alike the
embeddings of one face seen from several sides are.

Pure tensor math; the networks that read angles and identities off images live in plugins and metrics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def angle_error_summary(predicted: Tensor, true: Tensor) -> dict[str, float]:
    """How closely predicted angles ``[N]`` (degrees) follow the true ones ``[N]``.

    Returns:
        ``mae`` (mean absolute error), ``bias`` (mean signed error ``predicted - true``), ``slope`` and
        ``intercept`` of the least-squares line ``predicted ~ slope * true + intercept`` (slope 1: the angle follows
        the camera one to one; slope 0: it ignores it), ``corr`` (Pearson correlation) and ``n``.
    """
    if predicted.shape != true.shape or predicted.dim() != 1 or predicted.numel() < 2:
        shapes = f"{tuple(predicted.shape)}, {tuple(true.shape)}"
        raise ValueError(f"expected two [N] angle vectors with N >= 2, got {shapes}")
    p, t = predicted.double(), true.double()
    err = p - t
    tc, pc = t - t.mean(), p - p.mean()
    var_t = tc.square().sum()
    slope = (tc * pc).sum() / var_t.clamp_min(1e-12)
    corr = (tc * pc).sum() / (var_t * pc.square().sum()).sqrt().clamp_min(1e-12)
    return {
        "mae": float(err.abs().mean()),
        "bias": float(err.mean()),
        "slope": float(slope),
        "intercept": float(p.mean() - slope * t.mean()),
        "corr": float(corr),
        "n": int(p.numel()),
    }


def view_similarity(embeddings: Tensor, reference: int) -> Tensor:
    """Cosine similarity ``[F, V]`` of each view's embedding to view ``reference`` of the same face.

    Args:
        embeddings: ``[F, V, D]``: ``F`` faces, each seen from ``V`` views.
        reference: index of the view the others are compared with (e.g. the frontal one; its own column is 1).
    """
    if embeddings.dim() != 3 or not 0 <= reference < embeddings.shape[1]:
        raise ValueError(f"expected [F, V, D] embeddings and a view index below V, got {tuple(embeddings.shape)}")
    unit = F.normalize(embeddings.double(), dim=-1)
    return (unit * unit[:, reference : reference + 1]).sum(-1).to(embeddings.dtype)


def cross_face_similarity(embeddings: Tensor) -> Tensor:
    """Cosine similarities ``[F * (F - 1) / 2]`` between every pair of different faces ``[F, D]`` (upper triangle):
    the figure a same-face similarity must stand above to say anything."""
    if embeddings.dim() != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"expected [F, D] embeddings of at least 2 faces, got {tuple(embeddings.shape)}")
    unit = F.normalize(embeddings.double(), dim=-1)
    sim = unit @ unit.T
    rows, cols = torch.triu_indices(len(sim), len(sim), offset=1)
    return sim[rows, cols].to(embeddings.dtype)
