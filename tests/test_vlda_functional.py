"""Pure Stage-3 math: ellipsoid prior, depth/view/light decoding, pseudo sampling, SIDE/MAD, latent projection."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from toonlift.errors import DataError
from toonlift.functional.camera import fov_to_intrinsics
from toonlift.functional.depth_metrics import depth_scores, erode, mad, side
from toonlift.functional.shading import depth_normals
from toonlift.stages.vlda.ellipsoid import ellipsoid_depth, ellipsoid_from_mask, face_box_adjust, mask_box
from toonlift.stages.vlda.latent_projection import masked_feature_l1, relative_offset_latent
from toonlift.stages.vlda.vlda_params import (
    PseudoSampling,
    decode_light,
    decode_view,
    rescale_depth,
    shade,
)


def test_ellipsoid_apex_rim_and_background() -> None:
    box = (10.0, 50.0, 12.0, 52.0)  # square box centred at (30, 32), half width 20
    d = ellipsoid_depth(64, 64, box)
    assert d[30, 32].item() == pytest.approx(0.91, abs=1e-6)  # apex at `near`
    assert d[0, 0].item() == pytest.approx(1.02) and d[63, 63].item() == pytest.approx(1.02)
    assert d[30, 52].item() == pytest.approx(1.02, abs=1e-5)  # rim (dist = r) reaches `far`
    assert d.min() >= 0.91 - 1e-6 and d.max() <= 1.02 + 1e-6
    # symmetric about the centre column, increasing with the distance
    assert torch.allclose(d[:, 32 - 5], d[:, 32 + 5])
    assert d[30, 40] > d[30, 35] > d[30, 32]


def test_ellipsoid_is_stretched_by_box_aspect() -> None:
    d = ellipsoid_depth(64, 64, (2.0, 62.0, 17.0, 47.0))  # twice as tall as wide
    # 10 rows below the centre is as deep as 5 columns beside it
    assert d[32 + 10, 32].item() == pytest.approx(d[32, 32 + 5].item(), abs=1e-5)


def test_mask_box_and_adjust() -> None:
    m = torch.zeros(32, 32)
    m[4:20, 8:20] = 1.0
    assert mask_box(m) == (4.0, 19.0, 8.0, 19.0)
    min_y, max_y, min_x, max_x = face_box_adjust(mask_box(m), 32, "face")
    assert max_y == 31 and min_x == pytest.approx(8 + 11 / 12) and max_x == pytest.approx(19 - 11 / 12)
    with pytest.raises(DataError, match="empty"):
        ellipsoid_from_mask(torch.zeros(16, 16))


def test_rescale_depth_range_and_border() -> None:
    raw = torch.randn(2, 1, 16, 16) * 5 + 3
    d = rescale_depth(raw)
    assert d.shape == (2, 16, 16)
    assert d.min() >= 0.9 - 1e-6 and d.max() <= 1.1 + 1e-6
    # border: d (1 - 1.02) + 1.02 * 1.04 in the two outer columns of each side
    inner = rescale_depth(raw, border=0)
    expect = inner[..., :2] * (1 - 1.02) + 1.02 * (0.7 * 1.1 + 0.3 * 0.9)
    assert torch.allclose(d[..., :2], expect, atol=1e-6)
    assert torch.equal(d[..., 2:-2], inner[..., 2:-2])
    # constant raw depth -> the middle of the range
    assert torch.allclose(rescale_depth(torch.full((1, 4, 8), 7.0), border=0), torch.full((1, 4, 8), 1.0))


def test_decode_view_and_light() -> None:
    v = torch.tensor([[1.0, -0.5, 0.0, 1.0, -1.0, 1.0]])
    out = decode_view(v)
    assert torch.allclose(out, torch.tensor([[math.pi / 3, -math.pi / 6, 0.0, 0.1, -0.1, 0.0]]))
    light = decode_light(torch.tensor([[0.0, 1.0, 0.0, 0.0]]))
    assert light.ambient.item() == 0.5 and light.diffuse.item() == 1.0
    assert torch.allclose(light.direction, torch.tensor([[0.0, 0.0, -1.0]]))
    # a flat surface facing the camera lit from the camera: shading a + b, texture = (A/2+1/2)(a+b) 2 - 1
    K = fov_to_intrinsics(10, 8)
    n = depth_normals(torch.ones(1, 8, 8), K)
    albedo = torch.zeros(1, 3, 8, 8)
    tex, shading = shade(albedo, n, light)
    assert torch.allclose(shading, torch.full_like(shading, 1.5), atol=1e-5)
    assert torch.allclose(tex, torch.full_like(tex, 0.5), atol=1e-5)


def test_pseudo_sampling_ranges() -> None:
    s = PseudoSampling(yaw_deg=45, pitch_deg=15, roll_deg=5, xy_translation=0.05)
    g = torch.Generator().manual_seed(0)
    views = s.sample_views(2000, g)
    assert views.shape == (2000, 6)
    assert views[:, 1].abs().max() <= math.radians(45 * 1.2) + 1e-6
    assert views[:, 1].abs().max() > math.radians(45 * 1.2) * 0.95  # the yaw scale is applied
    assert views[:, 0].abs().max() <= math.radians(15) + 1e-6
    assert views[:, 3:5].abs().max() <= 0.05 and torch.all(views[:, 5] == 0)
    d, r = s.sample_lights(500, g)
    assert torch.allclose(d.norm(dim=1), torch.ones(500))
    assert r.min() >= -0.1 and r.max() <= 0.6
    # relit shading of a frontal light on a frontal plane: a - 0.6 r + (b + r)
    K = fov_to_intrinsics(10, 8)
    n = depth_normals(torch.ones(1, 8, 8), K)
    light = decode_light(torch.zeros(1, 4))
    front = torch.tensor([[0.0, 0.0, -1.0]])
    sh = s.relit_shading(n, light, front, torch.tensor([0.5]))
    assert torch.allclose(sh, torch.full_like(sh, 0.5 - 0.3 + 1.0), atol=1e-5)
    gauss = PseudoSampling(distribution="gaussian").sample_views(4000, g)
    assert gauss[:, 0].std().item() == pytest.approx(math.radians(15) / 2, rel=0.1)


def test_side_is_scale_invariant_and_mad_zero_for_same_shape() -> None:
    K = fov_to_intrinsics(10, 32)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    gt = (1.0 + 0.05 * (xx**2 + yy**2))[None]
    mask = torch.ones(1, 32, 32)
    assert side(gt * 1.3, gt, mask).item() == pytest.approx(0.0, abs=1e-6)
    # a known log error: half the pixels off by log(1.1), half by 0 -> std = log(1.1) / 2
    pred = gt.clone()
    pred[:, :16] *= 1.1
    assert side(pred, gt, mask).item() == pytest.approx(math.log(1.1) / 2, rel=1e-4)
    assert mad(gt, gt, mask, K).item() == pytest.approx(0.0, abs=0.05)  # float32 acos near 1
    flat = torch.ones(1, 32, 32)
    assert mad(flat, gt, mask, K).item() > 1.0
    scores = depth_scores(pred, gt, mask, mask, K)
    assert set(scores) == {"side", "mad", "mae", "mse"}


def test_erode_one_pixel() -> None:
    m = torch.zeros(1, 8, 8)
    m[:, 2:6, 2:6] = 1
    e = erode(m)
    assert e.sum() == 4 and torch.all(e[:, 3:5, 3:5] == 1)
    assert erode(torch.ones(1, 4, 4)).sum() == 4  # the image border counts as outside


def test_relative_offset_maps_input_to_its_own_latent() -> None:
    torch.manual_seed(0)
    style = nn.Sequential(nn.Identity(), *[nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.2)) for _ in range(4)])
    head, tail = style[:3], style[3:]
    center_h = head(torch.zeros(1, 8))
    center_w = tail(center_h)
    w_in = torch.randn(1, 8)
    code_in = torch.randn(1, 8)
    offset, latent = relative_offset_latent(code_in, code_in, center_h, center_w, tail, w_in)
    assert torch.allclose(offset, torch.zeros(1, 8), atol=1e-6) and torch.allclose(latent, w_in)
    offset, latent = relative_offset_latent(torch.randn(3, 8), code_in, center_h, center_w, tail, w_in)
    assert latent.shape == (3, 8) and offset.abs().sum() > 0


def test_masked_feature_l1() -> None:
    real = [torch.zeros(2, 4, 8, 8), torch.zeros(2, 4, 4, 4)]
    fake = [torch.ones(2, 4, 8, 8), torch.full((2, 4, 4, 4), 2.0, requires_grad=True)]
    assert masked_feature_l1(fake, real).item() == pytest.approx(3.0)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., :8] = 1  # left half
    fake[0] = fake[0].clone()
    fake[0][..., 4:] = 100.0  # errors on the right half are masked away
    assert masked_feature_l1(fake, real, mask).item() == pytest.approx(3.0)
