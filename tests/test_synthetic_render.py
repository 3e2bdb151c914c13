"""Rendering the synthetic world: determinism, pairing, GT consistency, landmarks, agreement with the renderer."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from toonlift.errors import ConfigError
from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import rasterize as reference_rasterize
from toonlift.functional.shading import depth_normals
from toonlift.synthetic import layout as L
from toonlift.synthetic import styles
from toonlift.synthetic.raster import rasterize
from toonlift.synthetic.render import BACKGROUND_DEPTH, FOV_DEG, FaceRenderer
from toonlift.synthetic.sampler import sample_params


@pytest.fixture(scope="module")
def renderer() -> FaceRenderer:
    return FaceRenderer()


def test_sampling_is_hash_seeded() -> None:
    a = sample_params(7, [3, 4, 5])
    b = sample_params(7, [5, 9, 3])
    torch.testing.assert_close(a.identity[0], b.identity[2])
    torch.testing.assert_close(a.pose[2], b.pose[0])
    assert a.noise_seed[0] == b.noise_seed[2]
    c = sample_params(8, [3])
    assert not torch.equal(a.identity[:1], c.identity)
    with pytest.raises(ConfigError):
        sample_params(0, [])


def test_sampled_ranges() -> None:
    p = sample_params(0, range(300))
    assert p.pose[:, 0].abs().max() <= 45 and p.pose[:, 1].abs().max() <= 20 and p.pose[:, 2].abs().max() <= 10
    assert p.pose[:, 0].abs().max() > 35  # the yaw range is actually used
    assert float(p.expression.min()) >= 0 and float(p.expression.max()) <= 1
    assert (p.expression > 0).float().mean() > 0.15
    assert p.identity.std(0).min() > 0.6


def test_same_seed_same_pixels(renderer: FaceRenderer) -> None:
    p = sample_params(1, range(3))
    for domain in ("photo", "cartoon", "ink"):
        a = renderer(p, domain, 48)
        b = renderer(sample_params(1, range(3)), domain, 48)
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["depth"], b["depth"])
    other = renderer(sample_params(2, range(3)), "photo", 48)
    assert not torch.equal(a["image"], other["image"])


def test_outputs_shapes_and_ranges(renderer: FaceRenderer) -> None:
    out = renderer(sample_params(0, range(4)), "photo", 64)
    assert out["image"].shape == (4, 3, 64, 64) and out["image"].abs().max() <= 1
    assert out["depth"].shape == (4, 1, 64, 64) and out["normal"].shape == (4, 3, 64, 64)
    assert out["parts"].shape == (4, 64, 64) and out["parts"].dtype == torch.int64
    assert out["landmarks"].shape == (4, 68, 2) and out["landmarks_visible"].dtype == torch.bool
    m = out["mask"] > 0
    assert 0.2 < m.float().mean() < 0.9
    d = out["depth"]
    assert float(d[m].min()) >= 0.9 - 1e-3 and float(d[m].max()) <= 1.1  # the Unsup3d/GAN2Shape depth range
    assert torch.all(d[~m] == BACKGROUND_DEPTH)
    n = out["normal"].permute(0, 2, 3, 1)[m[:, 0]]
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(len(n)), atol=1e-4, rtol=0)
    assert (n[:, 2] < 0.05).float().mean() > 0.98  # visible surfaces face the camera (n_z < 0)
    assert torch.equal(out["parts"] > 0, m[:, 0])
    with pytest.raises(ConfigError, match="domain"):
        renderer(sample_params(0, [0]), "oil", 64)


def test_photo_cartoon_pairing(renderer: FaceRenderer) -> None:
    p = sample_params(4, range(6))
    photo, toon = renderer(p, "photo", 64), renderer(p, "cartoon", 64)
    for k in ("pose", "expression", "light", "identity"):
        assert torch.equal(photo[k], toon[k])
    a, b = photo["mask"] > 0, toon["mask"] > 0
    iou = (a & b).sum((1, 2, 3)).float() / (a | b).sum((1, 2, 3)).float()
    assert bool((iou > 0.8).all()), iou
    # the same head in the same pose: the nose tip and chin land at about the same pixel
    for i in (30, 8):
        dist = (photo["landmarks"][:, i] - toon["landmarks"][:, i]).norm(dim=-1)
        assert bool((dist < 0.08 * 64).all()), (i, dist)
    # and the cartoon is not the photo
    assert (photo["image"] - toon["image"]).abs().mean() > 0.1


def test_normals_from_depth_match_normals(renderer: FaceRenderer) -> None:
    p = sample_params(5, range(4))
    out = renderer(p, "photo", 128)
    K = fov_to_intrinsics(FOV_DEG, 128)
    from_depth = depth_normals(out["depth"][:, 0], K)  # [B, H, W, 3]
    gt = out["normal"].permute(0, 2, 3, 1)
    # compare away from silhouettes and self-occlusion edges, where depth has jumps
    inner = -F.max_pool2d(-out["mask"], 5, stride=1, padding=2)[:, 0] > 0
    dz = out["depth"][:, 0]
    jump = F.max_pool2d(dz[:, None], 3, 1, 1)[:, 0] + F.max_pool2d(-dz[:, None], 3, 1, 1)[:, 0] > 0.008
    sel = inner & ~jump
    cos = (from_depth[sel] * gt[sel]).sum(-1).clamp(-1, 1)
    angle = torch.rad2deg(torch.acos(cos))
    assert sel.sum() > 4 * 2500
    assert angle.median() < 6.0, angle.median()
    assert torch.quantile(angle, 0.9) < 20.0


def test_landmarks_project_onto_their_parts(renderer: FaceRenderer) -> None:
    p = sample_params(6, range(4))
    p = replace(p, pose=torch.zeros_like(p.pose), expression=torch.zeros_like(p.expression))
    out = renderer(p, "photo", 128)
    parts = out["parts"]
    onehot = F.one_hot(parts, len(L.PART_NAMES)).permute(0, 3, 1, 2).float()
    near = F.max_pool2d(onehot, 5, 1, 2) > 0  # within 2 px
    near_eye = F.max_pool2d(onehot, 7, 1, 3) > 0  # eye landmarks sit on the lid margin: within 3 px of the eye
    expect = {
        range(17, 27): ("brows",),
        range(27, 36): ("nose",),
        range(36, 48): ("sclera", "iris", "pupil"),
        range(48, 60): ("lips",),
        range(60, 68): ("lips", "mouth"),
        range(0, 17): ("skin",),
    }
    lm = out["landmarks"].round().long().clamp(0, 127)
    for b in range(4):
        for idx, names in expect.items():
            for i in idx:
                if not out["landmarks_visible"][b, i]:
                    continue
                x, y = lm[b, i]
                hits = near_eye if 36 <= i < 48 else near
                ok = any(bool(hits[b, L.PART[n], y, x]) for n in names)
                assert ok, f"landmark {i} of sample {b} is not on {names}"
    assert out["landmarks_visible"][:, 17:68].float().mean() > 0.95  # frontal: inner landmarks are visible


def test_fast_rasteriser_agrees_with_renderer(renderer: FaceRenderer) -> None:
    p = sample_params(9, range(3))
    m = renderer.model_for(64)
    screen = project(renderer.camera_vertices(p, "photo", m), fov_to_intrinsics(FOV_DEG, 64))
    ours = rasterize(screen, m.faces, 64, 64)
    ref = reference_rasterize(screen, m.faces, 64)
    assert (ours.mask == ref.mask).float().mean() > 0.999
    both = ours.mask & ref.mask
    same = both & (ours.face_index == ref.face_id)
    assert same.sum() > 0.995 * both.sum()  # differences only where a pixel centre lies on a shared edge
    torch.testing.assert_close(ours.depth[same], ref.depth[same], atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.bary[same], ref.bary[same], atol=1e-3, rtol=0)


def test_cartoon_has_outlines_and_flat_colours(renderer: FaceRenderer) -> None:
    p = sample_params(3, range(4))
    toon = renderer(p, "cartoon", 128)["image"]
    photo = renderer(p, "photo", 128)["image"]
    ink = styles.to_srgb(torch.tensor(styles.INK)) * 2 - 1
    lines = ((toon - ink.view(1, 3, 1, 1)).abs() < 0.02).all(1).float().mean()
    assert lines > 0.02  # ink outlines
    assert ((photo - ink.view(1, 3, 1, 1)).abs() < 0.02).all(1).float().mean() < 0.2 * lines

    # flat colours: far fewer distinct colours inside the face than in the photo
    def distinct(img: torch.Tensor) -> int:
        q = ((img + 1) * 15.5).round().long()
        return int(torch.unique(q[0] * 1024 + q[1] * 32 + q[2]).numel())

    assert distinct(toon[0]) < 0.6 * distinct(photo[0])
