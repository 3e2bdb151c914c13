"""Variants of an avatar: the trained V/L/D/A networks reconstruct other latents of the same person.

GAN2Shape's networks are image-conditioned encoder-decoders: once they have learnt one face, a forward pass on an
edited image of it (a Stage-2 expression ``w ± w*``) gives that expression's depth, albedo, view and light without
another optimisation. This is the paper's "same avatar for each expression" at the cost of one forward pass.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from toonlift.errors import DataError
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.projector import resize
from toonlift.utils.io import load_safetensors


def load_variants(path: str | Path, count: int, w_dim: int) -> tuple[Tensor, list[str]]:
    """Variant latents ``[N, V, w_dim]`` (safetensors key ``w``) and their ``V`` names (sidecar ``names``).

    Args:
        path: the file (written e.g. by the demo from Stage-2 outputs).
        count: number of images ``N`` the VLDA run reconstructs.
        w_dim: the generator's ``w`` size.
    """
    tensors, meta = load_safetensors(Path(path).expanduser(), what="variant latents file")
    w = tensors.get("w")
    if w is None or w.dim() != 3 or w.shape[0] != count or w.shape[2] != w_dim:
        shape = None if w is None else tuple(w.shape)
        raise DataError(f"'{path}' must hold 'w' [N={count}, V, {w_dim}] (one row of variants per image); got {shape}.")
    if not torch.isfinite(w).all():
        raise DataError(f"'{path}' holds NaN or infinite latents.")
    names = list(meta.get("names") or [f"variant{v}" for v in range(w.shape[1])])
    if len(names) != w.shape[1] or len(set(names)) != len(names) or any("/" in n or not n for n in names):
        raise DataError(f"'{path}': the sidecar's 'names' must be {w.shape[1]} distinct folder names, got {names}.")
    return w.float(), names


@torch.no_grad()
def write_variants(
    nets: rc.VLDANets,
    generator: nn.Module,
    ws: Tensor,
    names: list[str],
    image_size: int,
    renderer: nn.Module,
    ranges: rc.Ranges,
    folder: Path,
    gif_frames: int = 24,
) -> dict[str, dict[str, float]]:
    """Reconstruct each variant ``G(ws[v])`` with the trained networks; write ``folder/<name>/`` like an avatar.

    Args:
        nets: the networks trained on the avatar's own image.
        generator: the generator (rendered with constant noise, as the avatar's input).
        ws: variant latents ``[V, w_dim]``.
        names: one folder name per variant.
        image_size: reconstruction size.
        renderer: the depth-map renderer of the run.
        ranges: depth range of the run.
        folder: the avatar's folder.
        gif_frames: frames of each rotation GIF.

    Returns:
        ``{name: {"l1": reconstruction L1}}``.
    """
    scores = {}
    for name, w in zip(names, ws, strict=True):
        image = resize(generator.synthesis(w[None], noise_mode="const").image, image_size).clamp(-1, 1)
        canon = rc.predict_canonical(nets, image, renderer, ranges)
        recon, _, _ = rc.render_view(renderer, canon.texture, canon.depth, canon.view)
        scores[name] = {"l1": float((recon - image).abs().mean())}
        write_avatar(folder / name, canon, image, recon, renderer, scores[name], gif_frames=gif_frames)
    return scores
