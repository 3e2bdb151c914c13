"""configs/offsets.yaml end to end on files in the released layouts (random values): FFHQ-256 rosinality checkpoint,
model_ir_se50.pth, 79999_iter.pth, a Stage-1 safetensors export. Slow: full-size networks on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from tests.test_identity_parsers import arcface_ir_se50_layout, bisenet_layout, random_state
from toonlift.cli import cli_main
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, save_generator
from toonlift.utils.io import load_safetensors

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_offsets_yaml_runs_on_real_layout_files(tmp_path):
    torch.manual_seed(0)
    g = StyleGAN2Backbone(size=256)
    torch.save({"g_ema": g.state_dict(), "latent_avg": torch.zeros(512)}, tmp_path / "ffhq256.pt")
    save_generator(StyleGAN2Backbone(size=256), tmp_path / "disney.safetensors")
    torch.save(random_state(arcface_ir_se50_layout()), tmp_path / "model_ir_se50.pth")
    torch.save(random_state(bisenet_layout()), tmp_path / "79999_iter.pth")
    eigvec = torch.linalg.qr(torch.randn(512, 512))[0]
    torch.save({"ckpt": "ffhq256.pt", "eigvec": eigvec}, tmp_path / "factor.pt")

    config = yaml.safe_load((ROOT / "configs" / "offsets.yaml").read_text())
    init = config["model"]["init_args"]
    init["generator"]["init_args"]["checkpoint"] = str(tmp_path / "ffhq256.pt")
    init["identity_encoder"]["init_args"]["weights"] = str(tmp_path / "model_ir_se50.pth")
    init["face_parser"]["init_args"]["weights"] = str(tmp_path / "79999_iter.pth")
    init["cartoon_generators"][0]["init_args"]["checkpoint"] = str(tmp_path / "disney.safetensors")
    init.update(
        {"out_dir": str(tmp_path / "out"), "num_steps": 2, "truncation_samples": 64},
        directions_file=str(tmp_path / "factor.pt"),
    )
    config["trainer"]["logger"] = False
    config["trainer"]["default_root_dir"] = str(tmp_path)  # config.yaml is saved here, not in the working directory
    config["data"]["init_args"] = {"count": 1, "batch_size": 1}
    path = tmp_path / "offsets.yaml"
    path.write_text(yaml.safe_dump(config))
    cli_main(["fit", "--config", str(path)])
    tensors, meta = load_safetensors(tmp_path / "out" / "seed0000.safetensors")
    assert tensors["ws"].shape == (14, 512) and tensors["offset"].shape == (512,)
    assert meta["objective"] == "paper" and meta["lambda_low"] == 0.2 and meta["alpha"] == 5.0
    assert (tmp_path / "out" / "grid_0000.png").is_file()
