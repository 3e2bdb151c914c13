"""Per-avatar scores: reconstruction L1 and LPIPS against the input, SIDE/MAD against ground-truth depth."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toonlift.functional.depth_metrics import depth_scores
from toonlift.stages.vlda import reconstructor as rc


@torch.no_grad()
def depth_metrics(renderer: nn.Module, depth: Tensor, view: Tensor, gt_depth: Tensor, gt_mask: Tensor) -> dict:
    """SIDE, MAD, MAE, MSE of canonical ``depth`` ``[1, H, W]`` seen from ``view`` (Unsup3d scores the depth in the
    input view, ``recon_depth``) against ``gt_depth`` with foreground ``gt_mask`` ``[1, H, W]``."""
    recon_depth = renderer.warp_canon_depth(depth, view)
    valid = renderer.valid_mask(recon_depth)[:, 0]
    scores = depth_scores(recon_depth, gt_depth, gt_mask, valid, renderer.K)
    return {k: float(v.mean()) for k, v in scores.items()}


@torch.no_grad()
def evaluate(
    nets: rc.VLDANets,
    image: Tensor,
    renderer: nn.Module,
    ranges: rc.Ranges,
    perceptual: nn.Module | None = None,
    gt_depth: Tensor | None = None,
    gt_mask: Tensor | None = None,
) -> dict[str, float]:
    """Scores of the current model on its input ``[1, 3, H, W]``: ``l1``, the perceptual distance under the perceptual
    plugin's own name (``lpips`` for LPIPS, ``analyser_perceptual`` for the synthetic analyser's), and
    ``side``/``mad``/``mae``/``mse`` when ground truth is given."""
    canon = rc.predict_canonical(nets, image, renderer, ranges)
    recon, _, _ = rc.render_view(renderer, canon.texture, canon.depth, canon.view)
    entry: dict[str, float] = {"l1": float((recon - image).abs().mean())}
    if perceptual is not None and hasattr(perceptual, "distance"):
        entry[perceptual.name] = float(perceptual.distance(recon, image).mean())
    if gt_depth is not None and gt_mask is not None:
        entry.update(depth_metrics(renderer, canon.depth, canon.view, gt_depth, gt_mask))
    return entry
