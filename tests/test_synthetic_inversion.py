"""Ground truth for GAN images from the synthetic world: inversion, files VLDA reads, the command, a tiny VLDA run."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from tests.vlda_helpers import tiny_stylegan2
from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2 import save_generator
from toonlift.stages.vlda.inputs import load_ground_truth, load_latents
from toonlift.stages.vlda.invert_synthetic import main as invert_main
from toonlift.stages.vlda.synthetic_truth import SyntheticTargets, invert_synthetic_faces, save_targets


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # small ops on a shared 2-core machine: two threads contend with other work and run ~10x slower than one
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_g() -> nn.Module:
    g, _ = tiny_stylegan2()
    return g


@pytest.fixture(scope="module")
def inverted(tiny_g: nn.Module) -> SyntheticTargets:
    with torch.random.fork_rng(devices=[]):
        return invert_synthetic_faces(tiny_g, 2, 7000, truth_domain="photo", steps=40)


def test_inversion_moves_toward_the_target_and_is_reproduced_by_constant_noise(
    tiny_g: nn.Module, inverted: SyntheticTargets
) -> None:
    noise_before = tiny_g.noises.noise_3.clone()
    t = inverted
    assert t.w.shape == (2, 32) and t.w.dtype == torch.float32
    assert t.target.shape == t.projected.shape == (2, 3, 32, 32)
    assert t.depth.shape == t.mask.shape == (2, 32, 32) and t.mask.dtype == torch.float32
    assert set(t.mask.unique().tolist()) <= {0.0, 1.0} and t.mask.mean() > 0.1
    fg = t.depth[t.mask > 0]
    assert fg.min() >= 0.89 and fg.max() <= 1.1  # the renderer's depth range, as VLDA's SIDE expects
    assert t.indices == [0, 1] and t.seed == 7000 and t.truth_domain == "photo"
    # a real projection: every face ends clearly closer to its target than the starting point G(mean w)
    for key in ("l1", "perceptual"):
        for end, start in zip(t.residual[key], t.residual[f"{key}_start"], strict=True):
            assert end < 0.8 * start, (key, t.residual)
    # VLDA renders G(w) with the constant noise buffers: it must see exactly the projected image
    with torch.no_grad():
        again = tiny_g.synthesis(t.w, noise_mode="const").image
    torch.testing.assert_close(again, t.projected, atol=1e-5, rtol=0)
    torch.testing.assert_close(tiny_g.noises.noise_3, noise_before, atol=0, rtol=0)  # buffers untouched


def test_files_load_as_vlda_reads_them(inverted: SyntheticTargets, tmp_path: Path) -> None:
    paths = save_targets(inverted, tmp_path / "gt")
    w = load_latents(paths["latents"], 32)
    depth, mask = load_ground_truth(paths["ground_truth"], 2, 32)
    torch.testing.assert_close(w, inverted.w)
    torch.testing.assert_close(depth, inverted.depth)
    torch.testing.assert_close(mask, inverted.mask)
    meta = json.loads(paths["meta"].read_text())
    assert meta["indices"] == [0, 1] and meta["truth_domain"] == "photo" and len(meta["residual"]["l1"]) == 2
    assert paths["grid"].stat().st_size > 0


def test_truth_domain_changes_the_depth_not_the_pose_or_the_latent(tiny_g: nn.Module) -> None:
    photo = invert_synthetic_faces(tiny_g, 2, 7000, truth_domain="photo", steps=2, gt_size=48)
    toon = invert_synthetic_faces(tiny_g, 2, 7000, truth_domain="cartoon", steps=2, gt_size=48)
    assert photo.depth.shape == (2, 48, 48)  # rendered at VLDA's image size, not at the generator's
    torch.testing.assert_close(photo.w, toon.w)  # both project the photo renders
    torch.testing.assert_close(photo.pose, toon.pose)
    both = (photo.mask > 0) & (toon.mask > 0)
    gap = (photo.depth - toon.depth).abs()[both].mean()
    assert gap > 2e-3, gap  # the toon head shape differs from the photo one (depth range is only 0.2)
    head = invert_synthetic_faces(tiny_g, 2, 7000, steps=1, gt_size=48, mask_region="head")
    assert bool((head.mask >= photo.mask).all()) and head.mask.sum() > 1.2 * photo.mask.sum()  # + hair and neck
    torch.testing.assert_close(head.depth, photo.depth)


def test_bad_arguments_raise_clear_errors(tiny_g: nn.Module) -> None:
    with pytest.raises(ConfigError, match="truth_domain"):
        invert_synthetic_faces(tiny_g, 1, 0, truth_domain="sketch")
    with pytest.raises(ConfigError, match="count"):
        invert_synthetic_faces(tiny_g, 0, 0)
    with pytest.raises(ConfigError, match="steps"):
        invert_synthetic_faces(tiny_g, 1, 0, steps=0)
    with pytest.raises(ConfigError, match="mask_region"):
        invert_synthetic_faces(tiny_g, 1, 0, mask_region="hair")
    with pytest.raises(ConfigError, match="StyleGAN2"):
        invert_synthetic_faces(nn.Linear(2, 2), 1, 0)


def test_command_writes_files_and_rejects_missing_files(
    tiny_g: nn.Module, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    g_path = save_generator(tiny_g, tmp_path / "g.safetensors")
    out = tmp_path / "out"
    common = ["--count", "2", "--seed", "7000", "--steps", "3", "--out", str(out)]
    assert invert_main(["--generator", str(tmp_path / "nope.safetensors"), *common]) == 2
    # the one error line, after the thread chooser's note when the machine is busy
    err = "\n".join(x for x in capsys.readouterr().err.strip().splitlines() if "machine busy" not in x)
    assert err.startswith("error: --generator not found") and "nope.safetensors" in err and "\n" not in err
    missing_cartoon = ["--cartoon-generator", str(tmp_path / "c.safetensors")]
    assert invert_main(["--generator", str(g_path), *missing_cartoon, *common]) == 2
    assert "--cartoon-generator not found" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written
    argv = ["--generator", str(g_path), "--truth-domain", "cartoon", "--cartoon-generator", str(g_path), *common]
    assert invert_main(argv) == 0
    assert load_ground_truth(out / "ground_truth.safetensors", 2, 32)[0].shape == (2, 32, 32)
    meta = json.loads((out / "targets.json").read_text())
    assert meta["truth_domain"] == "cartoon" and len(meta["cartoon_l1"]) == 2
    assert (out / "cartoon.png").is_file() and (out / "targets.png").is_file()


def test_vlda_on_an_inverted_face_scores_prior_and_final(
    tiny_g: nn.Module, inverted: SyntheticTargets, tmp_path: Path
) -> None:
    from toonlift.datamodules.steps import StepsDataModule
    from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
    from toonlift.plugins.parsers.synthetic_parser import SyntheticFaceParser
    from toonlift.stages.vlda.module import VLDAModule
    from toonlift.stages.vlda.schedule import Schedule
    from toonlift.stages.vlda.settings import AvatarOutput, VLDAImages, VLDANetworks, VLDATraining

    one = SyntheticTargets(
        inverted.w[:1], inverted.target[:1], inverted.projected[:1], inverted.depth[:1], inverted.mask[:1],
        "photo", 7000, [0], {k: v[:1] for k, v in inverted.residual.items()},
    )  # fmt: skip
    paths = save_targets(one, tmp_path / "gt")
    _, disc = tiny_stylegan2()
    module = VLDAModule(
        tiny_g, disc, perceptual=AnalyserPerceptualLoss(0.5), face_parser=SyntheticFaceParser(),
        images=VLDAImages(latents=str(paths["latents"]), ground_truth=str(paths["ground_truth"])), image_size=32,
        schedule=Schedule((2, 2, 2), (1, 1, 1), num_stages=1, init_iters=3),
        training=VLDATraining(batch_size=2, collect_batches=1), networks=VLDANetworks(8, 16, 8),
        output=AvatarOutput(str(tmp_path / "out"), gif_frames=4),
    )  # fmt: skip
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, datamodule=StepsDataModule())
    metrics = json.loads((tmp_path / "out" / "avatar_0000" / "metrics.json").read_text())
    for key in ("prior", "stage1", "final"):
        assert math.isfinite(metrics[key]["side"]) and math.isfinite(metrics[key]["mad"]), metrics
        assert metrics[key]["side"] > 0
