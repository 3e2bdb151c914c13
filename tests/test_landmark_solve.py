"""Blendshape weights from 2-D landmarks (issue 19): exact on noiseless input, bounded, smoothing lowers jitter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toonlift.cli import main
from toonlift.errors import ConfigError
from toonlift.functional.landmark_solve import (
    identifiable_targets,
    jitter,
    project_weak_perspective,
    smooth_exponential,
    solve_weights,
)
from toonlift.stages.rig_fit.animate import rotation
from toonlift.synthetic.facs_templates import facs_templates
from toonlift.synthetic.head_model import KINDS, build_head_model


@pytest.fixture(scope="module")
def rig() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The template head's 68 landmarks ``[68, 3]`` and the identifiable FACS targets' offsets on them."""
    head = build_head_model("low")
    mean = head.mean.double().numpy()
    names, basis = facs_templates(mean, head.expression_basis.double().numpy(), head.vertex_kinds.numpy(), KINDS)
    lm = head.landmarks.numpy()
    offsets = basis[:, lm].astype(np.float64)
    keep = identifiable_targets(offsets)
    return mean[lm], offsets[keep], [names[i] for i in keep]


def _camera(yaw: float, pitch: float, roll: float, scale: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    m = scale * (np.diag([1.0, -1.0, 1.0])[:2] @ rotation(*np.deg2rad([yaw, pitch, roll])))
    return m, np.array([64.0, 70.0])


def test_identifiable_targets_drop_halves_eyeballs_and_depth_only(rig) -> None:
    _, offsets, names = rig
    assert 25 <= len(names) <= 50 and names[0] == "jaw_open"
    assert "mouth_frown_left" in names and "mouth_frown_right" not in names  # left + right = mouth_frown, kept whole
    assert not any(n.startswith("eye_look") for n in names)  # eyeballs carry no landmark
    # every kept target moves landmarks in the image plane by at least 2% of the largest (jaw_open) motion
    norms = np.linalg.norm(offsets[..., :2].reshape(len(names), -1), axis=1)
    assert norms.min() > 0.02 * norms.max()


@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (15.0, -8.0, 5.0), (-12.0, 6.0, -3.0)])
def test_exact_recovery_on_noiseless_landmarks(rig, angles) -> None:
    neutral, offsets, _ = rig
    rng = np.random.default_rng(int(abs(sum(angles))) + 7)
    for _ in range(2):
        beta = rng.uniform(0, 1, len(offsets)) * (rng.uniform(size=len(offsets)) < 0.5)
        m, t = _camera(*angles)
        obs = project_weak_perspective(neutral + np.tensordot(beta, offsets, axes=1), m, t)
        got, m_got, t_got = solve_weights(obs, neutral, offsets, iterations=100, tol=1e-10)
        np.testing.assert_allclose(got, beta, atol=2e-3)
        np.testing.assert_allclose(m_got, m, atol=1e-2)
        fit = project_weak_perspective(neutral + np.tensordot(got, offsets, axes=1), m_got, t_got)
        assert np.sqrt(np.mean((fit - obs) ** 2)) < 1e-2  # pixels


def test_bounds_respected_when_the_truth_is_outside(rig) -> None:
    neutral, offsets, _ = rig
    beta = np.zeros(len(offsets))
    beta[0], beta[1] = 1.8, -0.7  # jaw over-opened, a negative smile: neither is a rig pose
    m, t = _camera(5.0, 0.0, 0.0)
    obs = project_weak_perspective(neutral + np.tensordot(beta, offsets, axes=1), m, t)
    obs += np.random.default_rng(0).normal(scale=2.0, size=obs.shape)
    got, *_ = solve_weights(obs, neutral, offsets)
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert got[0] == pytest.approx(1.0, abs=1e-6) and got[1] == pytest.approx(0.0, abs=1e-6)


def test_smoothing_reduces_jitter_on_noisy_input(rig) -> None:
    neutral, offsets, _ = rig
    rng = np.random.default_rng(3)
    frames = 40
    truth = np.zeros((frames, len(offsets)))
    truth[:, 0] = 0.5 + 0.3 * np.sin(np.linspace(0, np.pi, frames))  # jaw opens and closes
    truth[:, 1] = 0.6
    m, t = _camera(8.0, -4.0, 2.0)
    raw = []
    for i in range(frames):
        obs = project_weak_perspective(neutral + np.tensordot(truth[i], offsets, axes=1), m, t)
        obs += rng.normal(scale=0.5, size=obs.shape)
        raw.append(solve_weights(obs, neutral, offsets, ridge=1.0, init=raw[-1] if raw else None)[0])
    raw = np.array(raw)
    smooth = smooth_exponential(raw, 0.4)
    assert jitter(smooth) < 0.5 * jitter(raw)
    assert smooth.min() >= 0 and smooth.max() <= 1
    assert np.abs(smooth[:, 0] - truth[:, 0]).mean() < 0.1  # the well-observed jaw is followed
    np.testing.assert_array_equal(smooth_exponential(raw, 1.0), raw)
    with pytest.raises(ConfigError, match="alpha"):
        smooth_exponential(raw, 0.0)


def test_solve_rejects_mismatched_shapes(rig) -> None:
    neutral, offsets, _ = rig
    with pytest.raises(ConfigError, match="Landmark shapes"):
        solve_weights(np.zeros((60, 2)), neutral, offsets)


def test_animate_command_writes_its_files(tmp_path, capsys) -> None:
    avatar = tmp_path / "avatar"
    assert main(["rig-viewer", "--out", str(avatar), "--detail", "low", "--no_animation"]) == 0
    out = tmp_path / "driven"
    argv = ["animate", "--avatar", str(avatar), "--synthetic", "--frames", "6", "--size", "48", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["frames"] == 6 and metrics["landmarks_to_mesh_fps"] > 0
    assert 0 <= metrics["beta_mae_smoothed"] < 0.3 and metrics["mesh_mae_head_units"] < 0.01
    anim = json.loads((out / "animation.json").read_text())
    assert len(anim["weights"]) == 6 and len(anim["names"]) == 57
    assert np.array(anim["weights"]).min() >= 0 and np.array(anim["weights"]).max() <= 1
    page = (out / "viewer.html").read_text()
    assert '"weights"' in page
    import imageio.v2 as imageio

    gif = imageio.mimread(out / "driven.gif")
    assert len(gif) == 6 and gif[0].shape[:2] == (48, 96)
    assert main(["animate", "--avatar", str(avatar)]) == 2  # no --synthetic: a ConfigError, exit code 2
    assert "--synthetic" in capsys.readouterr().err
    assert main(["animate", "--avatar", str(tmp_path / "nothing"), "--synthetic", "--out", str(tmp_path / "x")]) == 2
    assert "avatar.glb" in capsys.readouterr().err
