"""Seed 002's fine reconstruction on the rig: a Laplacian deformation of the coarse mesh onto 68 image landmarks.

Eq. 11 in the rig's camera: each target landmark (pixels) is lifted to 3D on its camera ray at the depth of the
coarse landmark vertex (``unproject``), taken back to object space through the inverse pose, and Eq. 10's solve
(:class:`~toonlift.functional.laplacian.LaplacianDeformer`, umbrella Laplacian by default) pulls the 68 landmark
vertices there while the rest of the mesh keeps its differential coordinates. The result reproduces the landmarks
by construction; whether the 3D surface improves depends on how good the coarse fit was (``docs/rig.md``), so callers
should only refine when the coarse landmark residual is large.
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
    """

    object_vertices: Tensor
    camera_vertices: Tensor
    coarse_object_vertices: Tensor
    landmarks: Tensor


def refine_to_landmarks(
    rig: HeadRigBackbone, latent: Tensor, landmarks: Tensor, weight: float = 10.0, kind: str = "uniform"
) -> Refinement:
    """Deform the rig's mesh of one ``latent`` ``[53]`` (or ``[1, 53]``) onto ``landmarks`` ``[68, 2]`` pixels at
    the rig's resolution (Eq. 9-11)."""
    lat = split_latent(latent.detach().reshape(1, -1).float())
    if landmarks.shape != (68, 2):
        raise ConfigError(f"refine_to_landmarks needs 68 landmarks [68, 2] in pixels, got {tuple(landmarks.shape)}.")
    with torch.no_grad():
        obj = rig.object_vertices(lat)  # [1, V, 3]
        cam = rig_camera_vertices(obj, lat.pose)
        K = fov_to_intrinsics(FOV_DEG, rig.image_size).to(cam)
        lm_idx = rig.landmarks
        depth = cam[0, lm_idx, 2:3]  # Eq. 11: the coarse landmark vertices' depth
        rays = unproject(torch.cat([landmarks.to(cam), depth], -1)[None], K)  # [1, 68, 3]
        targets = rig_object_points(rays, lat.pose)[0]
    deformer = LaplacianDeformer(obj[0].double().numpy(), rig.faces.numpy(), lm_idx.numpy(), weight, kind)
    fine = torch.from_numpy(deformer.solve(targets.double().numpy()).astype(np.float32))
    fine_cam = rig_camera_vertices(fine[None], lat.pose)[0]

    return Refinement(
        object_vertices=fine,
        camera_vertices=fine_cam,
        coarse_object_vertices=obj[0],
        landmarks=project(fine_cam[None, lm_idx], K)[0, :, :2],
    )
