"""The Stage-1 "done" check: a real-layout rosinality FFHQ-style checkpoint + an image folder, `fit --config` with
W&B offline, checkpoints, `--ckpt_path last` resume, and `test` reporting FID/KID/LPIPS."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from tests.helpers_stage1 import (
    register_random_conv_extractor,
    write_image_folder,
    write_rosinality_checkpoint,
    write_tiny_config,
)
from toonlift.cli import cli_main
from toonlift.plugins.stylegan2 import load_rosinality_checkpoint
from toonlift.utils.io import safe_torch_load


@pytest.fixture
def wandb_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb_cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    return tmp_path


@pytest.mark.slow  # ~75 s on the shared 2-core CPU; run with -m slow
def test_fit_wandb_offline_resume_and_test_metrics(tmp_path, wandb_offline):
    data = write_image_folder(tmp_path / "cartoons", n=8, size=24)
    base_ckpt = write_rosinality_checkpoint(tmp_path / "ffhq16.pt")
    root = tmp_path / "run"
    cfg = write_tiny_config(
        tmp_path / "disney_tiny.yaml",
        data,
        root,
        checkpoint=base_ckpt,
        max_iterations=2,
        feature_extractor=register_random_conv_extractor(),
        lpips={"class_path": "lpips", "init_args": {"allow_random_backbone": True}},
        path_length={"class_path": "path_length", "init_args": {"weight": 2.0, "interval": 2}},
    )
    config = yaml.safe_load(cfg.read_text())
    config["trainer"]["val_check_interval"] = 2
    config["trainer"]["limit_val_batches"] = 1
    config["trainer"]["logger"] = [
        {
            "class_path": "pytorch_lightning.loggers.WandbLogger",
            "init_args": {"offline": True, "save_dir": str(root), "project": "toonlift-test"},
        },
        {"class_path": "pytorch_lightning.loggers.CSVLogger", "init_args": {"save_dir": str(root)}},
    ]
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))

    # the starting point really is the checkpoint's g_ema and d
    base = load_rosinality_checkpoint(base_ckpt)
    cli = cli_main(["fit", "--config", str(cfg)])
    model = cli.model
    for k, v in base["g_ema"].items():
        torch.testing.assert_close(model.generator_base.state_dict()[k], v)
    metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items()}
    for key in ("val/fid", "val/kid", "val/lpips", "train/d_loss", "train/g_adv", "train/structure"):
        assert key in metrics and math.isfinite(metrics[key]), key
    assert list(root.rglob("wandb/offline-run-*")), "no offline W&B run was written"
    assert list(root.rglob("samples/val_iter000002.png"))

    # resume from last.ckpt for two more iterations
    resumed = cli_main(["fit", "--config", str(cfg), "--model.init_args.max_iterations", "4", "--ckpt_path", "last"])
    assert resumed.model.iteration == 4
    last = safe_torch_load(root / "checkpoints" / "last.ckpt")
    assert last["toonlift_finetune"]["iteration"] == 4

    # `test` on the checkpoint reports the three paper metrics
    tested = cli_main(["test", "--config", str(cfg), "--ckpt_path", str(root / "checkpoints" / "last.ckpt")])
    results = {k: float(v) for k, v in tested.trainer.callback_metrics.items()}
    for key in ("test/fid", "test/kid", "test/lpips"):
        assert key in results and math.isfinite(results[key]), key
    assert results["test/lpips"] >= 0.0
