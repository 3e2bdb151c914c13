"""Measuring an expression edit: how much it changes the expression, and how much it changes the person.

Shared by ``benchmarks/eval_offsets.py`` (the SeFa-versus-optimised table over hundreds of latents) and the demo.
The measuring networks should not be the one the offset search optimised, or the figure flatters the search.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from toonlift.stages.offsets.offset_optimizer import OffsetOptimizer

Readout = Callable[[Tensor], Tensor]


def analyser_readout(weights: str | None = None) -> tuple[nn.Module, Readout, list[str]]:
    """The synthetic world's analyser as a read-out: expression (12), pose (3, degrees), light (4) per image.

    Args:
        weights: analyser safetensors file; ``None`` or ``"default"`` = the shipped one.

    Returns:
        ``(network, read, names)``: ``read(images [B, 3, H, W]) -> [B, 19]`` and the 19 dimension names.
    """
    from toonlift.synthetic.analyser import FaceAnalyser
    from toonlift.synthetic.expression_basis import EXPRESSION_NAMES

    net = FaceAnalyser.load(None if weights in (None, "default") else weights)

    def read(images: Tensor) -> Tensor:
        out = net(images)
        return torch.cat([out.expression, out.pose, out.light], dim=1)

    names = [f"expr_{n}" for n in EXPRESSION_NAMES] + ["yaw", "pitch", "roll", "ambient", "diffuse", "light_dx"]
    names.append("light_dy")
    return net, read, names


@torch.no_grad()
def measure_edit(
    g: nn.Module,
    ws: Tensor,
    delta: Tensor,
    search: OffsetOptimizer,
    encoder: nn.Module | None,
    readout: Readout | None,
) -> dict[str, Tensor]:
    """Per-latent metrics of the edit ``ws ± delta`` rendered by ``g`` (constant noise).

    Args:
        g: the generator the edit is applied to.
        ws: W+ latents ``[B, L, D]``.
        delta: offsets ``[B, D]`` or ``[B, L, D]``.
        search: the offset search (its :meth:`~OffsetOptimizer.edit` applies ``delta`` to the edited layers).
        encoder: identity network measuring the drift (``[B, E]`` embeddings), or None.
        readout: ``images -> [B, R]`` read-out (e.g. :func:`analyser_readout`), or None.

    Returns:
        ``offset_norm``, ``pixel_change`` (mean |G(w+d) - G(w-d)|), ``id_l2`` and ``id_1mcos`` (mean over ± of the
        embedding change from ``G(w)``) as ``[B]``; ``readout_change`` ``|r(G(w+d)) - r(G(w-d))|`` as ``[B, R]``.
    """
    base = g.synthesis(ws, noise_mode="const").image
    plus = g.synthesis(search.edit(ws, delta, 1.0), noise_mode="const").image
    minus = g.synthesis(search.edit(ws, delta, -1.0), noise_mode="const").image
    out: dict[str, Tensor] = {"offset_norm": delta.flatten(1).norm(dim=1)}
    out["pixel_change"] = (plus - minus).abs().mean((1, 2, 3))  # how much the edit does at all
    if encoder is not None:
        e0, ep, em = encoder(base), encoder(plus), encoder(minus)
        out["id_l2"] = ((ep - e0).norm(dim=1) + (em - e0).norm(dim=1)) / 2
        cos = torch.nn.functional.cosine_similarity
        out["id_1mcos"] = 1 - (cos(ep, e0) + cos(em, e0)) / 2
    if readout is not None:
        out["readout_change"] = (readout(plus) - readout(minus)).abs()
    return out


def summarise(metrics: dict[str, Tensor], names: list[str]) -> dict[str, float]:
    """Means over latents; ``readout_change`` ``[N, R]`` becomes one ``change_<name>`` entry per dimension, and
    ``change_expression_total`` sums the ``expr_*`` dimensions (the edit's strength, to compare edits at equal
    strength)."""
    summary: dict[str, float] = {}
    for key, value in metrics.items():
        if key == "readout_change":
            for i in range(value.shape[1]):
                label = names[i] if i < len(names) else f"readout_{i}"
                summary[f"change_{label}"] = float(value[:, i].mean())
            expr = [i for i, name in enumerate(names[: value.shape[1]]) if name.startswith("expr_")]
            if expr:
                summary["change_expression_total"] = float(value[:, expr].sum(1).mean())
        else:
            summary[key] = float(value.mean())
    return summary


@torch.no_grad()
def rank_directions_by_readout(
    g: nn.Module, directions: Tensor, readout: Readout, ws: Tensor, alpha: float, dims: slice, count: int = 8
) -> list[tuple[int, float]]:
    """Rank the first ``count`` directions by the read-out change ``|r(G(w + a n)) - r(G(w - a n))|`` over ``dims``.

    Args:
        g: generator.
        directions: ``[K, D]`` unit directions (strongest first).
        readout: ``images -> [B, R]``.
        ws: W+ latents ``[B, L, D]`` the change is averaged over.
        alpha: step along each direction.
        dims: read-out dimensions that count (e.g. the expression block of :func:`analyser_readout`).
        count: how many of the leading directions to try.

    Returns:
        ``[(index, mean summed change), ...]`` sorted, largest change first.
    """
    scores = []
    for k in range(min(count, directions.shape[0])):
        step = alpha * directions[k].to(ws)  # [D], added to every layer
        plus = readout(g.synthesis(ws + step, noise_mode="const").image)[:, dims]
        minus = readout(g.synthesis(ws - step, noise_mode="const").image)[:, dims]
        scores.append((k, float((plus - minus).abs().sum(1).mean())))
    return sorted(scores, key=lambda s: -s[1])
