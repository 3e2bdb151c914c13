"""Seed 002's fine reconstruction on the rig: a Laplacian deformation of the coarse mesh onto 68 image landmarks.

Eq. 11 in the rig's camera: each target landmark (pixels) is lifted to 3D on its camera ray at the depth of the
coarse landmark vertex (``unproject``), taken back to object space through the inverse pose, and Eq. 10's solve
(:class:`~toonlift.functional.laplacian.LaplacianDeformer`, umbrella Laplacian by default) pulls the 68 landmark
vertices there while the rest of the mesh keeps its differential coordinates. The result reproduces the landmarks
by construction; whether the 3D surface improves depends on how good the coarse fit was (``docs/rig.md``), hence
the gate (``GATED``: keep a coarse fit whose mean landmark residual is within 3 px at 256 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.camera import fov_to_intrinsics, project, unproject
from toonlift.functional.laplacian import LaplacianDeformer
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices, rig_object_points
from toonlift.plugins.head_rig.latent import split_latent
from toonlift.synthetic.render import FOV_DEG


@dataclass
class Refinement:
    """A refined face.

    Attributes:
        object_vertices: ``[V, 3]`` refined vertices in head units (object space).
        camera_vertices: ``[V, 3]`` the same in camera space (the coarse pose).
        coarse_object_vertices: ``[V, 3]`` the coarse mesh it started from.
        landmarks: ``[68, 2]`` refined landmarks projected to pixels.
        shift: ``[68, 2]`` pixels each anchor was asked to move after the gate (0 where the gate held it).
        latent: ``[53]`` the latent whose pose places the result (the coarse one, or its re-aligned pose).
        gated: True when the gate kept the coarse mesh (no Laplacian solve).
    """

    object_vertices: Tensor
    camera_vertices: Tensor
    coarse_object_vertices: Tensor
    landmarks: Tensor
    shift: Tensor | None = None
    latent: Tensor | None = None
    gated: bool = False


# The gated fine stage measured in benchmarks/bench_rig_tables.py: pass **GATED to refine_to_landmarks.
GATED = {"gate_px": 3.0}


def shrunk_targets(coarse: Tensor, landmarks: Tensor, shrink_px: float, px_scale: float) -> Tensor:
    """Soft-threshold each landmark's residual by ``shrink_px``.

    Each target moves from the coarse landmark ``coarse`` ``[68, 2]`` toward the detected one by its residual
    shortened by ``shrink_px`` (``px_scale`` converts the rig's pixels to its units): a landmark within
    ``shrink_px`` of the coarse fit stays where the coarse fit put it (an anchor that holds the surface), one far off
    moves by ``|r| - shrink_px``. Returns the targets ``[68, 2]``.
    """
    r = landmarks - coarse
    norm = r.norm(dim=-1, keepdim=True) * px_scale  # [68, 1] in the threshold's units
    keep = (1 - shrink_px / norm.clamp_min(1e-12)).clamp_min(0.0)
    return coarse + keep * r


def refine_to_landmarks(
    rig: HeadRigBackbone,
    latent: Tensor,
    landmarks: Tensor,
    weight: float = 10.0,
    kind: str = "uniform",
    gate_px: float = 0.0,
    gate_size: int = 256,
    shrink_px: float = 0.0,
    align_pose: bool = False,
) -> Refinement:
    """Deform the rig's mesh of one ``latent`` ``[53]`` (or ``[1, 53]``) onto ``landmarks`` ``[68, 2]`` pixels at
    the rig's resolution (Eq. 9-11).

    Args:
        rig: the ``head_rig`` backbone whose mesh and camera are used.
        latent: the coarse fit.
        landmarks: detected landmarks ``[68, 2]``, pixels at ``rig.image_size``.
        weight: ``lambda`` of Eq. 10 (anchor weight).
        kind: ``"uniform"`` (the paper's umbrella Laplacian) or ``"cotangent"``.
        gate_px: the gate, in pixels of a ``gate_size`` image: a coarse fit whose landmarks lie on average within
            ``gate_px`` of ``landmarks`` is kept as it is (no solve). 0 = the paper (always refine).
        gate_size: image side the gate's pixels refer to.
        shrink_px: shorten every residual by this many pixels (:func:`shrunk_targets`) before the solve (0: every
            anchor moves onto its landmark, as the paper).
        align_pose: first re-fit the pose (yaw, pitch, roll, shift, scale) to the landmarks
            (:func:`~.refit.refit_to_landmarks`).

    ``GATED`` is the rule measured on synthetic faces (``benchmarks/bench_rig_tables.py``, ``docs/rig.md``): the
    mean-residual gate at 3 px (256-px units), then the paper's solve. A coarse fit that is already close leaves a
    residual that is mostly shape the basis cannot express where the landmarks sit (toon+ eyes clipped to the photo
    prior: residuals 1.5-2.6 px); pulling 68 vertices onto it moves the surface around them the wrong way in 3D (the
    camera-space vertex error rose on 15 of 16 such faces). On regressed fits the solve lowered it on every face.
    Re-aligning the pose first, or shortening the residuals, measured worse (``docs/rig.md``).
    """
    from toonlift.stages.rig_fit.refit import refit_to_landmarks

    flat = latent.detach().reshape(1, -1).float()
    if landmarks.shape != (68, 2):
        raise ConfigError(f"refine_to_landmarks needs 68 landmarks [68, 2] in pixels, got {tuple(landmarks.shape)}.")
    if gate_px < 0 or shrink_px < 0 or gate_size < 1:
        raise ConfigError(
            f"refine_to_landmarks needs gate_px >= 0, shrink_px >= 0 and gate_size >= 1, got {gate_px}, {shrink_px}, "
            f"{gate_size}."
        )
    lat = split_latent(flat)
    K = fov_to_intrinsics(FOV_DEG, rig.image_size)
    lm_idx = rig.landmarks
    with torch.no_grad():
        obj = rig.object_vertices(lat)  # [1, V, 3]
        cam = rig_camera_vertices(obj, lat.pose)
        coarse_lm = project(cam[:, lm_idx], K)[0, :, :2]
    px = gate_size / rig.image_size
    residual = float((landmarks.to(cam) - coarse_lm).norm(dim=-1).mean()) * px
    if gate_px > 0 and residual <= gate_px:  # the coarse fit is within the gate: keep it
        return Refinement(obj[0], cam[0], obj[0], coarse_lm, torch.zeros_like(coarse_lm), flat[0], gated=True)
    if align_pose:
        flat = refit_to_landmarks(rig, flat, landmarks[None].to(flat), groups="pose")
        lat = split_latent(flat)
    with torch.no_grad():
        cam = rig_camera_vertices(obj, lat.pose)
        coarse_lm = project(cam[:, lm_idx], K)[0, :, :2]
        targets_px = landmarks.to(cam)
        if shrink_px > 0:
            targets_px = shrunk_targets(coarse_lm, targets_px, shrink_px, px)
        shift = targets_px - coarse_lm  # [68, 2]
        depth = cam[0, lm_idx, 2:3]  # Eq. 11: the coarse landmark vertices' depth
        rays = unproject(torch.cat([targets_px, depth], -1)[None], K)  # [1, 68, 3]
        targets = rig_object_points(rays, lat.pose)[0]
    deformer = LaplacianDeformer(obj[0].double().numpy(), rig.faces.numpy(), lm_idx.numpy(), weight, kind)
    fine = torch.from_numpy(deformer.solve(targets.double().numpy()).astype(np.float32))
    fine_cam = rig_camera_vertices(fine[None], lat.pose)[0]

    return Refinement(
        object_vertices=fine,
        camera_vertices=fine_cam,
        coarse_object_vertices=obj[0],
        landmarks=project(fine_cam[None, lm_idx], K)[0, :, :2],
        shift=shift,
        latent=flat[0],
    )
