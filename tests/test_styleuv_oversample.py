"""Oversampling the inverted pairs for F_3D: the batch fraction is honoured, the default is the uniform draw it
always was, and the ridge baseline's sample weights do what the fraction says."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.ridge import fit_ridge
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP, RidgeCoeff, fit_coeff_mlp
from toonlift.stages.styleuv.oversample import batch_indices, fraction_weights


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 1.0])
def test_batch_fraction_is_honoured(fraction: float) -> None:
    gen = torch.Generator().manual_seed(0)
    batches = torch.stack([batch_indices(100, 16, gen, inverted=10, fraction=fraction) for _ in range(2000)])
    share = (batches < 10).float().mean(1)  # [2000] inverted share per batch
    assert float(share.mean()) == pytest.approx(fraction, abs=0.01)
    k = int(fraction * 16)
    assert set((share * 16).round().int().tolist()) <= {k, k + 1}  # floor or ceil of fraction x batch, never more
    drawn = batches.flatten()
    if 0 < fraction < 1:  # every row of each kind is drawn: uniform within a kind
        assert set(drawn.tolist()) == set(range(100))


def test_default_draw_is_the_old_uniform_one() -> None:
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(20):
        assert torch.equal(batch_indices(50, 16, a, inverted=7), torch.randint(0, 50, (16,), generator=b))
    g = torch.Generator().manual_seed(0)
    w = torch.randn(40, 2, 4, generator=g)
    latent = torch.randn(40, 53, generator=g)
    logs = []
    for kwargs in ({}, {"inverted": 8}, {"inverted": 8, "inverted_fraction": None}):
        torch.manual_seed(0)
        logs.append(fit_coeff_mlp(CoeffMLP(2, 4, unit=2), w, latent, steps=20, batch=8, **kwargs).losses)
    assert logs[0] == logs[1] == logs[2]
    torch.manual_seed(0)
    over = fit_coeff_mlp(CoeffMLP(2, 4, unit=2), w, latent, steps=20, batch=8, inverted=8, inverted_fraction=0.5)
    assert over.losses != logs[0]


def test_impossible_fractions_are_refused() -> None:
    w, latent = torch.randn(10, 1, 4), torch.randn(10, 53)
    mlp = CoeffMLP(1, 4, unit=2)
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        fit_coeff_mlp(mlp, w, latent, steps=1, inverted=4, inverted_fraction=1.5)
    with pytest.raises(ConfigError, match="none are among"):
        fit_coeff_mlp(mlp, w, latent, steps=1, inverted=0, inverted_fraction=0.5)
    with pytest.raises(ConfigError, match="all 10 training codes are inverted"):
        RidgeCoeff().fit(w, latent, inverted=10, inverted_fraction=0.5)
    assert fraction_weights(10, 4, None) is None
    s = fraction_weights(10, 4, 0.25)
    assert float(s.mean()) == pytest.approx(1.0) and float(s[:4].sum() / s.sum()) == pytest.approx(0.25)


def test_weighted_ridge_equals_repeated_rows() -> None:
    g = torch.Generator().manual_seed(1)
    for n in (30, 6):  # primal (N >= D) and dual (N < D) forms
        x, y = torch.randn(n, 8, generator=g).double(), torch.randn(n, 3, generator=g).double()
        reps = torch.randint(1, 4, (n,), generator=g)
        w1, b1 = fit_ridge(x, y, 0.7, weight=reps.double())
        w2, b2 = fit_ridge(x.repeat_interleave(reps, 0), y.repeat_interleave(reps, 0), 0.7)
        assert torch.allclose(w1, w2, atol=1e-10) and torch.allclose(b1, b2, atol=1e-10)
    assert torch.equal(fit_ridge(x, y, 0.7, weight=torch.ones(6))[0], fit_ridge(x, y, 0.7)[0])
    with pytest.raises(ConfigError, match="weight"):
        fit_ridge(x, y, 0.7, weight=torch.zeros(6))


@pytest.mark.parametrize("fraction", [None, 0.0, 0.25, 0.75, 1.0])
def test_ridge_weights_move_the_fit_between_the_kinds(fraction: float | None) -> None:
    """Inverted rows say +1 for every value, the others -1, from unrelated codes. A ridge fit with a free bias
    passes through the (weighted) means, so at the weighted mean code it predicts ``2 f - 1`` (uniform: the rows'
    own mix, 20 of 200 inverted -> -0.8)."""
    g = torch.Generator().manual_seed(2)
    w = torch.randn(200, 1, 4, generator=g)
    latent = torch.full((200, 53), -1.0)
    latent[:20] = 1.0
    ridge = RidgeCoeff().fit(w, latent, inverted=20, inverted_fraction=fraction)
    s = torch.ones(200, dtype=torch.float64) if fraction is None else fraction_weights(200, 20, fraction)
    centre = (s @ w.reshape(200, -1).double()) / s.sum()  # [4] the weighted mean code
    pred = ridge(centre.float().reshape(1, 1, 4))
    want = 2 * (0.1 if fraction is None else fraction) - 1
    assert torch.allclose(pred, torch.full_like(pred, want), atol=1e-5)
