"""`toonlift animate --video | --frames-dir`: landmarks from frames -> beta -> a driven MP4/GIF; input errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toonlift.cli import main
from toonlift.errors import ConfigError
from toonlift.functional.rig_runtime import SparseRig
from toonlift.stages.rig_fit.avatar_viewer import write_rig_viewer
from toonlift.stages.rig_fit.drive import LandmarkTracker, drive_frames
from toonlift.stages.rig_fit.drive_check import beta_errors, world_sequence, write_png_sequence
from toonlift.utils.frames_io import frame_paths, iter_frames, write_video

FRAMES, SIZE = 10, 256


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A photo world face's avatar (its 12 world targets as the world poses it) and a 10-frame world clip."""
    root = tmp_path_factory.mktemp("drive")
    write_rig_viewer(root / "avatar", animate=False, seed=0, domain="photo", templates="world", transfer="naive")
    seq = world_sequence(0, 0, "photo", FRAMES, SIZE)
    write_png_sequence(seq["frames"], root / "png")
    write_video(list(seq["frames"]), root / "clip.mp4", fps=25)
    return root, seq


def test_frames_round_trip_and_bad_input(tmp_path, clip) -> None:
    root, seq = clip
    frames, fps = iter_frames(video=root / "clip.mp4")
    video = list(frames)
    assert len(video) == FRAMES and fps == pytest.approx(25.0) and video[0].shape == (SIZE, SIZE, 3)
    assert np.abs(video[3].astype(float) - seq["frames"][3]).mean() < 6  # H.264 is lossy, not far off
    pngs = list(iter_frames(frames_dir=root / "png")[0])
    assert all(np.array_equal(a, b) for a, b in zip(pngs, seq["frames"]))  # PNG is exact
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.mp4").write_bytes(b"not a video at all")
    cases = [
        (dict(frames_dir=tmp_path / "missing"), "does not exist"),
        (dict(frames_dir=tmp_path / "empty"), "holds no images"),
        (dict(video=tmp_path / "missing.mp4"), "does not exist"),
        (dict(video=tmp_path / "bad.mp4"), "Cannot read the video"),
        (dict(), "exactly one"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            iter_frames(**kwargs)
    with pytest.raises(ConfigError, match="holds no images"):
        frame_paths(tmp_path / "empty")
    with pytest.raises(ConfigError, match="format"):
        write_video(video, tmp_path / "x.avi")


def test_true_landmarks_recover_the_weights(tmp_path, clip) -> None:
    """With the world's own landmarks of each frame the solved weights follow the truth (MAE < 0.15, jitter within
    2x the truth's) and the rig reprojects onto the landmarks within 1 px at 256 px."""
    root, seq = clip
    points = iter(seq["landmarks"])
    m = drive_frames(
        root / "avatar", iter(seq["frames"]), lambda _f: next(points), tmp_path, targets="world", fmt="gif"
    )
    err = beta_errors(np.load(tmp_path / "beta.npy"), m["solved_targets"], seq["beta"])
    assert err["beta_mae"] < 0.15 and err["jitter"] < 2 * err["jitter_truth"] + 0.01
    assert m["reprojection_rmse_px"] < 1.0 and m["frames_with_face"] == FRAMES
    assert (tmp_path / "driven.gif").stat().st_size > 0 and (tmp_path / "viewer.html").exists()
    anim = json.loads((tmp_path / "animation.json").read_text())
    assert len(anim["weights"]) == FRAMES and len(anim["names"]) == 12


def test_dlib_tracker_drives_from_a_video(tmp_path, clip) -> None:
    """dlib68 searches until its HOG detector finds the face (it misses some world photo faces), then tracks it by
    its shape predictor alone; its landmarks stay within a few pixels of the truth and the weights within 0.45 on
    average (the detector's error, measured in bench_drive). Frames before the first find hold the rest pose."""
    pytest.importorskip("dlib")
    from toonlift.registry import LANDMARK_DETECTORS

    root, seq = clip
    detector = LANDMARK_DETECTORS.build("dlib68")  # loading the model takes seconds: once
    tracker = LandmarkTracker(detector)
    frames, _ = iter_frames(video=root / "clip.mp4")
    found = [tracker(f) for f in frames]
    first = next(i for i, p in enumerate(found) if p is not None)
    assert first <= 3 and sum(p is None for p in found[first:]) <= 1 and tracker.searches <= first + 3
    hits = [i for i in range(first, FRAMES) if found[i] is not None]
    err = np.linalg.norm(np.stack([found[i] for i in hits]) - seq["landmarks"][hits], axis=-1).mean()
    assert err < 9.0
    tracker = LandmarkTracker(detector)
    m = drive_frames(root / "avatar", iter_frames(video=root / "clip.mp4")[0], tracker, tmp_path, targets="world")
    errors = beta_errors(np.load(tmp_path / "beta.npy"), m["solved_targets"], seq["beta"])
    assert errors["beta_mae"] < 0.45 and (tmp_path / "driven.mp4").stat().st_size > 0
    blank = np.full((SIZE, SIZE, 3), 200, np.uint8)
    assert LandmarkTracker(detector)(blank) is None  # no face: None, not an error


def test_animate_command_from_frames_dir_and_its_errors(tmp_path, clip, capsys) -> None:
    pytest.importorskip("dlib")
    root, _ = clip
    out = tmp_path / "out"
    argv = ["animate", "--avatar", str(root / "avatar"), "--frames-dir", str(root / "png"), "--out", str(out)]
    assert main(argv + ["--format", "gif", "--targets", "world", "--max_frames", "4"]) == 0
    assert "4 frames" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["frames"] == 4 and (out / "driven.gif").exists()
    (tmp_path / "empty").mkdir()
    assert main(["animate", "--avatar", str(root / "avatar"), "--frames-dir", str(tmp_path / "empty")]) == 2
    assert "holds no images" in " ".join(capsys.readouterr().err.split())
    assert main(["animate", "--avatar", str(root / "avatar"), "--video", str(tmp_path / "none.mp4")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())


def test_sparse_rig_equals_the_dense_product() -> None:
    rng = np.random.default_rng(0)
    neutral = rng.normal(size=(50, 3))
    offsets = rng.normal(size=(4, 50, 3)) * (rng.uniform(size=(4, 50, 1)) < 0.3)
    rig = SparseRig(neutral, offsets, prune=0.0)
    beta = rng.uniform(size=4)
    assert np.abs(rig.deform(beta) - (neutral + np.tensordot(beta, offsets, 1))).max() < 1e-5
    assert rig.matrix.nnz < offsets.size / 2
    with pytest.raises(ConfigError, match="beta must have 4"):
        rig.deform(np.zeros(3))
