"""Fit and store an attribute boundary in a backbone's W space, labelled by an image read-out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.boundaries import BoundaryFit, project_out, train_boundary
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import CameraConditioned, has
from toonlift.utils.io import load_safetensors, save_safetensors

Readout = Callable[[Tensor], Tensor]
FORMAT = "toonlift.boundary"


@dataclass(frozen=True)
class BoundaryFile:
    """A stored boundary: unit ``normal [w_dim]`` and its provenance."""

    normal: Tensor
    name: str
    readout: str
    val_accuracy: float
    meta: dict


def _conds(g: Backbone, n: int, sampled_cameras: bool, gen: torch.Generator, device: torch.device) -> Tensor | None:
    """Cameras ``[n, cond_dim]`` for a camera-conditioned backbone (canonical or sampled), else ``None``."""
    if not has(g, CameraConditioned) or g.cond_dim == 0:
        return None
    return g.sample_cond(n, generator=gen, device=device) if sampled_cameras else g.default_cond(n, device=device)


@torch.no_grad()
def sample_and_read(
    g: Backbone,
    read: Readout,
    num: int,
    batch: int = 64,
    seed: int = 0,
    truncation: float = 1.0,
    sampled_cameras: bool = False,
) -> tuple[Tensor, Tensor]:
    """``num`` latents of ``g`` and their read-outs.

    Args:
        g: any backbone (eval mode is the caller's business).
        read: ``images [B, 3, H, W] -> [B, R]``.
        num: how many latents.
        batch: render batch size.
        seed: seed of the codes (and cameras).
        truncation: truncation towards the mean ``w`` (1 = none).
        sampled_cameras: for a camera-conditioned backbone, render with cameras from its training distribution
            instead of the canonical one.

    Returns:
        ``(w [num, w_dim], readouts [num, R])``: the single ``w`` of each code (layer 0 of the mapping's W+).
    """
    device = next(g.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    trunc_w = g.mean_latent(1024, generator=torch.Generator().manual_seed(seed + 1)) if truncation != 1.0 else None
    ws, outs = [], []
    for start in range(0, num, batch):
        n = min(batch, num - start)
        z = g.sample_z(n, generator=gen, device="cpu").to(device)
        cond = _conds(g, n, sampled_cameras, gen, device)
        w_plus = g.mapping(z, cond, truncation=truncation, truncation_latent=trunc_w)
        outs.append(read(g.synthesis(w_plus, cond).image).float().cpu())
        ws.append(w_plus[:, 0].float().cpu())
    return torch.cat(ws), torch.cat(outs)


def fit_backbone_boundary(
    g: Backbone,
    read: Readout,
    readout_names: list[str],
    target: str,
    num: int = 2000,
    fraction: float = 0.1,
    train_ratio: float = 0.7,
    seed: int = 0,
    batch: int = 64,
    sampled_cameras: bool = False,
    conditions: dict[str, Tensor] | None = None,
    out: str | Path | None = None,
) -> BoundaryFit:
    """Sample ``num`` latents of ``g``, label the top/bottom ``fraction`` by the read-out ``target``, fit the SVM.

    Args:
        g: backbone.
        read: read-out function (e.g. :func:`toonlift.stages.offsets.evaluation.analyser_readout`'s).
        readout_names: names of the read-out's dimensions.
        target: the dimension labelling the latents, e.g. ``"yaw"`` or ``"expr_jaw_open"``.
        num, fraction, train_ratio, seed, batch, sampled_cameras: see :func:`sample_and_read` and
            :func:`toonlift.functional.boundaries.train_boundary`.
        conditions: other attributes' unit normals (name -> ``[w_dim]``, e.g. from :func:`load_boundary`) to
            project out: the conditional boundary edits ``target`` without moving along them (InterFaceGAN Sec. 2.3).
            The stored accuracies are those of the unconditioned fit.
        out: ``*.safetensors`` to save the boundary to (plus a JSON sidecar), or ``None``.

    Returns:
        The fit (unit normal towards high ``target``, conditioned when ``conditions`` are given).
    """
    if target not in readout_names:
        raise ConfigError(
            f"The boundary target '{target}' is not a read-out dimension; choose one of {', '.join(readout_names)}."
        )
    ws, scores = sample_and_read(g, read, num, batch=batch, seed=seed, sampled_cameras=sampled_cameras)
    fit = train_boundary(
        ws, scores[:, readout_names.index(target)], fraction, train_ratio, generator=torch.Generator().manual_seed(seed)
    )
    conditions = conditions or {}
    if conditions:
        fit = replace(fit, normal=project_out(fit.normal, *conditions.values()))
    if out is not None:
        meta = {
            "conditioned_on": sorted(conditions),
            "format": FORMAT,
            "name": target,
            "readout": target,
            "backbone": type(g).__name__,
            "num_latents": num,
            "fraction": fraction,
            "train_accuracy": fit.train_accuracy,
            "val_accuracy": fit.val_accuracy,
            "num_val": fit.num_val,
            "bias": fit.bias,
            "seed": seed,
            "sampled_cameras": sampled_cameras,
        }
        save_safetensors(out, {"normal": fit.normal}, meta)
    return fit


def load_boundary(path: str | Path) -> BoundaryFile:
    """A boundary written by :func:`fit_backbone_boundary`."""
    tensors, meta = load_safetensors(path, what="boundary file")
    if meta.get("format") != FORMAT or "normal" not in tensors:
        raise ConfigError(
            f"'{path}' is not a toonlift boundary file (format '{meta.get('format')}'); write one with "
            "toonlift.stages.boundaries.fit_backbone_boundary."
        )
    return BoundaryFile(tensors["normal"], meta["name"], meta["readout"], float(meta["val_accuracy"]), meta)
