"""EG3D camera labels of the synthetic world: exact against the world renderer's own geometry."""

from __future__ import annotations

import dataclasses

import torch

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.plugins.eg3d.camera import split_cond
from toonlift.plugins.eg3d.world_camera import synthetic_cond
from toonlift.synthetic.render import FOV_DEG, FaceRenderer
from toonlift.synthetic.sampler import sample_params


def test_world_cameras_map_rendered_points_to_one_head_frame() -> None:
    params = sample_params(3, range(4))
    renderer = FaceRenderer()
    posed = renderer.camera_vertices(params, "photo")  # [B, V, 3] camera space of the posed heads
    unposed = renderer.camera_vertices(dataclasses.replace(params, pose=torch.zeros_like(params.pose)), "photo")
    head = (unposed - torch.tensor([0.0, 0.0, 1.0])) * torch.tensor([1.0, -1.0, -1.0])  # head frame, y up
    cam2world, intr = split_cond(synthetic_cond(params.pose, 64).double())
    in_world = posed.double() @ cam2world[:, :3, :3].transpose(1, 2) + cam2world[:, None, :3, 3]
    torch.testing.assert_close(in_world, head.double(), atol=1e-5, rtol=0)
    # EG3D's normalised projection lands on the renderer's pixels (pixel centres (j + 0.5) / S vs j)
    s = 64
    pix = project(posed.double(), fov_to_intrinsics(FOV_DEG, s, dtype=torch.float64))[..., :2]
    xy = posed[..., :2].double() / posed[..., 2:].double()
    u = xy * intr[:, None, 0, 0, None] + intr[:, None, 0, 2, None]
    torch.testing.assert_close(u * s - 0.5, pix, atol=1e-4, rtol=0)  # px; the label is float32
    # the unposed camera sits on the head's axis, one unit in front of the pivot
    front = synthetic_cond(torch.zeros(1, 3), 64)
    torch.testing.assert_close(split_cond(front)[0][0, :3, 3], torch.tensor([0.0, 0.0, 1.0]))
