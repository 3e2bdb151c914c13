"""Stage 2 pure math: the projector lr schedule, latent edits and the offset objective."""

from __future__ import annotations

import math

import pytest
import torch

from toonlift.functional.lr_schedule import get_lr, lr_sequence
from toonlift.functional.offsets import (
    edit_latents,
    identity_distance,
    low_level_distance,
    low_level_pairs,
    offset_objective,
)


def test_lr_sequence_for_ten_steps_matches_the_projector():
    expected = [0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0905, 0.0345]
    got = lr_sequence(10, 0.1)
    assert got == pytest.approx(expected, abs=5e-5)


def test_get_lr_shape_of_the_ramps():
    assert get_lr(0.0, 1.0) == 0.0
    assert get_lr(0.025, 1.0) == pytest.approx(0.5)  # half-way up the linear warm-up
    assert get_lr(0.5, 1.0) == 1.0
    assert get_lr(0.875, 1.0) == pytest.approx(0.5)  # half-way down the cosine
    assert get_lr(1.0, 1.0) == 0.0
    with pytest.raises(ValueError):
        get_lr(1.5, 0.1)


def test_edit_latents_shared_per_layer_and_layer_subset():
    ws = torch.randn(2, 6, 4)
    off = torch.randn(2, 4)
    assert torch.equal(edit_latents(ws, off, 1.0), ws + off[:, None])
    assert torch.equal(edit_latents(ws, off, -1.0), ws - off[:, None])
    per_layer = torch.randn(2, 6, 4)
    assert torch.equal(edit_latents(ws, per_layer, 1.0), ws + per_layer)
    out = edit_latents(ws, off, 1.0, layers=[1, 3])
    assert torch.equal(out[:, [0, 2, 4, 5]], ws[:, [0, 2, 4, 5]])
    assert torch.allclose(out[:, [1, 3]], ws[:, [1, 3]] + off[:, None])
    with pytest.raises(ValueError):
        edit_latents(ws, torch.randn(3, 4))


def test_distances_are_per_sample():
    a, b = torch.zeros(3, 5), torch.ones(3, 5)
    b[1] *= 2
    assert identity_distance(a, b).tolist() == [5.0, 20.0, 5.0]
    assert low_level_distance(a.view(3, 5, 1, 1), b.view(3, 5, 1, 1)).tolist() == [1.0, 4.0, 1.0]


def test_low_level_pairs():
    assert low_level_pairs([1, -1], "paper") == [(0, 1), (0, -1)]
    assert low_level_pairs([1, -1], "log") == [(0, 1), (0, -1), (1, -1)]
    assert low_level_pairs([1], "log") == [(0, 1)]


def test_objective_values_paper_and_log():
    emb = {0: torch.zeros(1, 2), 1: torch.tensor([[1.0, 0.0]]), -1: torch.tensor([[0.0, 3.0]])}
    low = {0: torch.zeros(1, 4), 1: torch.ones(1, 4), -1: 2 * torch.ones(1, 4)}
    paper = offset_objective(emb, low, "paper", 0.2)
    assert paper["id"].item() == pytest.approx((1 + 9) / 2)
    assert paper["low"].item() == pytest.approx((1 + 4) / 2)
    assert paper["total"].item() == pytest.approx(5 - 0.2 * 2.5)
    log = offset_objective(emb, low, "log", 0.1, eps=0.0)
    assert log["low"].item() == pytest.approx((1 + 4 + 1) / 3)  # + against - joins
    assert log["total"].item() == pytest.approx(5 - 0.1 * math.log(2.0))
    with pytest.raises(ValueError):
        offset_objective(emb, low, "other")


def test_objective_gradient_reaches_only_the_edits():
    base = torch.randn(2, 3)
    plus = torch.randn(2, 3, requires_grad=True)
    out = offset_objective({0: base, 1: plus}, {0: base, 1: plus}, "paper", 0.0)
    out["total"].sum().backward()
    assert torch.allclose(plus.grad, 2 * (plus - base).detach())
