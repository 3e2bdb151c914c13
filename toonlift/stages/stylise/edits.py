"""Expression edit directions for stylised avatars: InterFaceGAN boundaries fitted in the *original* 3D generator.

One sample of latents is read once by the synthetic analyser and a linear SVM is fitted per target
(:func:`toonlift.functional.boundaries.train_boundary`), or the boundaries come from ``toonlift fit-boundary`` files.
Both Your3dEmoji (edits in the EG3D latent, Sec. 3.4) and 3DArtmator (the original's directions applied to the
stylised copy) use them unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.boundaries import train_boundary
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.stages.boundaries.fit import load_boundary, sample_and_read
from toonlift.stages.offsets.evaluation import analyser_readout

DEFAULT_TARGETS = ("expr_jaw_open", "expr_smile_left", "expr_blink_left")


def fit_edit_normals(
    g: EG3DBackbone, targets: tuple[str, ...] = DEFAULT_TARGETS, num: int = 200, fraction: float = 0.2, seed: int = 0
) -> tuple[dict[str, Tensor], dict[str, float]]:
    """``({target: unit normal [w_dim]}, {target: held-out accuracy})`` from ``num`` latents of ``g``."""
    net, read, names = analyser_readout(None)
    net = net.to(g.mapping_net.w_avg.device).eval()
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise ConfigError(f"Unknown edit target(s) {unknown}; choose among {', '.join(names)}.")
    if num < 10:
        raise ConfigError(f"Fitting edit directions needs at least 10 latents (--boundary_samples), got {num}.")
    with torch.no_grad():
        ws, scores = sample_and_read(g, read, num, batch=16, seed=seed)
    normals, accuracy = {}, {}
    for t in targets:
        fit = train_boundary(
            ws, scores[:, names.index(t)], fraction, 0.7, generator=torch.Generator().manual_seed(seed)
        )
        normals[t], accuracy[t] = fit.normal, fit.val_accuracy
    return normals, accuracy


def load_edit_normals(paths: list[str], w_dim: int) -> dict[str, Tensor]:
    """Boundary files of ``toonlift fit-boundary`` as ``{name: normal}``; each must be ``[w_dim]``."""
    out = {}
    for path in paths:
        b = load_boundary(path)
        if b.normal.shape != (w_dim,):
            raise ConfigError(
                f"The boundary '{path}' is {tuple(b.normal.shape)}, but this generator's w has {w_dim} dimensions; "
                "fit it on the same generator (toonlift fit-boundary --generator ...)."
            )
        out[b.name] = b.normal
    return out
