"""FinetuneModule: end-to-end fit through the CLI, structure loss, R1, exact resume, bad data."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from tests.helpers_stage1 import tiny_arch, write_image_folder, write_tiny_config
from toonlift.cli import cli_main, main
from toonlift.plugins.losses.r1 import R1Loss
from toonlift.plugins.losses.structure import StructureLoss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, load_generator
from toonlift.utils.io import safe_torch_load


def _metrics(root: Path) -> list[dict[str, str]]:
    files = sorted(root.rglob("metrics.csv"))
    assert files, f"no metrics.csv under {root}"
    with files[-1].open() as f:
        return list(csv.DictReader(f))


def test_structure_loss_zero_for_equal_generators_positive_otherwise():
    torch.manual_seed(0)
    g_base = StyleGAN2Backbone(**tiny_arch())
    g_trans = StyleGAN2Backbone(**tiny_arch())
    g_trans.load_state_dict(g_base.state_dict())
    z = torch.randn(3, 32, generator=torch.Generator().manual_seed(1))
    noise = g_base.make_noise(3, generator=torch.Generator().manual_seed(2))
    names = ("block_8", "block_16")
    loss = StructureLoss(num_blocks=2)

    def feats(g):
        out = g.synthesis(g.mapping(z), noise=noise, return_features=names)
        return [out.features[n] for n in names]

    assert float(loss(feats(g_base), feats(g_trans))) == 0.0
    with torch.no_grad():
        g_trans.convs[0].conv.weight.add_(0.05 * torch.randn_like(g_trans.convs[0].conv.weight))
    assert float(loss(feats(g_base), feats(g_trans))) > 1e-6
    # different noise alone (same weights) also changes the features: the module must share noise maps
    other = g_base.make_noise(3, generator=torch.Generator().manual_seed(9))
    g_trans.load_state_dict(g_base.state_dict())
    with torch.no_grad():
        for g in (g_base, g_trans):
            for conv in list(g.convs) + [g.conv1]:
                conv.noise.weight.fill_(0.5)
    a = g_base.synthesis(g_base.mapping(z), noise=noise, return_features=names)
    b = g_trans.synthesis(g_trans.mapping(z), noise=other, return_features=names)
    assert float(loss([a.features[n] for n in names], [b.features[n] for n in names])) > 1e-6


def test_r1_equals_hand_computation():
    # D(x) = sum(a * x^2) per sample: grad = 2 a x, so R1 = mean_b sum (2 a x)^2
    a = torch.linspace(0.1, 1.0, 3 * 4 * 4).view(1, 3, 4, 4)
    x = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    logits = (a * x.pow(2)).flatten(1).sum(1, keepdim=True)
    r1 = R1Loss(weight=10.0, interval=16)
    expected = 0.5 * 16 * (2 * a * x.detach()).pow(2).flatten(1).sum(1).mean()
    torch.testing.assert_close(r1(logits, x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.slow  # the default run covers fit through the CLI in test_finetune_rosinality.py
def test_fit_through_cli_end_to_end(tmp_path):
    data = write_image_folder(tmp_path / "imgs", n=10, size=24)
    root = tmp_path / "run"
    cfg = write_tiny_config(tmp_path / "tiny.yaml", data, root)
    cli_main(["fit", "--config", str(cfg)])
    rows = _metrics(root)
    keys = ["train/d_loss", "train/g_adv", "train/structure", "train/r1", "train/path_length"]
    seen = {k: [float(r[k]) for r in rows if r.get(k)] for k in keys}
    for k, values in seen.items():
        assert values, f"{k} never logged"
        assert all(math.isfinite(v) for v in values), k
    assert max(float(r["train/iteration"]) for r in rows if r.get("train/iteration")) == 6.0
    last = root / "checkpoints" / "last.ckpt"
    ckpt = safe_torch_load(last)  # weights_only=True: the checkpoint holds no pickled objects
    assert ckpt["toonlift_finetune"]["iteration"] == 6
    assert {k.split(".")[0] for k in ckpt["state_dict"]} >= {"generator", "generator_ema", "generator_base"}
    assert len(ckpt["optimizer_states"]) == 2
    assert 0.0 <= float(ckpt["state_dict"]["augment.p"]) <= 1.0
    exported = next(root.rglob("g_ema.safetensors"))
    g = load_generator(exported)
    for k, v in g.state_dict().items():
        torch.testing.assert_close(v, ckpt["state_dict"][f"generator_ema.{k}"])
    assert list(root.rglob("samples/val_iter000003.png"))


def _final_state(root: Path) -> dict[str, torch.Tensor]:
    return safe_torch_load(root / "checkpoints" / "last.ckpt")["state_dict"]


def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(tmp_path):
    data = write_image_folder(tmp_path / "imgs", n=6, size=20)
    common = {"max_iterations": 4, "path_length": {"class_path": "path_length", "init_args": {"interval": 2}}}
    straight = tmp_path / "straight"
    cfg_a = write_tiny_config(tmp_path / "a.yaml", data, straight, **common)
    cli_main(["fit", "--config", str(cfg_a), "--trainer.limit_val_batches", "0"])
    split = tmp_path / "split"
    cfg_b = write_tiny_config(tmp_path / "b.yaml", data, split, **common)
    cli_main(
        ["fit", "--config", str(cfg_b), "--trainer.limit_val_batches", "0", "--model.init_args.max_iterations", "2"]
    )
    assert safe_torch_load(split / "checkpoints" / "last.ckpt")["toonlift_finetune"]["iteration"] == 2
    cli_main(["fit", "--config", str(cfg_b), "--trainer.limit_val_batches", "0", "--ckpt_path", "last"])
    # on-demand export of the EMA generator from the checkpoint
    out = tmp_path / "g_ema.safetensors"
    assert main(["export-generator", str(split / "checkpoints" / "last.ckpt"), str(out)]) == 0
    exported = load_generator(out)
    for k, v in exported.state_dict().items():
        torch.testing.assert_close(v, _final_state(split)[f"generator_ema.{k}"])
    a, b = _final_state(straight), _final_state(split)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6, msg=lambda m, k=k: f"{k}: {m}")


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_bad_data_folder_gives_clear_cli_error(tmp_path, capsys, kind):
    folder = tmp_path / "data"
    if kind == "empty":
        folder.mkdir()
    cfg = write_tiny_config(tmp_path / "c.yaml", folder, tmp_path / "run")
    assert main(["fit", "--config", str(cfg)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the CLI wraps the message
    assert "toonlift: error:" in err and "docs/data.md" in err
    assert ("not found" in err) if kind == "missing" else ("contains no" in err)


@pytest.mark.parametrize("preset", ["disney", "metfaces", "ukiyoe"])
def test_presets_parse(preset, capsys):
    config = Path(__file__).resolve().parents[1] / "configs" / f"{preset}.yaml"
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", str(config), "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "num_blocks: 2" in printed and "max_iterations: 2000" in printed and "batch_size: 8" in printed
