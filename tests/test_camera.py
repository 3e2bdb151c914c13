"""Camera conventions: intrinsics, projection round trip, rotation order and pivot, view parsing."""

from __future__ import annotations

import math

import torch

from toonlift.functional.camera import (
    euler_to_rotation,
    fov_to_intrinsics,
    inverse_transform_points,
    pixels_to_ndc,
    project,
    rotation_x,
    rotation_y,
    rotation_z,
    transform_points,
    unproject,
    view_to_transform,
)


def test_intrinsics_match_reference_formula():
    K = fov_to_intrinsics(10.0, 128)
    f = 127 / 2 / math.tan(math.radians(5.0))
    assert torch.allclose(K, torch.tensor([[f, 0, 63.5], [0, f, 63.5], [0, 0, 1.0]]))
    K2 = fov_to_intrinsics(10.0, (48, 64))
    assert K2[0, 2] == 31.5 and K2[1, 2] == 23.5 and K2[0, 0] == K2[1, 1]


def test_project_unproject_round_trip_and_axes():
    K = fov_to_intrinsics(20.0, 65)
    pts = torch.tensor([[0.1, -0.05, 1.2], [-0.2, 0.1, 0.9]])
    back = unproject(project(pts, K), K)
    assert torch.allclose(back, pts, atol=1e-6)
    # +X projects right of the centre and +Y below it (image rows grow downwards)
    px = project(torch.tensor([[0.1, 0.1, 1.0]]), K)[0]
    assert px[0] > 32 and px[1] > 32


def test_ndc_corners():
    xy = torch.tensor([[0.0, 0.0], [9.0, 4.0]])
    assert torch.allclose(pixels_to_ndc(xy, 5, 10), torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))


def test_rotation_order_is_rz_ry_rx_and_orthonormal():
    a = torch.tensor([[0.3, -0.7, 1.1]])
    R = euler_to_rotation(a)
    expected = rotation_z(a[:, 2]) @ rotation_y(a[:, 1]) @ rotation_x(a[:, 0])
    assert torch.allclose(R, expected)
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3)[None], atol=1e-6)
    assert torch.allclose(torch.linalg.det(R), torch.ones(1))
    # a positive yaw moves a point in front of the camera towards +X... about the camera Y axis
    p = rotation_y(torch.tensor([math.pi / 2])) @ torch.tensor([0.0, 0.0, 1.0])
    assert torch.allclose(p, torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6)


def test_pivot_is_fixed_and_inverse_undoes_transform():
    view = torch.tensor([[0.2, -0.4, 0.1, 0.05, -0.02, 0.03]])
    rot, trans = view_to_transform(view)
    pivot = torch.tensor([[[0.0, 0.0, 1.0]]])
    moved = transform_points(pivot, rot, trans, rot_center_depth=1.0)
    assert torch.allclose(moved, pivot + trans[:, None], atol=1e-6)
    pts = torch.randn(1, 50, 3) * 0.1 + torch.tensor([0.0, 0.0, 1.0])
    back = inverse_transform_points(transform_points(pts, rot, trans), rot, trans)
    assert torch.allclose(back, pts, atol=1e-6)


def test_view_shapes():
    rot, trans = view_to_transform(torch.tensor([[0.0, 0.0, 0.0, 0.1, 0.2]]))
    assert torch.allclose(trans, torch.tensor([[0.1, 0.2, 0.0]]))
    rot, trans = view_to_transform(torch.zeros(2, 3))
    assert trans.shape == (2, 3) and torch.allclose(rot, torch.eye(3).expand(2, 3, 3))
