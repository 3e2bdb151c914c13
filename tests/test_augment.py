"""ADA augmentation ops and the p controller."""

from __future__ import annotations

import pytest
import torch

from toonlift.functional.augment import (
    ada_adjustment,
    augment,
    random_brightness,
    random_contrast,
    random_cutout,
    random_rotate90,
    random_saturation,
    random_translate_int,
    random_xflip,
    translate_int,
)
from toonlift.stages.finetune.adaptive_augment import AdaptiveAugment


def _imgs(b: int = 6, s: int = 16) -> torch.Tensor:
    return torch.rand(b, 3, s, s, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_p_zero_is_identity_and_p_one_applies_every_sample():
    x = _imgs()
    assert torch.equal(augment(x, 0.0), x)
    torch.testing.assert_close(random_xflip(x, 1.0), x.flip(-1))
    assert torch.equal(random_xflip(x, 0.0), x)


def test_translate_matches_roll_in_the_interior_and_reflects_at_border():
    x = _imgs(2, 12)
    out = translate_int(x, torch.tensor([2, -3]), torch.tensor([1, 0]))
    torch.testing.assert_close(out[0, :, 1:, 2:], x[0, :, :-1, :-2])
    torch.testing.assert_close(out[1, :, :, :-3], x[1, :, :, 3:])
    # reflection: column 0 of a right shift by 2 is source column -2 -> reflected to column 2
    torch.testing.assert_close(out[0, :, 1:, 0], x[0, :, :-1, 2])


def test_ops_are_seeded_and_differentiable():
    x = _imgs().requires_grad_(True)
    ops = [random_rotate90, random_translate_int, random_brightness, random_contrast, random_saturation, random_cutout]
    for op in ops:
        a = op(x, 0.7, generator=torch.Generator().manual_seed(3))
        b = op(x, 0.7, generator=torch.Generator().manual_seed(3))
        assert torch.equal(a, b), op.__name__
    out = augment(x, 0.8, torch.Generator().manual_seed(1))
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_colour_ops_keep_grey_and_mean_where_expected():
    x = _imgs()
    grey = x.mean(1, keepdim=True).expand_as(x).contiguous()
    torch.testing.assert_close(random_saturation(grey, 1.0, generator=torch.Generator().manual_seed(0)), grey)
    y = random_contrast(x, 1.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5, rtol=0)
    z = random_brightness(x, 1.0, generator=torch.Generator().manual_seed(0))
    shift = (z - x).flatten(1)
    torch.testing.assert_close(shift.min(1).values, shift.max(1).values, atol=1e-5, rtol=0)


def test_cutout_zeros_a_quarter_and_rotation_is_exact():
    x = torch.ones(4, 3, 16, 16)
    y = random_cutout(x, 1.0, size=0.5, generator=torch.Generator().manual_seed(0))
    zero_fraction = (y == 0).float().mean(dim=(1, 2, 3))
    assert ((zero_fraction > 0.05) & (zero_fraction <= 0.25 + 1e-6)).all()
    x = _imgs(8)
    r = random_rotate90(x, 1.0, generator=torch.Generator().manual_seed(2))
    for i in range(8):
        assert any(torch.equal(r[i], torch.rot90(x[i], k, dims=(-2, -1))) for k in range(4))


def test_ada_adjustment_formula():
    assert ada_adjustment(0.9, 0.6, 32, 500_000) == pytest.approx(32 / 500_000)
    assert ada_adjustment(0.1, 0.6, 32, 500_000) == pytest.approx(-32 / 500_000)


def test_controller_steers_p_and_is_saved():
    ada = AdaptiveAugment(target=0.6, interval=2, speed_images=100)
    for it in range(1, 5):  # D overconfident on reals: sign +1 everywhere -> p rises
        ada.accumulate(torch.ones(5, 1))
        ada.step(it)
    assert ada.probability == pytest.approx(0.2)
    assert float(ada.r_t) == pytest.approx(1.0)
    for it in range(5, 9):  # D unsure: r_t = -1 -> p falls, clamped at 0
        ada.accumulate(-torch.ones(5, 1))
        ada.step(it)
    assert ada.probability == pytest.approx(0.0)
    ada.p.fill_(0.37)
    restored = AdaptiveAugment()
    restored.load_state_dict(ada.state_dict())
    assert restored.probability == pytest.approx(0.37)


def test_controller_reduce_hook_sums_over_ranks():
    ada = AdaptiveAugment(interval=1, speed_images=10)
    ada.accumulate(torch.ones(2, 1))
    ada.step(1, reduce_sum=lambda t: t * 3)  # as if three ranks saw the same statistics
    assert ada.probability == pytest.approx(6 / 10)
    fixed = AdaptiveAugment(fixed_p=0.3)
    fixed.accumulate(torch.ones(2, 1))
    fixed.step(4)
    assert fixed.probability == pytest.approx(0.3)
    off = AdaptiveAugment(enabled=False)
    x = _imgs()
    assert torch.equal(off(x), x)
