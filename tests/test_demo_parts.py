"""Demo pieces that need no shipped model: the gallery, the schedules, the device choice, the CLI wiring."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from toonlift.demo.command import resolve_device
from toonlift.demo.gallery import render_gallery, write_gallery
from toonlift.demo.schedule import DEFAULT, QUICK
from toonlift.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_quick_schedule_is_smaller_than_the_default_everywhere() -> None:
    quick, default = QUICK.as_dict(), DEFAULT.as_dict()
    for key, value in quick.items():
        if isinstance(value, int | float):
            assert value <= default[key], key
    assert math.prod(QUICK.vlda_first) < math.prod(DEFAULT.vlda_first)


def test_device_choice_and_its_errors() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def test_gallery_links_every_image_and_shows_the_figures(tmp_path: Path) -> None:
    summary = {
        "seed": 3,
        "quick": True,
        "device": "cpu",
        "total_seconds": 12.5,
        "stage1": {"images": {"transformation": "stage1/transformation.png"}, "grid_rows": ["a", "b"]},
        "stage2": {"direction_index": 2, "direction_alone": {"id_l2": 0.5}, "optimised": {"id_l2": 0.25}},
        "stage3": {
            "images": {"rotation_gif": "stage3/avatar_0000/rotation.gif"},
            "final": {"side": 0.0123, "mad": 9.5},
            "flat": {"side": 0.0137, "mad": 40.4},
            "prior_kind": "rig (depth_bound 0.005)",
        },
        "evaluation": {"fid": {"cartoon": {"fid": 12.0, "kid_x1e3": 3.0, "samples": 32}}},
    }
    page = render_gallery(summary)
    for needle in ("stage1/transformation.png", "stage3/avatar_0000/rotation.gif", "1.23", "0.25", "12"):
        assert needle in page
    # the flat-plane baseline is a row of the depth table, the prior is named, and every table says which way is better
    assert "<td>flat</td><td>1.37</td><td>40.4</td>" in page
    assert "rig (depth_bound 0.005)" in page
    assert page.count("lower is better") == 3 and "docs/demo.md" in page
    assert write_gallery(summary, tmp_path).read_text() == page


def test_demo_is_a_cli_command_with_help(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "demo", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0 and "--quick" in out.stdout and "--device" in out.stdout
    bad = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "demo", "--device", "tpu", "--out", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "auto, cpu or cuda" in bad.stderr and "Traceback" not in bad.stderr
