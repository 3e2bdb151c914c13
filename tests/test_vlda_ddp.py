"""Several images over two DDP processes (CPU, gloo): one independent model per rank, every avatar written (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_vlda_cli import _config
from tests.vlda_helpers import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_three_images_over_two_ranks(tmp_path: Path) -> None:
    ckpt = write_tiny_checkpoint(tmp_path / "tiny.pt")
    cfg = yaml.safe_load(_config(tmp_path, ckpt, -1).read_text())
    cfg["model"]["init_args"].update(images={"seeds": [5, 6, 7]}, perceptual=None)
    cfg["trainer"].update(callbacks=None, enable_checkpointing=False, strategy="ddp", devices=2)
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "fit", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # rank 0 reconstructs images 0 and 2, rank 1 image 1 (then idles in step with rank 0)
    for i in range(3):
        metrics = json.loads((tmp_path / "out" / f"avatar_{i:04d}" / "metrics.json").read_text())
        assert metrics["index"] == i and metrics["loss_history"]["init_stage0"][2] == 4
