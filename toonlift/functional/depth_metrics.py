"""Depth accuracy as Unsup3d defines it: scale-invariant depth error (SIDE) and mean angle deviation (MAD).

Both are computed in the input view on pixels that are foreground in the ground truth *and* seen by the
reconstruction, each mask eroded by one pixel (a 3x3 average pool must stay above 0.99).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.functional.shading import depth_normals


def erode(mask: Tensor) -> Tensor:
    """Erode a ``[B, H, W]`` binary mask by one pixel (3x3 neighbourhood, zero padding counts as off)."""
    pooled = F.avg_pool2d(mask.float().unsqueeze(1), 3, stride=1, padding=1, count_include_pad=True)
    return (pooled.squeeze(1) > 0.99).float()


def evaluation_mask(gt_foreground: Tensor, pred_valid: Tensor) -> Tensor:
    """Unsup3d's metric mask ``[B, H, W]``: the product of both masks, each eroded by one pixel."""
    return erode(gt_foreground) * erode(pred_valid)


def side(pred_depth: Tensor, gt_depth: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale-invariant depth error ``[B]``: ``sqrt(mean_mask((D - mean_mask D)^2))``, ``D = log pred - log gt``.

    Args:
        pred_depth: ``[B, H, W]`` positive depth.
        gt_depth: ``[B, H, W]`` positive depth.
        mask: ``[B, H, W]`` pixels to score.
    """
    delta = pred_depth.clamp_min(eps).log() - gt_depth.clamp_min(eps).log()
    n = mask.flatten(1).sum(1).clamp_min(1.0)
    mean = (delta * mask).flatten(1).sum(1) / n
    sq = ((delta - mean.view(-1, 1, 1)) ** 2 * mask).flatten(1).sum(1)
    return (sq / n).sqrt()


def angle_map(normals_a: Tensor, normals_b: Tensor) -> Tensor:
    """Angle in degrees ``[B, H, W]`` between unit normal maps ``[B, H, W, 3]``."""
    cos = (normals_a * normals_b).sum(-1).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.acos(cos))


def mad(pred_depth: Tensor, gt_depth: Tensor, mask: Tensor, intrinsics: Tensor) -> Tensor:
    """Mean angle deviation ``[B]`` in degrees between the normals of two depth maps ``[B, H, W]`` on ``mask``."""
    angles = angle_map(depth_normals(pred_depth, intrinsics), depth_normals(gt_depth, intrinsics))
    return (angles * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1.0)


def depth_scores(
    pred_depth: Tensor, gt_depth: Tensor, gt_foreground: Tensor, pred_valid: Tensor, intrinsics: Tensor
) -> dict[str, Tensor]:
    """SIDE, MAD, MAE and MSE ``[B]`` each, on :func:`evaluation_mask`."""
    mask = evaluation_mask(gt_foreground, pred_valid)
    n = mask.flatten(1).sum(1).clamp_min(1.0)
    diff = pred_depth - gt_depth
    return {
        "side": side(pred_depth, gt_depth, mask),
        "mad": mad(pred_depth, gt_depth, mask, intrinsics),
        "mae": (diff.abs() * mask).flatten(1).sum(1) / n,
        "mse": (diff**2 * mask).flatten(1).sum(1) / n,
    }
