"""The synthetic-world configs run as shipped, on the shipped generators, with tiny schedules: Stage 2
(`configs/offsets_synthetic.yaml`) and Stage 3 (`configs/vlda_synthetic.yaml`, on a freshly inverted synthetic face,
scored against its ground truth)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_vlda_synthetic_config_scores_an_inverted_face(tmp_path: Path) -> None:
    gt = tmp_path / "gt"
    inv = _run(
        "-m", "toonlift.stages.vlda.invert_synthetic", "--generator", "toonlift/assets/synthetic_photo_g.safetensors",
        "--count", "1", "--truth-domain", "cartoon", "--gt-size", "64", "--steps", "5", "--out", str(gt),
    )  # fmt: skip
    assert inv.returncode == 0, inv.stderr[-2000:]
    out = tmp_path / "vlda"
    fit = _run(
        "cli.py", "fit", "--config", "configs/vlda_synthetic.yaml",
        "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
        "--model.init_args.images.latents", str(gt / "latents.safetensors"),
        "--model.init_args.images.ground_truth", str(gt / "ground_truth.safetensors"),
        "--model.init_args.schedule.first", "[2, 2, 2]", "--model.init_args.schedule.later", "[1, 1, 1]",
        "--model.init_args.schedule.init_iters", "2", "--model.init_args.training.collect_batches", "1",
        "--model.init_args.output.out_dir", str(out),
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-2000:]
    metrics = json.loads((out / "avatar_0000" / "metrics.json").read_text())
    for key in ("prior", "stage1", "final"):
        assert math.isfinite(metrics[key]["side"]) and math.isfinite(metrics[key]["mad"]), metrics[key]
        assert 0.0 < metrics[key]["side"] < 0.2 and 0.0 < metrics[key]["mad"] < 90.0, metrics[key]
    assert (out / "avatar_0000" / "mesh.glb").stat().st_size > 0


def test_offsets_synthetic_config_runs_on_the_shipped_generators(tmp_path: Path) -> None:
    out = tmp_path / "offsets"
    fit = _run(
        "cli.py", "fit", "--config", "configs/offsets_synthetic.yaml",
        "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
        "--data.init_args.count", "2", "--data.init_args.batch_size", "2", "--model.init_args.num_steps", "2",
        "--model.init_args.out_dir", str(out),
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-2000:]
    assert (out / "grid_0000.png").stat().st_size > 0
    assert (out / "seed0000.safetensors").is_file() and (out / "seed0001.safetensors").is_file()
