"""EG3D training: the regularisers' formulas and a few real iterations (reproducible, resumable, exported)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from tests.eg3d_helpers import seeded
from toonlift.errors import ConfigError, DataError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator
from toonlift.plugins.export import load_model
from toonlift.stages.eg3d_gan.module import EG3DGANModule
from toonlift.stages.eg3d_gan.regularizers import blur_sigma, density_tv, dual_r1, gaussian_blur


class Views(Dataset):
    """Images of a seeded EG3D teacher at sampled cameras, as dicts with the camera under 'cond'."""

    def __init__(self, n: int = 4) -> None:
        teacher = seeded(EG3DBackbone(**EG3DBackbone.example_args(Path("."))), 9)
        gen = torch.Generator().manual_seed(0)
        c = teacher.sample_cond(n, generator=gen)
        with torch.no_grad():
            self.images = teacher(teacher.sample_z(n, generator=gen), c).image.clamp(-1, 1)
        self.cond = c

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "cond": self.cond[i]}


def module(**over: object) -> EG3DGANModule:
    torch.manual_seed(0)
    g = EG3DBackbone(**EG3DBackbone.example_args(Path(".")))
    d = EG3DDualDiscriminator(**EG3DDualDiscriminator.example_args(Path(".")))
    args = {"r1_interval": 2, "density_reg_interval": 2, "density_reg_points": 64, "blur_init_sigma": 2.0,
            "blur_fade_images": 16, "max_iterations": 3, "seed": 3}  # fmt: skip
    return EG3DGANModule(g, d, **{**args, **over})


def fit(m: EG3DGANModule, ckpt: str | None = None) -> pl.Trainer:
    trainer = pl.Trainer(accelerator="cpu", max_epochs=100, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(m, DataLoader(Views(), batch_size=4), ckpt_path=ckpt)
    return trainer


def test_blur_schedule_and_kernel() -> None:
    assert blur_sigma(0, 10, 100) == 10 and blur_sigma(50, 10, 100) == 5 and blur_sigma(200, 10, 100) == 0
    x = torch.zeros(1, 1, 21, 21)
    x[0, 0, 10, 10] = 1.0
    y = gaussian_blur(x, 2.0)
    assert y.shape == x.shape and math.isclose(float(y.sum()), 1.0, rel_tol=1e-5)
    taps = torch.arange(-6, 7).div(2.0).square().neg().exp2()
    torch.testing.assert_close(y[0, 0, 10, 4:17], taps / taps.sum() * (1 / taps.sum()))  # separable: centre row
    assert torch.equal(gaussian_blur(x, 0.2), x)  # floor(3 sigma) = 0: no blur


def test_dual_r1_and_density_tv() -> None:
    img, raw = torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 3, 2, 2, requires_grad=True)
    logits = (img * 3).sum(dim=[1, 2, 3]) + (raw * 2).sum(dim=[1, 2, 3])
    torch.testing.assert_close(dual_r1(logits, img, raw), torch.tensor(48 * 9.0 + 12 * 4.0))
    g = seeded(EG3DBackbone(**EG3DBackbone.example_args(Path("."))), 1)
    ws = g.mapping(torch.randn(2, 16), g.default_cond(2))
    tv = density_tv(g, ws, torch.Generator().manual_seed(0), points=200, p_dist=0.004)
    far = density_tv(g, ws, torch.Generator().manual_seed(0), points=200, p_dist=0.1)
    assert 0 < float(tv.detach()) < float(far)  # nearby points differ less
    tv.backward()
    assert g.decoder.fc0.weight.grad.abs().sum() > 0


def test_training_runs_reproducibly_and_exports(tmp_path: Path) -> None:
    m = module(export_path=str(tmp_path / "g.safetensors"))
    start = {k: v.clone() for k, v in m.generator.state_dict().items()}
    fit(m)
    assert m.iteration == 3
    state = m.generator.state_dict()
    assert any(not torch.equal(state[k], start[k]) for k in state)
    ema = m.generator_ema.state_dict()
    assert any(not torch.equal(ema[k], state[k]) for k in state if k.endswith("weight"))
    exported = load_model(tmp_path / "g.safetensors")
    torch.testing.assert_close(exported.state_dict()["decoder.fc0.weight"], ema["decoder.fc0.weight"])
    again = module()
    fit(again)
    for k, v in again.generator.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)


def test_yaw_grids_are_logged_without_changing_the_run(tmp_path: Path) -> None:
    from PIL import Image

    plain = module()
    fit(plain)
    logged = module(grid_every=2, grid_seeds=[0, 5], grid_yaws=[-20, 0, 20], sample_dir=str(tmp_path / "grids"))
    fit(logged)
    # iteration 2 and the end of fit (iteration 3)
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["yaws_iter000002.png", "yaws_iter000003.png"]
    grid = Image.open(tmp_path / "grids" / "yaws_iter000003.png")
    side = logged.generator.resolution + 1
    assert grid.size == (3 * side + 1, 4 * side + 1)  # 3 yaws; image and depth rows for 2 seeds
    for k, v in logged.generator.state_dict().items():  # drawing the grids touched no random stream
        torch.testing.assert_close(v, plain.generator.state_dict()[k], rtol=0, atol=0)
    with pytest.raises(ConfigError, match="grid"):
        module(grid_every=1, grid_yaws=[])


def test_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = module(max_iterations=3)
    fit(straight)
    first = module(max_iterations=2)
    trainer = fit(first)
    trainer.save_checkpoint(tmp_path / "two.ckpt")
    from toonlift.stages.finetune.export import export_from_checkpoint

    exported = load_model(export_from_checkpoint(tmp_path / "two.ckpt", tmp_path / "two.safetensors"))
    torch.testing.assert_close(exported.state_dict()["decoder.fc1.weight"], first.generator_ema.decoder.fc1.weight)
    resumed = module(max_iterations=3)
    fit(resumed, ckpt=str(tmp_path / "two.ckpt"))
    assert resumed.iteration == 3
    for k, v in resumed.generator_ema.state_dict().items():
        torch.testing.assert_close(v, straight.generator_ema.state_dict()[k], rtol=1e-5, atol=1e-6)


def test_refusals() -> None:
    g = EG3DBackbone(**EG3DBackbone.example_args(Path(".")))
    with pytest.raises(ConfigError, match="resolution: 16"):
        EG3DGANModule(g, EG3DDualDiscriminator(resolution=32, raw_resolution=8, channel_base=128, channel_max=16))
    m = module()
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, max_epochs=1)  # fmt: skip
    images = DataLoader([torch.zeros(3, 16, 16)] * 2, batch_size=2)
    with pytest.raises(DataError, match="'cond'"):
        trainer.fit(m, images)


@pytest.mark.slow
def test_lite_config_trains_on_the_synthetic_world(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "g.safetensors"
    fit = subprocess.run(
        [sys.executable, "cli.py", "fit", "--config", "configs/eg3d_lite.yaml",
         "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
         "--trainer.logger", "false", "--trainer.callbacks", "[]",
         "--data.init_args.num_samples", "2", "--data.init_args.batch_size", "2",
         "--model.init_args.max_iterations", "1", "--model.init_args.export_path", str(out)],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    g = load_model(out)
    assert g.arch_args() == EG3DBackbone.preset("lite64", pose_conditioning=False).arch_args()


@pytest.mark.slow
def test_a_resumed_run_trains_to_the_new_iteration_limit(tmp_path: Path) -> None:
    """LightningCLI restores the checkpoint's hyper-parameters; the max_iterations asked for on resume must win."""
    import json

    from toonlift.cli import cli_main

    root = Path(__file__).resolve().parents[1]
    callbacks = [{"class_path": "toonlift.callbacks.iteration_checkpoint.IterationCheckpoint",
                  "init_args": {"dirpath": str(tmp_path / "ck"), "every_n_iterations": 1, "keep": 5}}]  # fmt: skip
    args = ["fit", "--config", str(root / "configs/eg3d_lite.yaml"), "--trainer.default_root_dir", str(tmp_path),
            "--trainer.enable_progress_bar", "false", "--trainer.logger", "false",
            "--trainer.callbacks", json.dumps(callbacks), "--data.init_args.num_samples", "2",
            "--data.init_args.batch_size", "2", "--model.init_args.export_path", str(tmp_path / "g.safetensors"),
            "--model.init_args.grid_every", "0"]  # fmt: skip
    assert cli_main([*args, "--model.init_args.max_iterations", "1"]).model.iteration == 1
    resumed = cli_main([*args, "--model.init_args.max_iterations", "3", "--ckpt_path", str(tmp_path / "ck/last.ckpt")])
    assert resumed.model.iteration == 3 and resumed.model.hparams.max_iterations == 3  # the old limit stopped at 2
    assert (tmp_path / "ck" / "iter000003.ckpt").is_file()
