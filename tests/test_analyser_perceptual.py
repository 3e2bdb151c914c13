"""The weight-free perceptual loss on the synthetic analyser: a metric-like distance that orders image changes."""

from __future__ import annotations

import torch

from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss, normalized_feature_distance
from toonlift.registry import REGISTRIES


def _faces(n: int = 4) -> torch.Tensor:
    dm = SyntheticFacesDataModule(domain="photo", resolution=64, num_samples=n, seed=3, batch_size=n, val_samples=0)
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))["image"]


def test_normalized_feature_distance_is_zero_for_equal_and_bounded() -> None:
    a = [torch.randn(2, 8, 4, 4), torch.randn(2, 16, 2, 2)]
    assert torch.equal(normalized_feature_distance(a, a), torch.zeros(2))
    d = normalized_feature_distance(a, [-x for x in a])  # opposite unit vectors: 4 per layer
    torch.testing.assert_close(d, torch.full((2,), 8.0), rtol=1e-5, atol=1e-5)


def test_distance_orders_changes_and_passes_gradients() -> None:
    loss = REGISTRIES["losses"].build("analyser_perceptual", weight=0.5)
    assert isinstance(loss, AnalyserPerceptualLoss) and loss.weight == 0.5
    faces = _faces()
    gen = torch.Generator().manual_seed(0)
    small = (faces + 0.05 * torch.randn(faces.shape, generator=gen)).clamp(-1, 1)
    large = (faces + 0.5 * torch.randn(faces.shape, generator=gen)).clamp(-1, 1)
    other = faces.roll(1, dims=0)  # a different face
    d_small, d_large, d_other = loss.distance(small, faces), loss.distance(large, faces), loss.distance(other, faces)
    assert (d_small < d_large).all() and (d_small < d_other).all()
    assert loss.distance(faces, faces).abs().max() < 1e-6
    pred = small.clone().requires_grad_(True)
    loss(pred, faces).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    loss.train()
    assert not loss.analyser.training  # BatchNorm statistics are part of the measure
