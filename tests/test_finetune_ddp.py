"""DDP: two CPU processes (gloo, ddp_spawn) train without unused-parameter errors and end with identical weights."""

from __future__ import annotations

import hashlib

import pytest
import pytorch_lightning as pl
import torch

from tests.helpers_stage1 import tiny_arch, write_image_folder
from toonlift.datamodules.image_folder import ImageFolderDataModule
from toonlift.plugins.losses.path_length import PathLengthLoss
from toonlift.plugins.losses.r1 import R1Loss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.finetune.adaptive_augment import AdaptiveAugment
from toonlift.stages.finetune.module import FinetuneModule
from toonlift.utils.rng import stream_seed


class RankDump(pl.Callback):
    """Each rank writes a digest of its weights and its ADA p at the end of training."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_train_end(self, trainer, pl_module) -> None:
        digest = {}
        for name in ("generator", "discriminator", "generator_ema"):
            h = hashlib.sha256()
            for k, v in getattr(pl_module, name).state_dict().items():
                h.update(k.encode())
                h.update(v.detach().cpu().contiguous().numpy().tobytes())
            digest[name] = h.hexdigest()
        digest["p"] = pl_module.augment.probability
        digest["iteration"] = pl_module.iteration
        torch.save(digest, f"{self.folder}/rank{trainer.global_rank}.pt")


def test_ranks_draw_different_streams():
    assert stream_seed(0, 0, 2, 5) != stream_seed(0, 1, 2, 5)
    assert stream_seed(0, 1, 2, 5) == stream_seed(0, 1, 2, 5)


@pytest.mark.slow
def test_ddp_two_cpu_processes_identical_weights(tmp_path):
    data = write_image_folder(tmp_path / "imgs", n=8, size=20)
    arch = tiny_arch()
    torch.manual_seed(0)
    module = FinetuneModule(
        generator=StyleGAN2Backbone(**arch),
        discriminator=StyleGAN2Discriminator(16, 1, 16),
        r1=R1Loss(10.0, interval=2),
        path_length=PathLengthLoss(2.0, interval=2),
        augment=AdaptiveAugment(speed_images=50, interval=1),
        freeze_d=1,
        max_iterations=3,
        num_grid_samples=2,
    )
    dm = ImageFolderDataModule(str(data), resolution=16, batch_size=2)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",  # plain DDP: the module switches on find_unused_parameters itself
        max_epochs=-1,
        limit_val_batches=1,
        val_check_interval=3,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
        callbacks=[RankDump(str(tmp_path))],
    )
    trainer.fit(module, dm)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["iteration"] == r1["iteration"] == 3
    assert r0 == r1
    assert r0["p"] > 0.0  # ADA p moved, identically on both ranks (sign statistics summed over ranks)
