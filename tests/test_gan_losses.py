"""Loss math against hand computations."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from toonlift.functional.gan_losses import d_logistic_loss, g_nonsaturating_loss, path_length_penalty, r1_penalty
from toonlift.functional.image_losses import masked_l1, second_order_smoothness, structure_loss
from toonlift.plugins.losses.r1 import R1Loss


def test_logistic_losses_match_formulas() -> None:
    real, fake = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0]])
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    expected_d = (sp(-2.0) + sp(1.0)) / 2 + (sp(0.5) + sp(-3.0)) / 2
    assert math.isclose(d_logistic_loss(real, fake).item(), expected_d, rel_tol=1e-6)
    assert math.isclose(g_nonsaturating_loss(fake).item(), (sp(-0.5) + sp(3.0)) / 2, rel_tol=1e-6)


def test_r1_equals_hand_computation() -> None:
    # D(x) = sum(w * x**2) has gradient 2 w x, so ||grad||^2 = sum(4 w^2 x^2) per sample.
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = (w * x.pow(2)).flatten(1).sum(1, keepdim=True)
    expected = (4 * w.pow(2) * x.detach().pow(2)).flatten(1).sum(1).mean()
    assert torch.allclose(r1_penalty(logits, x), expected, rtol=1e-5)
    lazy = R1Loss(weight=10.0, interval=16)
    logits = (w * x.pow(2)).flatten(1).sum(1, keepdim=True)
    assert torch.allclose(lazy(logits, x), 0.5 * 16 * expected, rtol=1e-5)


def test_structure_loss_zero_for_equal_and_positive_otherwise() -> None:
    feats = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 16, 16)]
    assert structure_loss(feats, [f.clone() for f in feats]).item() == 0.0
    shifted = [f + 0.5 for f in feats]
    assert math.isclose(structure_loss(feats, shifted).item(), 0.25, rel_tol=1e-6)


def test_smoothness_zero_on_planes_positive_on_curves() -> None:
    y, x = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    plane = (0.3 * x - 0.2 * y + 1.0)[None, None]
    assert second_order_smoothness(plane).item() < 1e-6
    assert second_order_smoothness((x**2)[None, None]).item() > 1e-4


def test_masked_l1_ignores_masked_pixels() -> None:
    a, b = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    b[..., :2] = 5.0
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:] = 1
    assert masked_l1(a, b, mask).item() == 0.0
    assert masked_l1(a, b).item() == F.l1_loss(a, b).item()


def test_path_length_penalty_tracks_running_mean() -> None:
    ws = torch.randn(4, 3, 8, requires_grad=True)
    images = torch.tanh(ws.sum(1)).view(4, 1, 2, 4).expand(4, 3, 2, 4)
    penalty, new_mean, lengths = path_length_penalty(images, ws, torch.tensor(0.0))
    assert lengths.shape == (4,) and torch.all(lengths > 0)
    assert torch.allclose(new_mean, 0.01 * lengths.mean().detach())
    assert penalty.item() >= 0
