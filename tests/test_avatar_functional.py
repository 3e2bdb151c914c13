"""The pure pieces of ``toonlift avatar``: eye snapping, diffusion fill (002 Eq. 12), sphere fit, toon shading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toonlift.errors import DataError
from toonlift.functional.eye_snap import region_boundary, snap_eye_landmarks
from toonlift.functional.sphere_fit import fit_sphere, project_to_sphere
from toonlift.functional.texture_diffusion import diffuse_fill, grid_laplacian_system
from toonlift.functional.toon_shading import cartoon_texture, outline_mask, toon_shade
from toonlift.synthetic.layout import PART
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params


def test_region_boundary_is_the_inner_rim() -> None:
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    b = region_boundary(m)
    assert b.sum() == 16 and not b[2:5, 2:5].any() and not b[0].any()


def test_eye_snapping_moves_shrunken_cartoon_eyes_back_toward_the_truth() -> None:
    # a detector that misses big cartoon eyes: its eye points lie 40 % too close to each eye's centre
    p = sample_params(3, range(4))
    p = type(p)(**{**p.__dict__, "pose": p.pose * 0.2})
    out = FaceRenderer()(p, "cartoon", 256, outputs=("parts", "landmarks"))
    for b in range(4):
        truth = out["landmarks"][b].double().numpy()
        eyes = np.isin(out["parts"][b].squeeze().numpy(), [PART["sclera"], PART["iris"], PART["pupil"]])
        missed = truth.copy()
        for idx in (list(range(36, 42)), list(range(42, 48))):
            c = truth[idx].mean(0)
            missed[idx] = c + 0.6 * (truth[idx] - c)
        snapped = snap_eye_landmarks(missed, eyes)
        before = np.linalg.norm(missed[36:48] - truth[36:48], axis=1).mean()
        after = np.linalg.norm(snapped[36:48] - truth[36:48], axis=1).mean()
        assert after < 0.7 * before, (b, before, after)  # measured 0.47-0.68
        np.testing.assert_array_equal(snapped[:36], missed[:36])
        np.testing.assert_array_equal(snapped[48:], missed[48:])
        assert eyes[snapped[36:48, 1].round().astype(int), snapped[36:48, 0].round().astype(int)].all()


def test_eye_snapping_leaves_points_without_a_near_region() -> None:
    pts = np.random.default_rng(0).uniform(100, 150, (68, 2))
    np.testing.assert_array_equal(snap_eye_landmarks(pts, np.zeros((256, 256), bool)), pts)
    far = np.zeros((256, 256), bool)
    far[5:10, 5:10] = True
    np.testing.assert_array_equal(snap_eye_landmarks(pts, far, max_distance=8.0), pts)


def test_diffusion_is_harmonic_and_keeps_known_values() -> None:
    rng = np.random.default_rng(1)
    values = rng.random((40, 50, 3))
    known = rng.random((40, 50)) < 0.1
    out = diffuse_fill(values, known)
    np.testing.assert_array_equal(out[known], values[known])
    # every unknown pixel is the mean of its in-grid neighbours (the fixed point of 002's averaging)
    pad = np.pad(out, ((1, 1), (1, 1), (0, 0)))
    ones = np.pad(np.ones((40, 50)), 1)
    nb = pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]
    cnt = ones[:-2, 1:-1] + ones[2:, 1:-1] + ones[1:-1, :-2] + ones[1:-1, 2:]
    np.testing.assert_allclose(out[~known], (nb / cnt[..., None])[~known], atol=1e-5)
    # a linear ramp is harmonic: known on the border, it is reproduced inside
    ramp = np.add.outer(np.arange(30.0), 2 * np.arange(30.0))[..., None]
    border = np.zeros((30, 30), bool)
    border[[0, -1]] = border[:, [0, -1]] = True
    np.testing.assert_allclose(diffuse_fill(np.where(border[..., None], ramp, 0.0), border), ramp, atol=1e-3)


def test_two_level_fill_is_close_to_the_direct_solve() -> None:
    yy, xx = np.mgrid[0:160, 0:160] / 160.0
    smooth = np.stack([np.sin(3 * xx) * np.cos(2 * yy), xx * yy, np.cos(4 * yy)], -1)
    known = np.zeros((160, 160), bool)
    known[50:110, 40:90] = True
    direct = diffuse_fill(smooth, known, direct_max=10**9)
    two = diffuse_fill(smooth, known, direct_max=5_000, band=8)
    assert np.abs(two - direct).max() < 0.02  # measured 0.015 (values in [-1, 1]; three levels deep here)
    A, B, unknown = grid_laplacian_system(known)
    assert A.shape == (len(unknown), len(unknown)) and B.shape == (len(unknown), known.sum())
    with pytest.raises(DataError, match="no pixel is known"):
        diffuse_fill(smooth, np.zeros((160, 160), bool))


def test_sphere_fit_is_exact_and_projection_lands_on_it() -> None:
    rng = np.random.default_rng(2)
    d = rng.normal(size=(50, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    c, r = fit_sphere(np.array([0.3, -0.2, 0.5]) + 0.15 * d)
    np.testing.assert_allclose(c, [0.3, -0.2, 0.5], atol=1e-9)
    assert r == pytest.approx(0.15, abs=1e-9)
    moved = project_to_sphere(c + r * d, c, np.zeros(3), 2.0)
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1), 2.0, atol=1e-9)
    with pytest.raises(DataError):
        fit_sphere(np.zeros((3, 3)))


def test_toon_shading_has_few_levels_and_outlines_the_silhouette() -> None:
    n = torch.nn.functional.normalize(torch.randn(1, 3, 16, 16), dim=1)
    shade = toon_shade(n, torch.tensor([0.0, 0.0, -1.0]), bands=3, ambient=0.4)
    assert len(torch.unique(shade)) <= 4 and shade.min() >= 0.4 - 1e-6 and shade.max() <= 1.0 + 1e-6
    edge = torch.zeros(1, 3, 2, 2)
    edge[:, 0] = 1.0  # normals perpendicular to the view
    assert outline_mask(edge, torch.ones(1, 1, 2, 2)).all()


def test_cartoon_texture_flattens_luminance_and_draws_lines() -> None:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    tex = torch.stack([xx, 0.8 * xx, 0.6 * xx]) * 1.6 - 0.8  # a smooth ramp
    tex[:, 30:34] = -1.0  # a dark stripe: a "feature" with sharp edges
    out = cartoon_texture(tex, levels=4)
    lum = ((out + 1) / 2 * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0)
    assert len(torch.unique(lum[5:25].round(decimals=3))) <= 4 + 1  # flat steps (+ line texels)
    assert lum[28:36].mean() < lum[5:25].mean()  # the stripe and its edges are dark
    assert out.shape == tex.shape and out.min() >= -1 and out.max() <= 1


def test_local_transfer_equals_the_whole_mesh_solve() -> None:
    from toonlift.stages.rig_fit.avatar_viewer import rig_offsets
    from toonlift.stages.rig_fit.local_transfer import local_rig_offsets, moved_region
    from toonlift.synthetic.head_model import build_head_model
    from toonlift.synthetic.toon import toon_identity

    head = build_head_model("low")
    template = head.mean.double().numpy()
    basis = head.expression_basis.double().numpy()[[0, 4, 6]]  # jaw_open, blink_left, brow_raise_left
    ident = toon_identity(torch.linspace(-1, 1, head.num_identity)[None])
    neutral = (head.mean + torch.einsum("bk,kvc->bvc", ident, head.identity_basis)[0]).double().numpy()
    faces = head.faces.numpy()
    whole = rig_offsets(template, basis, neutral, faces, "dt")
    local = local_rig_offsets(template, basis, neutral, faces)
    assert np.abs(local - whole).max() < 1e-3 * 1.5  # head units; 0.1 px at 256 px (the pins are soft)
    from toonlift.synthetic.head_model import KINDS

    kinds = head.vertex_kinds.numpy()
    balls = [np.nonzero(kinds == KINDS[k])[0] for k in ("eye_right", "eye_left")]
    looks = head.expression_basis.double().numpy()[[0, 4]]
    whole = rig_offsets(template, looks, neutral, faces, "dt", balls)
    local = local_rig_offsets(template, looks, neutral, faces, eyeballs=balls)
    assert np.abs(local - whole).max() < 1e-3 * 1.5  # the same with eyeballs made rigid
    vertices, local_faces, pins = moved_region(basis, faces)
    assert len(vertices) < head.num_vertices and local_faces.max() < len(vertices) and len(pins) > 0


def test_the_fit_starts_from_a_rig_fit_regressor_export(tmp_path) -> None:
    from toonlift.errors import ToonliftError
    from toonlift.stages.rig_fit.photo_fit import regressor_start
    from toonlift.stages.rig_fit.regressor import CoarseRegressor
    from toonlift.utils.io import save_safetensors

    torch.manual_seed(0)
    net = CoarseRegressor(width=8).eval()
    torch.nn.init.normal_(net.head.weight, std=0.05)  # not the zero-initialised (average-face) head
    meta = {"arch": {"width": 8, "prior_domain": "photo"}, "hparams": {"image_size": 32}}  # RigFitModule's layout
    save_safetensors(tmp_path / "reg.safetensors", net.state_dict(), meta)
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    start = regressor_start(tmp_path / "reg.safetensors", image)
    with torch.no_grad():
        expected = net(torch.nn.functional.interpolate(image, size=(32, 32), mode="area"))
    torch.testing.assert_close(start, expected)
    save_safetensors(tmp_path / "other.safetensors", {"w": torch.zeros(3)}, meta)
    with pytest.raises(ToonliftError, match="do not fit the architecture"):
        regressor_start(tmp_path / "other.safetensors", image)
