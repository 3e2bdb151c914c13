"""``toonlift rig-viewer``: a world face rigged by deformation transfer, written as a GLB with 12 named targets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toonlift.cli import main
from toonlift.errors import ConfigError
from toonlift.export.gltf_morph import load_morph_glb
from toonlift.stages.rig_fit.avatar_viewer import build_rig_avatar, synthetic_animation
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.head_model import build_head_model


def test_command_writes_glb_with_12_named_targets_and_viewer(tmp_path) -> None:
    argv = ["rig-viewer", "--out", str(tmp_path), "--seed", "2", "--detail", "low", "--templates", "world"]
    assert main(argv) == 0
    glb = load_morph_glb(tmp_path / "avatar.glb")
    assert glb.names == list(EXPRESSION_NAMES)
    assert glb.targets.shape == (12, len(glb.mesh.vertices), 3)
    assert np.abs(glb.targets).max(axis=(1, 2)).min() > 1e-3  # every target moves something
    page = (tmp_path / "viewer.html").read_text()
    assert '<script type="importmap">' in page and "jaw_open" in page
    info = json.loads((tmp_path / "rig.json").read_text())
    assert info["transfer"] == "dt" and info["glb_bytes"] == (tmp_path / "avatar.glb").stat().st_size


def test_naive_targets_are_the_template_offsets_and_dt_differs() -> None:
    head = build_head_model("low")
    naive, _ = build_rig_avatar(seed=1, detail="low", transfer="naive", templates="world")
    # naive = the template's offsets, less those under the prune threshold (1e-4 head units)
    np.testing.assert_allclose(naive.targets, head.expression_basis.numpy(), atol=1e-4 + 1e-7)
    big = np.abs(head.expression_basis.numpy()).max(-1) >= 1e-4
    np.testing.assert_array_equal(naive.targets[big], head.expression_basis.numpy()[big])
    dt, info = build_rig_avatar(seed=1, detail="low", transfer="dt", templates="world")
    np.testing.assert_allclose(dt.mesh.vertices, naive.mesh.vertices, atol=1e-6)  # same neutral face
    k = EXPRESSION_NAMES.index("blink_left")
    # the toon face's eyes are bigger than the template's: deformation transfer moves the lid further
    assert np.abs(dt.targets[k]).max() > 1.05 * np.abs(naive.targets[k]).max()
    assert info["vertices"] == head.num_vertices


def test_animation_and_bad_options() -> None:
    anim = synthetic_animation(["a", "b"], fps=10, seconds_each=1.0)
    w = np.array(anim["weights"])
    assert w.shape == (22, 2) and w.min() >= 0 and w.max() == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ConfigError, match="transfer"):
        build_rig_avatar(detail="low", transfer="magic")


def test_default_rig_has_the_facs_templates(tmp_path) -> None:
    assert main(["rig-viewer", "--out", str(tmp_path), "--detail", "low", "--no_animation"]) == 0
    glb = load_morph_glb(tmp_path / "avatar.glb")
    assert len(glb.names) >= 46 and glb.names[:12] == list(EXPRESSION_NAMES)
    assert "eye_look_up_left" in glb.names and not (tmp_path / "animation.json").exists()
