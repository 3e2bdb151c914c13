"""One tiny VLDA run through the CLI, killed half-way and resumed: finite decreasing losses, every output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import trimesh
import yaml

from tests.vlda_helpers import TINY, write_tiny_checkpoint
from toonlift.cli import cli_main

SCHEDULE = {"first": [3, 2, 2], "later": [1, 1, 1], "num_stages": 1, "init_iters": 4}
TOTAL = 4 + 3 + 2 + 2


def _config(tmp: Path, ckpt: Path, max_steps: int) -> Path:
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "max_epochs": 1,
            "max_steps": max_steps,
            "default_root_dir": str(tmp),  # the CLI saves its config.yaml here, not in the repository
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "callbacks": [
                {
                    "class_path": "pytorch_lightning.callbacks.ModelCheckpoint",
                    "init_args": {"dirpath": str(tmp / "ckpt"), "save_last": True, "every_n_train_steps": 4},
                }
            ],
        },
        "data": {"class_path": "steps"},  # the module paces itself
        "model": {
            "class_path": "vlda",
            "init_args": {
                "generator": {
                    "class_path": "stylegan2",
                    "init_args": {**TINY, "style_dim": 32, "checkpoint": str(ckpt)},
                },
                "discriminator": {
                    "class_path": "stylegan2",
                    "init_args": {**TINY, "checkpoint": str(ckpt)},
                },
                "perceptual": {"class_path": "lpips", "init_args": {"weight": 0.5, "allow_random_backbone": True}},
                "images": {"seeds": [5]},
                "image_size": 32,
                "schedule": SCHEDULE,
                "training": {"batch_size": 2, "collect_batches": 2, "lr": 1e-3},
                "networks": {"net_width": 8, "zdim": 16, "enc_width": 8},
                "output": {"out_dir": str(tmp / "out"), "gif_frames": 6},
            },
        },
    }
    path = tmp / f"vlda_{max_steps}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_tiny_stage_runs_resumes_and_writes_outputs(tmp_path: Path) -> None:
    ckpt = write_tiny_checkpoint(tmp_path / "tiny.pt")
    # run 1 stops inside step 2 of stage 0 (iteration 8 of 11), as if the job had been killed
    cli = cli_main(["fit", "--config", str(_config(tmp_path, ckpt, 8))])
    assert cli.trainer.global_step == 8
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["vlda_state"] == {"image": 0, "phase": "step2", "stage": 0, "iteration": 1, "finished_images": []}
    assert not (tmp_path / "out").exists()

    cli = cli_main(
        ["fit", "--config", str(_config(tmp_path, ckpt, -1)), "--ckpt_path", str(tmp_path / "ckpt" / "last.ckpt")]
    )
    assert cli.model.state.phase == "done" and cli.model.state.finished_images == [0]
    assert cli.trainer.global_step == TOTAL  # the resumed run did exactly the remaining iterations

    out = tmp_path / "out" / "avatar_0000"
    for name in [
        "input.png",
        "reconstruction.png",
        "depth.png",
        "normal.png",
        "albedo.png",
        "shading.png",
        "rotation_grid.png",
        "relight_grid.png",
        "rotation.gif",
        "mesh.obj",
        "mesh.mtl",
        "mesh.png",
        "mesh.glb",
        "maps.safetensors",
        "metrics.json",
    ]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["loss_history"]  # [first, last, count] per phase, kept across the resume
    assert history["init_stage0"][2] == 4 and history["step1_stage0"][2] == 3 and history["step2_stage0"][2] == 2
    for first, last, _ in history.values():
        assert math.isfinite(first) and math.isfinite(last)
    for key in ("init_stage0", "step1_stage0"):  # the deterministic phases decrease within a few iterations
        assert history[key][1] < history[key][0], (key, history[key])
    assert math.isfinite(metrics["final"]["lpips"]) and math.isfinite(metrics["final"]["l1"])
    mesh = trimesh.load(out / "mesh.obj", process=False)
    assert len(mesh.vertices) == 32 * 32
