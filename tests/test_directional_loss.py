"""3DArtmator's directional difference loss: the math's properties and the plugin on the analyser's features."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.directional import directional_loss, feature_direction, flatten_features


def _feats(seed: int = 0, b: int = 4, f: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(b, f, generator=gen, dtype=torch.float64) for _ in range(3))


def test_zero_when_directions_align_and_two_when_opposite() -> None:
    original, guide, _ = _feats()
    guide = guide[0]
    scales = torch.tensor([0.1, 1.0, 3.0, 50.0], dtype=torch.float64).unsqueeze(1)
    aligned = directional_loss(original + scales * guide, original, guide)
    assert torch.allclose(aligned, torch.zeros(4, dtype=torch.float64), atol=1e-12)
    opposite = directional_loss(original - scales * guide, original, guide)
    assert torch.allclose(opposite, torch.full((4,), 2.0, dtype=torch.float64), atol=1e-12)
    # orthogonal change: cos 0, loss 1
    ortho = torch.randn(16, dtype=torch.float64)
    ortho = ortho - (ortho @ guide) / (guide @ guide) * guide
    assert torch.allclose(directional_loss(original + ortho, original, guide), torch.ones(4, dtype=torch.float64))


def test_invariant_to_feature_scale_and_common_shift() -> None:
    stylised, original, guide = _feats(1)
    base = directional_loss(stylised, original, guide)
    for s in (1e-3, 7.0):
        assert torch.allclose(directional_loss(s * stylised, s * original, s * guide), base)
    shift = torch.randn(16, dtype=torch.float64)
    assert torch.allclose(directional_loss(stylised + shift, original + shift, guide), base)
    assert bool((base >= 0).all() and (base <= 2).all())


def test_gradient_matches_finite_differences() -> None:
    stylised, original, guide = _feats(2, b=2, f=5)
    stylised.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: directional_loss(s, original, guide[0]).sum(), (stylised,))


def test_feature_direction_and_shape_errors() -> None:
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    s = torch.tensor([[0.0, 1.0]])
    assert torch.equal(feature_direction(t, s), torch.tensor([2.0, 2.0]))
    with pytest.raises(ConfigError, match="same F"):
        feature_direction(t, torch.zeros(1, 3))
    with pytest.raises(ConfigError, match="both be"):
        directional_loss(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(3))
    assert flatten_features([torch.zeros(2, 3, 2, 2), torch.zeros(2, 5)]).shape == (2, 17)


def test_plugin_on_analyser_features_reaches_zero_on_its_own_direction_and_backpropagates() -> None:
    from toonlift.registry import LOSSES

    loss = LOSSES.build("directional", encoder="synthetic_analyser_stats")
    gen = torch.Generator().manual_seed(0)
    original = torch.rand(2, 3, 64, 64, generator=gen) * 2 - 1
    stylised = (original * 0.5 + 0.3).clamp(-1, 1)  # a global colour change
    # the guide is the first pair's own change, so that view's loss is ~0
    guide_one = loss.guide(stylised[:1], original[:1])
    assert float(loss(stylised[:1], original[:1], guide_one)) < 1e-5
    x = stylised.clone().requires_grad_(True)
    value = loss(x, original, -guide_one)
    value.backward()
    assert float(value.detach()) > 1.5  # the opposite of the pair's own direction
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0


def test_augmented_pairs_share_their_geometry_and_keep_an_aligned_guide_at_zero() -> None:
    from toonlift.registry import LOSSES

    loss = LOSSES.build("directional", encoder="synthetic_analyser_stats", augment_copies=3)
    gen = torch.Generator().manual_seed(1)
    original = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    stylised = original * 0.5  # a per-pixel change: equal under any shared flip/shift, not under different ones
    s_aug, o_aug = loss.augmented(stylised, original)
    assert s_aug.shape == (8, 3, 32, 32)
    torch.testing.assert_close(s_aug, o_aug * 0.5)
    assert not torch.equal(o_aug[2:4], original)  # the copies really moved
    # the guide is the pair's own change; the statistics are nearly position-free: ~0 after augmenting (measured 0.006)
    guide = loss.guide(stylised[:1], original[:1])
    assert float(loss(stylised[:1], original[:1], guide)) < 0.05
    with pytest.raises(ConfigError, match="augment_copies"):
        LOSSES.build("directional", augment_copies=-1)
