"""On a face with known depth, VLDA's reconstructed depth beats the ellipsoid prior's SIDE (slow: a few minutes).

The "GAN" is ``AnalyticFaceBackbone``: one known 3D face rendered by toonlift's renderer from the view and light in
its latent, with the ground-truth depth in ``BackboneOutput.depth`` (the ideal GAN that VLDA assumes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from tests.vlda_helpers import AnalyticFaceBackbone, tiny_stylegan2
from toonlift.datamodules.steps import StepsDataModule
from toonlift.stages.vlda.module import VLDAModule
from toonlift.stages.vlda.schedule import Schedule
from toonlift.stages.vlda.settings import AvatarOutput, FacePrior, VLDAImages, VLDANetworks, VLDATraining
from toonlift.utils.io import save_safetensors


@pytest.mark.slow
def test_reconstruction_beats_the_ellipsoid_prior(tmp_path: Path) -> None:
    save_safetensors(tmp_path / "w.safetensors", {"w": torch.zeros(1, 4)}, {})  # the frontal view
    _, disc = tiny_stylegan2()
    module = VLDAModule(
        AnalyticFaceBackbone(32),
        disc,
        images=VLDAImages(latents=str(tmp_path / "w.safetensors")),
        image_size=32,
        schedule=Schedule((60, 200, 300), (60, 200, 300), num_stages=2, init_iters=100),
        training=VLDATraining(batch_size=8, collect_batches=8, lr=5e-4),
        networks=VLDANetworks(net_width=16, zdim=64, enc_width=8),
        prior=FacePrior(category="none"),
        output=AvatarOutput(str(tmp_path / "out"), gif_frames=6),
    )
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # several threads crawl on a shared 2-core machine
    try:
        trainer.fit(module, datamodule=StepsDataModule())
    finally:
        torch.set_num_threads(threads)
    metrics = json.loads((tmp_path / "out" / "avatar_0000" / "metrics.json").read_text())
    prior, final = metrics["prior"], metrics["final"]
    # measured 0.554e-2 against the prior's 0.879e-2 (MAD 8.3 against 11.0 degrees); require a clear margin
    assert final["side"] < 0.85 * prior["side"], (prior, final)
    assert final["mad"] < prior["mad"], (prior, final)
    # the flat-plane baseline is scored on the same truth; a frontal face reconstructed this well beats it clearly
    assert final["side"] < 0.5 * metrics["flat"]["side"], (metrics["flat"], final)
