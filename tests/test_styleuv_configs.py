"""StyleFaceUV's parts are trained from configs: ``configs/styleuv/pairs.yaml`` -> ``parts.yaml`` -> the UV generator.

The two part commands read their options from YAML (``--config``), chain their paths into the UV generator's config,
run end to end on a tiny version of the shipped setting, and refuse a bad input in one line with exit status 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from toonlift.stages.styleuv import build_pairs, train_parts
from toonlift.stages.styleuv.parts import load_parts

ROOT = Path(__file__).resolve().parents[1]
PAIRS, PARTS = ROOT / "configs/styleuv/pairs.yaml", ROOT / "configs/styleuv/parts.yaml"


def test_configs_parse_and_chain_into_the_uv_generator_config() -> None:
    pairs = build_pairs.build_parser().parse_args(["--config", str(PAIRS)])
    parts = train_parts.build_parser().parse_args(["--config", str(PARTS)])
    uv = yaml.safe_load((ROOT / "configs/styleuv_synthetic.yaml").read_text())
    assert parts.pairs == pairs.out  # part 2 reads what part 1 writes ...
    assert parts.out == uv["model"]["init_args"]["parts_path"]  # ... and the UV generator reads part 2's file
    assert (pairs.inverted, pairs.seed, pairs.random) == (48, 9000, 6000)  # the settings docs/styleuv.md reports
    assert (parts.train_faces, parts.walk, parts.mlp_steps) == (16, 120, 4000)


def test_a_misspelt_key_is_refused_not_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "parts.yaml"
    bad.write_text(PARTS.read_text() + "mlp_stepz: 3\n")
    with pytest.raises(SystemExit):
        train_parts.build_parser().parse_args(["--config", str(bad)])


def test_tiny_pairs_and_parts_from_the_configs(tmp_path: Path) -> None:
    out = tmp_path / "styleuv"
    assert (
        build_pairs.main(
            ["--config", str(PAIRS), "--inverted", "6", "--chunk", "3", "--steps", "2", "--random", "200"]
            + ["--out", str(out)]
        )
        == 0
    )
    assert (out / "pairs_inverted.safetensors").is_file() and (out / "pairs_random.safetensors").is_file()
    args = ["--config", str(PARTS), "--pairs", str(out), "--out", str(out / "parts.safetensors")]
    args += ["--train-faces", "5", "--mlp-steps", "5", "--walk", "6", "--walk-steps", "5", "--yaw-test", "4"]
    assert train_parts.main(args) == 0
    parts = load_parts(out / "parts.safetensors")
    assert parts.metrics["train_faces"] == 5 and parts.metrics["mlp_train_codes"] == 205
    assert abs(float(parts.yaw_normal.norm()) - 1.0) < 1e-5  # the yaw boundary's unit normal d
    assert "yaw_control" in parts.metrics


def test_bad_input_is_one_line_and_exit_two(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "toonlift.stages.styleuv.train_parts", "--config", str(PARTS)]
    run = subprocess.run([*cmd, "--pairs", str(tmp_path / "missing")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert "toonlift: error:" in run.stderr and "missing" in run.stderr and "Traceback" not in run.stderr
