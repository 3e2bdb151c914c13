"""Soft silhouette: agrees with the hard mask away from edges, has edge gradients, passes gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from toonlift.functional.rasterize import rasterize
from toonlift.functional.silhouette import soft_silhouette


def _square(lo: float = 4.0, hi: float = 15.0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    v = torch.tensor([[[lo, lo, 1.0], [hi, lo, 1.0], [lo, hi, 1.0], [hi, hi, 1.0]]], dtype=dtype)
    return v, torch.tensor([[0, 2, 1], [1, 2, 3]])


def test_matches_hard_mask_away_from_edges():
    v, faces = _square()
    soft = soft_silhouette(v, faces, 20, sigma=0.3)[0]
    hard = rasterize(v, faces, 20).mask[0]
    assert torch.equal(soft[hard], torch.ones(int(hard.sum())))  # no seam along the shared diagonal
    assert soft[:2].max() < 1e-3 and soft[:, 18:].max() < 1e-3
    assert soft[3, 9] == pytest.approx(1 - math.tanh(1 / 0.6), abs=1e-5)  # one pixel above the top edge


def test_growing_coverage_pushes_edges_outwards():
    v, faces = _square()
    v.requires_grad_()
    soft_silhouette(v, faces, 20, sigma=0.5).sum().backward()
    g = v.grad[0, :, :2]
    # to cover more, the top-left corner moves up-left and the bottom-right corner down-right
    assert (g[0] < 0).all() and (g[3] > 0).all()


def test_gradcheck_soft_silhouette():
    v, faces = _square(2.3, 6.6, dtype=torch.float64)
    v = v + 0.05 * torch.rand(v.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    v.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: soft_silhouette(x, faces, 9, sigma=0.7), (v,), eps=1e-6, atol=1e-6)
