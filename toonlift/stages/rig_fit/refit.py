"""Seed 002's template re-fitting baselines (Eq. 7-8, Table 2): re-fit the coarse fit's expression, or its identity
and expression, to 68 image landmarks, pose, albedo and light kept; and the rigid re-alignment (pose only) that the
gated fine stage starts from.

The objective is the coarse stage's own landmark and prior terms, ``w_l L_lan + w_r (w_id ||a_id||^2 +
w_exp ||a_exp||^2)`` (:mod:`.losses`, 224-px units), minimised by Gauss-Newton (Levenberg-Marquardt damping) on the
stacked residuals: the landmarks are linear in the coefficients before a nearly affine 10-degree perspective, so a
few iterations converge. Expression weights are kept in ``[0, 1]`` by clamping after each step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.stages.rig_fit.losses import PAPER_INPUT
from toonlift.synthetic.render import FOV_DEG

REFIT_GROUPS = {
    "expression": ("expression",),
    "identity+expression": ("identity", "expression"),
    "pose": ("pose",),  # the rigid alignment the fine stage starts from (no prior on the pose)
}


def refit_to_landmarks(
    rig: HeadRigBackbone,
    latent: Tensor,
    landmarks: Tensor,
    groups: str = "identity+expression",
    iterations: int = 8,
    w_lan: float = 2e-3,
    w_reg: float = 3e-4,
    w_id: float = 1.2,
    w_exp: float = 1.0,
    damping: float = 1e-3,
) -> Tensor:
    """Re-fit the ``groups`` of latents ``[B, 53]`` to ``landmarks`` ``[B, 68, 2]`` (pixels at the rig's size).

    Args:
        rig: the ``head_rig`` backbone (its landmark vertices and camera).
        latent: coarse latents ``[B, 53]``; pose, albedo and light stay as they are.
        landmarks: target landmarks ``[B, 68, 2]``.
        groups: ``"expression"`` (002's "Adjust Exp"), ``"identity+expression"`` ("Adjust Id+Exp"), or ``"pose"``
            (yaw, pitch, roll, shift and scale: the rigid alignment to the landmarks, no prior).
        iterations: Gauss-Newton steps.
        w_lan, w_reg, w_id, w_exp: the coarse loss's weights (paper defaults).
        damping: Levenberg-Marquardt damping relative to each coefficient's diagonal of the normal matrix.

    Returns:
        the re-fitted latents ``[B, 53]``.
    """
    if groups not in REFIT_GROUPS:
        raise ConfigError(f"refit_to_landmarks groups must be one of {', '.join(REFIT_GROUPS)}, got {groups!r}.")
    if landmarks.shape[-2:] != (68, 2) or landmarks.shape[0] != latent.shape[0]:
        raise ConfigError(f"refit_to_landmarks needs landmarks [B, 68, 2] for latents [B, 53]; got {landmarks.shape}.")
    names = REFIT_GROUPS[groups]
    cols = torch.cat([torch.arange(SLICES[g].start, SLICES[g].stop) for g in names])  # free coefficients
    prior = {"identity": w_id, "expression": w_exp, "pose": 0.0}
    weights = torch.cat([torch.full((SLICES[g].stop - SLICES[g].start,), prior[g]) for g in names])
    K = fov_to_intrinsics(FOV_DEG, rig.image_size).to(latent)
    unit = PAPER_INPUT / rig.image_size
    lm_scale = (w_lan / 68) ** 0.5 * unit  # residual rows whose squares sum to w_l * L_lan
    reg_scale = (w_reg * weights.to(latent)).sqrt()
    e = SLICES["expression"]
    out = latent.detach().clone()
    for b in range(latent.shape[0]):
        base, target = out[b], landmarks[b].to(latent)

        def residual(free: Tensor, base: Tensor = base, target: Tensor = target) -> Tensor:
            lat = base.index_put((cols,), free)
            obj = rig.mean + torch.einsum("k,kvc->vc", lat[SLICES["identity"]], rig.identity_basis)
            obj = obj + torch.einsum("e,evc->vc", lat[e], rig.expression_basis)
            cam = rig_camera_vertices(obj[None, rig.landmarks], lat[None, SLICES["pose"]])
            lm = project(cam, K)[0, :, :2]
            return torch.cat([((lm - target) * lm_scale).reshape(-1), reg_scale * free])

        free = base[cols].clone()
        for _ in range(iterations):
            r = residual(free)
            J = torch.func.jacrev(residual)(free)  # [136 + P, P]
            JtJ = J.T @ J
            # Marquardt's damping, scaled per coefficient (degrees, camera shifts and log-scale differ by 1e3)
            JtJ = JtJ + torch.diag(damping * JtJ.diagonal() + 1e-12)
            free = free - torch.linalg.solve(JtJ, J.T @ r)
            if "expression" in names:  # expression weights live in [0, 1]
                k = len(free) - (e.stop - e.start)
                free = torch.cat([free[:k], free[k:].clamp(0, 1)])
        out[b, cols] = free
    return out
