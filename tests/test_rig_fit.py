"""The coarse 3DMM regressor (seed 002's CoarseRecon): its loss terms, a short overfit and a Lightning fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.errors import ConfigError
from toonlift.plugins.head_rig.latent import SLICES, split_latent
from toonlift.stages.rig_fit.losses import landmark_loss, photometric_loss
from toonlift.stages.rig_fit.module import NEEDED, RigFitModule, true_latent
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.utils.io import load_safetensors


def batch_of(domain: str, size: int, n: int) -> dict[str, torch.Tensor]:
    items = SyntheticFaces(domain, size, n, 0, NEEDED).__getitems__(list(range(n)))
    return {k: torch.stack([it[k] for it in items]) for k in NEEDED}


@pytest.mark.parametrize("domain", ["photo", "cartoon"])
def test_true_latent_has_no_landmark_or_supervised_error(domain: str) -> None:
    module = RigFitModule(domain=domain, image_size=32, width=8, supervised_weight=1.0)
    batch = batch_of(domain, 32, 3)
    target = true_latent(batch, domain)
    a = SLICES["albedo"]
    target[:, a] = module.regressor.prior_mean[a]
    out = module.rig.synthesis(target)
    assert landmark_loss(out.landmarks, batch["landmarks"], 32) < 1e-6
    terms, _, _ = module.losses(batch)
    assert terms["lan"] > 1.0 and terms["sup"] > 0  # the untrained regressor predicts the average face


def test_loss_units() -> None:
    pred = torch.zeros(1, 68, 2)
    # 1 px at 56 px is 4 px at the paper's 224 px: squared distance 16
    torch.testing.assert_close(landmark_loss(pred, pred + torch.tensor([1.0, 0.0]), 56), torch.tensor(16.0))
    img = -torch.ones(1, 3, 4, 4)
    white = torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    # black vs white: RGB distance sqrt(3) on the masked half, nothing elsewhere
    torch.testing.assert_close(photometric_loss(white, img, mask), torch.tensor(3.0).sqrt(), atol=1e-4, rtol=0)


def test_overfitting_a_batch_lowers_the_papers_loss() -> None:
    torch.manual_seed(0)
    module = RigFitModule(image_size=32, width=8, lr=3e-3)
    batch = batch_of("photo", 32, 8)
    opt = module.configure_optimizers()
    first = None
    for _ in range(25):
        terms, _, _ = module.losses(batch)
        loss = module.total(terms)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    terms, _, _ = module.losses(batch)
    assert float(module.total(terms)) < 0.7 * first


def test_lightning_fit_logs_and_exports(tmp_path: Path) -> None:
    dm = SyntheticFacesDataModule(
        resolution=32, num_samples=8, outputs=list(NEEDED), batch_size=4, val_samples=4, shuffle=False
    )
    module = RigFitModule(
        image_size=32, width=8, supervised_weight=0.5, export_path=str(tmp_path / "coarse.safetensors")
    )
    trainer = pl.Trainer(
        max_steps=2, limit_val_batches=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(module, datamodule=dm)
    assert "val/landmark_px256" in trainer.callback_metrics and "val/r2_identity" in trainer.callback_metrics
    tensors, meta = load_safetensors(tmp_path / "coarse.safetensors")
    assert meta["trained_steps"] == 2 and meta["hparams"]["w_lan"] == 2e-3
    assert set(tensors) == set(module.regressor.state_dict())


def test_bad_batches_and_weights_are_refused() -> None:
    with pytest.raises(ConfigError, match="domain"):
        RigFitModule(domain="sketch")
    with pytest.raises(ConfigError, match=">= 0"):
        RigFitModule(w_lan=-1.0)
    module = RigFitModule(image_size=32, width=8)
    with pytest.raises(ConfigError, match="landmarks"):
        module.losses({"image": torch.zeros(1, 3, 32, 32)})


def test_refinement_reaches_the_world_landmarks_through_the_camera() -> None:
    from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices, rig_object_points
    from toonlift.plugins.head_rig.prior import latent_from_params
    from toonlift.stages.rig_fit.refine import refine_to_landmarks
    from toonlift.synthetic.head_model import build_head_model
    from toonlift.synthetic.render import FaceRenderer
    from toonlift.synthetic.sampler import sample_params

    params = sample_params(4, [1])
    rig = HeadRigBackbone(image_size=128, detail="low")
    # the world drawn with the rig's mesh (the low-detail mesh's landmark vertices are not the high one's)
    world = FaceRenderer(model=build_head_model("low"))(params, "cartoon", 128, outputs=("landmarks",))
    truth = latent_from_params(params, "cartoon")
    coarse = truth.clone()
    coarse[:, SLICES["identity"]] *= 0.5  # a coarse fit that under-fits the toon shape
    result = refine_to_landmarks(rig, coarse[0], world["landmarks"][0])
    before = (rig.synthesis(coarse).landmarks[0] - world["landmarks"][0]).norm(dim=-1).mean()
    after = (result.landmarks - world["landmarks"][0]).norm(dim=-1).mean()
    assert after < 0.05 * before and after < 0.1, (before, after)  # pixels at 128 px
    true_obj = rig.object_vertices(split_latent(truth))[0]
    # the camera chain is exact: refining the true mesh onto its own landmarks leaves it where it is
    fixed = refine_to_landmarks(rig, truth[0], world["landmarks"][0])
    torch.testing.assert_close(fixed.object_vertices, true_obj, atol=2e-4, rtol=0)
    face = (rig.head_model.vertex_kinds == 0) & (rig.mean[:, 2] > 0.2)
    err = lambda v: (v - true_obj)[face].norm(dim=-1).mean()  # noqa: E731
    assert err(result.object_vertices) < err(result.coarse_object_vertices)
    pose = split_latent(coarse).pose
    back = rig_object_points(rig_camera_vertices(true_obj[None], pose), pose)[0]
    torch.testing.assert_close(back, true_obj, atol=1e-4, rtol=0)
