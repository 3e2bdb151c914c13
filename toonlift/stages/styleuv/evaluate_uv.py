"""Figures of StyleFaceUV's UV generator against the synthetic world's truth (inverted faces with known latents).

* :func:`diffuse_errors`: the predicted diffuse map against the true one (the rig's albedo baked into UV space),
  mean absolute error in ``[-1, 1]`` units on the texels the face's own view sees ("visible") and on the front-of-
  head texels it does not see ("hidden"; the front = texels seen from yaw -45, 0 or 45). Light and albedo trade
  off (a brighter map under a dimmer light renders the same), so each face's map first gets the per-channel gain
  that fits it best on its visible texels (least squares); the raw error is reported too.
* :func:`depth_errors`: SIDE and MAD (Unsup3d's, ``toonlift.functional.depth_metrics``) of a rig render's depth
  against the world's true depth on the world's face mask, for the F_3D rig alone, the rig with the displacement
  map, and a flat plane.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.functional.camera import fov_to_intrinsics
from toonlift.functional.depth_metrics import depth_scores
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.synthetic.render import FOV_DEG


def front_texels(renderer: UVRigRenderer, latent: Tensor, diffuse: Tensor) -> Tensor:
    """Texels ``[B, 1, T, T]`` seen from yaw -45, 0 or 45 (pitch and roll 0) of each face: the front of the head."""
    seen = torch.zeros_like(diffuse[:, :1])
    for yaw in (-45.0, 0.0, 45.0):
        lat = latent.clone()
        lat[:, SLICES["pose"]] = 0
        lat[:, SLICES["pose"].start] = yaw
        seen = torch.maximum(seen, renderer(lat, diffuse, None).texels)
    return seen


def _gain(pred: Tensor, true: Tensor, mask: Tensor) -> Tensor:
    """Per-face, per-channel gain ``[B, 3, 1, 1]`` minimising ``||g (pred+1) - (true+1)||²`` on ``mask``
    (in ``[0, 2]`` reflectance units, so the gain scales reflectance, not the ``[-1, 1]`` offset)."""
    p, t = (pred + 1) * mask, (true + 1) * mask
    return ((p * t).sum((2, 3), keepdim=True) / (p * p).sum((2, 3), keepdim=True).clamp_min(1e-8)).clamp(0.25, 4)


@torch.no_grad()
def diffuse_errors(renderer: UVRigRenderer, true_latent: Tensor, diffuse: Tensor) -> dict[str, Tensor]:
    """Per-face ``[B]`` errors of predicted diffuse maps ``[B, 3, T, T]`` on visible and hidden front texels."""
    truth = renderer.true_diffuse(true_latent)
    seen = renderer(true_latent, truth, None).texels
    front = front_texels(renderer, true_latent, truth)
    hidden = front * (1 - seen)
    visible = seen * front
    gain = _gain(diffuse, truth, visible)
    corrected = gain * (diffuse + 1) - 1

    def err(pred: Tensor, mask: Tensor) -> Tensor:
        return ((pred - truth).abs().mean(1, keepdim=True) * mask).sum((1, 2, 3)) / mask.sum((1, 2, 3)).clamp_min(1)

    return {
        "visible": err(corrected, visible),
        "hidden": err(corrected, hidden),
        "visible_raw": err(diffuse, visible),
        "hidden_raw": err(diffuse, hidden),
        "hidden_texels": hidden.sum((1, 2, 3)),
    }


@torch.no_grad()
def depth_errors(
    renderer: UVRigRenderer, latent: Tensor, displacement: Tensor, gt_depth: Tensor, gt_mask: Tensor
) -> dict[str, dict[str, Tensor]]:
    """SIDE / MAD ``[B]`` of the rig (``latent`` from F_3D) with and without ``displacement`` and of a flat plane,
    against ``gt_depth`` / ``gt_mask`` ``[B, S, S]`` (the renderer's size)."""
    k = fov_to_intrinsics(FOV_DEG, renderer.image_size, device=gt_depth.device).to(gt_depth.dtype)
    grey = torch.zeros(latent.shape[0], 3, renderer.uv_size, renderer.uv_size, device=latent.device)
    out = {}
    for name, disp in (("rig", None), ("rig+displacement", displacement)):
        r = renderer(latent, grey, disp, visibility=False)
        scores = depth_scores(r.depth[:, 0], gt_depth, gt_mask, r.mask[:, 0], k)
        out[name] = {"side": scores["side"], "mad": scores["mad"]}
    flat = torch.full_like(gt_depth, float(gt_depth[gt_mask > 0].median()))
    scores = depth_scores(flat, gt_depth, gt_mask, torch.ones_like(gt_mask), k)
    out["flat plane"] = {"side": scores["side"], "mad": scores["mad"]}
    return out


__all__ = ["depth_errors", "diffuse_errors", "front_texels"]
