"""Multi-view and pasted-render figures of StyleFaceUV against the synthetic world (inverted faces, known truth).

* :func:`world_turned`: the world's own photo renders of faces turned to ``(yaw, 0, 0)``, over white outside the
  head (the truth of the multi-view figures; the world's backdrop is not something a face model should draw).
* :func:`rig_turned`: the rig (any latents, a diffuse map, an optional displacement map) at the same poses, over
  white; with the rig's own albedo map this is "the rig fit alone".
* :func:`plane_turned`: ``G(w)`` on a flat card through the head centre, turned by ``yaw - yaw_G`` (the 2D
  baseline: the image itself, rotated as a plane).
* :func:`view_scores`: analyser-perceptual distance, PSNR and SSIM per face between two view stacks.
* :func:`unwrap_to_uv`: an image read back into UV space through a rig render's vertices (what a view tells the
  UV map about each texel it sees); the mirror tests use it.
* :func:`pasted_features`: analyser features of renders pasted onto ``G(w)`` (the paper's FID set-up).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.plugins.head_rig.backbone import rig_camera_vertices
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.synthetic.render import FOV_DEG, HEAD_SCALE, FaceRenderer
from toonlift.synthetic.sampler import sample_params

YAW = SLICES["pose"].start


def over_white(image: Tensor, mask: Tensor) -> Tensor:
    """``image [B, 3, S, S]`` in ``[-1, 1]`` with white (1) where ``mask [B, 1, S, S]`` is 0."""
    return image * mask + (1 - mask)


@torch.no_grad()
def world_turned(seed: int, indices: list[int], yaws: list[float], size: int) -> Tensor:
    """World photo renders ``[F, V, 3, S, S]`` of faces ``indices`` of ``seed`` at ``(yaw, 0, 0)``, over white."""
    params = sample_params(seed, indices)
    renderer = FaceRenderer()
    views = []
    for yaw in yaws:
        pose = torch.zeros_like(params.pose)
        pose[:, 0] = yaw
        out = renderer(dataclasses.replace(params, pose=pose), "photo", size, ("mask",))
        views.append(over_white(out["image"], out["mask"]))
    return torch.stack(views, 1)


def turned_latents(latent: Tensor, yaw: float) -> Tensor:
    """``latent [B, 53]`` with the pose ``(yaw, 0, 0)``, no shift, unit scale (the world's turned views)."""
    out = latent.clone()
    out[:, SLICES["pose"]] = 0
    out[:, YAW] = yaw
    return out


@torch.no_grad()
def rig_turned(
    renderer: UVRigRenderer, latent: Tensor, diffuse: Tensor, displacement: Tensor | None, yaws: list[float]
) -> Tensor:
    """Rig renders ``[F, V, 3, S, S]`` of ``latent [F, 53]`` with the maps at each yaw (pitch, roll 0), over white."""
    views = []
    for yaw in yaws:
        r = renderer(turned_latents(latent, yaw), diffuse, displacement, visibility=False)
        views.append(over_white(r.image, r.mask))
    return torch.stack(views, 1)


@torch.no_grad()
def plane_turned(image: Tensor, own_yaw: Tensor, yaws: list[float]) -> Tensor:
    """``image [F, 3, S, S]`` on a flat card filling the frame at the head centre (depth 1), turned about the
    vertical axis by ``yaw - own_yaw [F]`` for each yaw; unlit, over white: ``[F, V, 3, S, S]``."""
    size = image.shape[-1]
    half = math.tan(math.radians(FOV_DEG) / 2) / HEAD_SCALE  # object units from the centre to the frame edge
    corners = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    obj = (corners * half)[None].expand(image.shape[0], -1, -1)
    uv = ((corners[:, :2] + 1) / 2)[None]  # v up, as object y
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    mesh = MeshRenderer(image_size=size, fov=FOV_DEG, shading="none", background=(1.0, 1.0, 1.0))
    views = []
    for yaw in yaws:
        pose = torch.zeros(image.shape[0], 6)
        pose[:, 0] = yaw - own_yaw
        out = mesh(rig_camera_vertices(obj, pose), faces, uv=uv.to(image), texture=image)
        views.append(out.image)
    return torch.stack(views, 1)


@torch.no_grad()
def view_scores(pred: Tensor, true: Tensor, perceptual: nn.Module) -> dict[str, Tensor]:
    """Per-image ``{"perceptual", "psnr", "ssim"}`` ``[N]`` of ``pred`` against ``true`` ``[N, 3, S, S]`` in
    ``[-1, 1]`` (PSNR / SSIM on ``[0, 1]``)."""
    a, b = (pred.clamp(-1, 1) + 1) / 2, (true.clamp(-1, 1) + 1) / 2
    psnr = torch.stack([peak_signal_noise_ratio(x[None], y[None], data_range=1.0) for x, y in zip(a, b)])
    ssim = torch.stack([structural_similarity_index_measure(x[None], y[None], data_range=1.0) for x, y in zip(a, b)])
    return {"perceptual": perceptual.distance(pred, true), "psnr": psnr, "ssim": ssim}


@torch.no_grad()
def unwrap_to_uv(renderer: UVRigRenderer, latent: Tensor, image: Tensor) -> tuple[Tensor, Tensor]:
    """What a view tells the UV map: ``image [B, 3, S, S]`` read at each texel's pixel under ``latent`` (the rig's
    vertices projected, baked to UV), and the texels that view sees: ``([B, 3, T, T], [B, 1, T, T])``."""
    grey = torch.zeros(latent.shape[0], 3, renderer.uv_size, renderer.uv_size, dtype=image.dtype)
    r = renderer(latent, grey, None)
    k = fov_to_intrinsics(FOV_DEG, renderer.image_size).to(image.dtype)
    screen = project(r.vertices, k)[..., :2]  # [B, V, 2] pixel coordinates, centres at integers
    where, _ = renderer.bake_vertex_attributes(screen)  # [B, 2, T, T]
    s = renderer.image_size
    grid = ((where + 0.5) / s * 2 - 1).permute(0, 2, 3, 1)  # align_corners=False pixel centres
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False), r.texels


@torch.no_grad()
def pasted_features(
    renderer: UVRigRenderer, features: nn.Module, latent: Tensor, diffuse: Tensor, displacement: Tensor | None,
    background: Tensor,
) -> Tensor:  # fmt: skip
    """Features ``[B, d]`` of the rig (``latent``'s own pose and light, the maps) pasted over ``background``."""
    return features(renderer(latent, diffuse, displacement, background=background, visibility=False).image)


__all__ = [
    "over_white",
    "pasted_features",
    "plane_turned",
    "rig_turned",
    "turned_latents",
    "unwrap_to_uv",
    "view_scores",
    "world_turned",
]
