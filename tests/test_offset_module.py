"""OffsetModule through the CLI (``fit``) on a tiny random world, and the latents data module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from tests.stage2_parts import tiny_generator
from toonlift.cli import cli_main
from toonlift.datamodules.latents import LatentsDataModule, read_latent_file
from toonlift.errors import DataError
from toonlift.utils.hashing import state_dict_hash
from toonlift.utils.io import load_safetensors, save_safetensors

G_PATH = "stylegan2"  # the backbone registry name
TINY_G = {"size": 16, "style_dim": 64, "n_mlp": 2, "channel_max": 32}


def _factor_file(path: Path, dim: int) -> torch.Tensor:
    eigvec = torch.linalg.qr(torch.randn(dim, dim, generator=torch.Generator().manual_seed(7)))[0]
    torch.save({"ckpt": "g.pt", "eigvec": eigvec}, path)  # rosinality closed_form_factorization.py format
    return eigvec


def _config(tmp_path: Path, data: dict, extra: dict | None = None) -> Path:
    torch.manual_seed(0)
    g = tiny_generator(seed=0, size=16)
    from toonlift.plugins.stylegan2 import save_generator

    save_generator(g, tmp_path / "human.safetensors")
    save_generator(tiny_generator(seed=1, size=16), tmp_path / "cartoon.safetensors")
    save_generator(tiny_generator(seed=2, size=16), tmp_path / "blended.safetensors")
    model = {
        "generator": {"class_path": G_PATH, "init_args": {**TINY_G, "checkpoint": str(tmp_path / "human.safetensors")}},
        "identity_encoder": {"class_path": "tests.stage2_parts.TinyIdentityEncoder"},
        "cartoon_generators": [
            {"class_path": G_PATH, "init_args": {**TINY_G, "checkpoint": str(tmp_path / "cartoon.safetensors")}},
            {"class_path": G_PATH, "init_args": {**TINY_G, "checkpoint": str(tmp_path / "blended.safetensors")}},
        ],
        "cartoon_names": ["toon", "blend"],
        "cartoon_swap": [True, False],  # the fine-tuned G through the feature swap, the blended G on its own
        "swap_feature": "block_8",
        "directions_file": str(tmp_path / "factor.pt"),
        "direction_index": 2,
        "alpha": 3.0,
        "num_steps": 3,
        "truncation": 0.7,
        "truncation_samples": 64,
        "out_dir": str(tmp_path / "out"),
    }
    model.update(extra or {})
    config = {
        "seed_everything": 0,
        "trainer": {
            "default_root_dir": str(tmp_path),  # LightningCLI saves config.yaml here, not in the working directory
            "accelerator": "cpu",
            "devices": 1,
            "max_epochs": 1,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
        },
        "model": {"class_path": "offset", "init_args": model},
        "data": data,
    }
    path = tmp_path / "offsets.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_fit_on_seeds_writes_offsets_metadata_and_grids(tmp_path):
    eigvec = _factor_file(tmp_path / "factor.pt", 64)
    cfg = _config(tmp_path, {"class_path": "seeds", "init_args": {"count": 3, "batch_size": 2}})
    cli = cli_main(["fit", "--config", str(cfg)])
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.safetensors")) == [f"seed000{i}.safetensors" for i in range(3)]
    tensors, meta = load_safetensors(out / "seed0001.safetensors")
    assert meta["generator_hash"] == state_dict_hash(cli.model.generator)
    assert meta["direction_index"] == 2 and meta["alpha"] == 3.0
    assert set(meta["losses"]) == {"id", "low", "keep", "total"}
    torch.testing.assert_close(tensors["offset_init"], 3.0 * eigvec[:, 2])  # SeFa start: alpha * n*
    assert not torch.equal(tensors["offset"], tensors["offset_init"])  # it was optimised
    torch.testing.assert_close(tensors["ws_plus"], tensors["ws"] + tensors["offset"])
    torch.testing.assert_close(tensors["ws_minus"], tensors["ws"] - tensors["offset"])
    assert json.loads((out / "seed0001.json").read_text())["name"] == "seed0001"
    labels = json.loads((out / "grid_columns.json").read_text())
    assert labels == ["human_sefa-", "human_sefa+"] + [f"{m}{s}" for s in "-0+" for m in ("human", "toon", "blend")]
    grid = np.asarray(Image.open(out / "grid_0000.png"))
    assert grid.shape == (2 + 2 * 18, 2 + 11 * 18, 3)  # 2 latents x 11 columns of 16 px tiles, 2 px padding
    # the swapped column differs from the same generator rendered on its own; the plain one equals it
    module = cli.model
    ws = module.latents(torch.tensor([0]))[1]
    cols, _ = module.render_columns(ws, torch.zeros(1, 64), torch.zeros(1, 64))
    own = [g.synthesis(ws, noise_mode="const").image for g in module.cartoon_generators]
    assert not torch.allclose(cols[6], own[0]) and torch.allclose(cols[7], own[1])
    assert (out / "grid_0001.png").is_file()


def test_sefa_start_is_alpha_times_the_closed_form_direction(tmp_path):
    from toonlift.functional.sefa import closed_form_directions, stack_modulation_weights

    cfg = _config(tmp_path, {"class_path": "seeds", "init_args": {"count": 1}}, {"directions_file": None})
    cli = cli_main(["--config", str(cfg)], run=False)
    module = cli.model
    directions, _ = closed_form_directions(stack_modulation_weights(module.generator.modulation_weights()))
    start = module.initial_offsets(3)
    torch.testing.assert_close(start, (3.0 * directions[:, 2]).expand(3, -1))
    torch.testing.assert_close(start.norm(dim=1), torch.full((3,), 3.0))  # n* is a unit vector
    module.per_layer = True
    assert torch.equal(module.initial_offsets(2), (3.0 * directions[:, 2]).expand(2, module.generator.num_ws, -1))
    with pytest.raises(DataError, match="do not fit the generator"):
        module.latents({"name": ["x"], "ws": torch.zeros(1, 5, 64)})  # 5 layers, the 16 px generator has 6


def test_grid_and_losses_reach_an_offline_wandb_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    _factor_file(tmp_path / "factor.pt", 64)
    cfg = _config(tmp_path, {"class_path": "seeds", "init_args": {"count": 1}}, {"num_steps": 2})
    config = yaml.safe_load(cfg.read_text())
    config["trainer"]["logger"] = {
        "class_path": "pytorch_lightning.loggers.WandbLogger",
        "init_args": {"offline": True, "save_dir": str(tmp_path / "wandb"), "project": "toonlift-test"},
    }
    cfg.write_text(yaml.safe_dump(config))
    cli_main(["fit", "--config", str(cfg)])
    import wandb

    wandb.finish()
    media = list((tmp_path / "wandb").rglob("media/images/offsets/grid*.png"))
    assert media, "the grid was not logged to the W&B run"
    history = list((tmp_path / "wandb").rglob("*.wandb"))
    assert history


def test_fit_with_the_synthetic_world_plugins_by_registry_name(tmp_path):
    from toonlift.synthetic.analyser import FaceAnalyser

    torch.manual_seed(0)
    FaceAnalyser(width=8).save(tmp_path / "analyser.safetensors")  # random weights, the shipped file's format
    _factor_file(tmp_path / "factor.pt", 64)
    analyser = {"weights": str(tmp_path / "analyser.safetensors")}
    extra = {
        "identity_encoder": {"class_path": "synthetic_analyser", "init_args": analyser},
        "face_parser": {"class_path": "synthetic_parser", "init_args": analyser},
        "num_steps": 3,
        "objective": "log",
        "lambda_low": 0.1,
        "save_grids": False,
    }
    cfg = _config(tmp_path, {"class_path": "seeds", "init_args": {"count": 2, "batch_size": 2}}, extra)
    cli = cli_main(["fit", "--config", str(cfg)])
    assert type(cli.model.search.identity_encoder).__name__ == "SyntheticAnalyserIdentityEncoder"
    _, meta = load_safetensors(tmp_path / "out" / "seed0001.safetensors")
    assert meta["objective"] == "log" and all(np.isfinite(v) for v in meta["losses"].values())


def test_fit_on_latent_files_per_layer(tmp_path):
    _factor_file(tmp_path / "factor.pt", 64)
    g = tiny_generator(seed=0, size=16)
    ws = g.mapping(torch.randn(2, 64)).detach()
    save_safetensors(tmp_path / "lat" / "photo.safetensors", {"ws": ws[0]}, {})
    torch.save({"latent": ws[1, 0]}, tmp_path / "lat" / "other.pt")  # a single w
    with pytest.raises(DataError, match="mix shapes"):
        LatentsDataModule([str(tmp_path / "lat")]).items()
    torch.save({"latent": ws[1]}, tmp_path / "lat" / "other.pt")
    data = {"class_path": "latents", "init_args": {"paths": [str(tmp_path / "lat")], "batch_size": 2}}
    cfg = _config(tmp_path, data, {"per_layer": True, "save_grids": False})
    cli_main(["fit", "--config", str(cfg)])
    tensors, meta = load_safetensors(tmp_path / "out" / "photo.safetensors")
    assert tensors["offset"].shape == (6, 64) and meta["per_layer"] is True
    torch.testing.assert_close(tensors["ws"], ws[0])


def test_latent_file_layouts_and_errors(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 6, 8), np.float32))
    assert [n for n, _ in read_latent_file(tmp_path / "a.npy")] == ["a_0000", "a_0001", "a_0002"]
    torch.save({"img1.png": {"latent": torch.zeros(8), "noise": []}}, tmp_path / "proj.pt")  # rosinality projector
    ((name, lat),) = read_latent_file(tmp_path / "proj.pt")
    assert name == "proj_img1" and lat.shape == (8,)
    torch.save({"nothing": 1}, tmp_path / "bad.pt")
    with pytest.raises(DataError, match="holds no latent"):
        read_latent_file(tmp_path / "bad.pt")
    torch.save(torch.full((8,), float("nan")), tmp_path / "nan.pt")
    with pytest.raises(DataError, match="NaN"):
        read_latent_file(tmp_path / "nan.pt")
    with pytest.raises(DataError, match="does not exist"):
        LatentsDataModule([str(tmp_path / "missing")]).items()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no"):
        LatentsDataModule([str(tmp_path / "empty")]).items()


def test_max_steps_counts_batches_of_latents(tmp_path):
    """No optimizer step moves Lightning's counter here, so max_steps is honoured as batches (it was ignored)."""
    _factor_file(tmp_path / "factor.pt", 64)
    cfg = _config(tmp_path, {"class_path": "seeds", "init_args": {"count": 6, "batch_size": 2}}, {"num_steps": 2})
    cli_main(["fit", "--config", str(cfg), "--trainer.max_steps", "1"])
    written = sorted(p.name for p in (tmp_path / "out").glob("seed*.safetensors"))
    assert written == ["seed0000.safetensors", "seed0001.safetensors"]
