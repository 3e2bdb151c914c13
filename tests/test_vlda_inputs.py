"""Stage-3 inputs: latent files, ground truth, face box; clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.vlda_helpers import AnalyticFaceBackbone, tiny_stylegan2
from toonlift.errors import CheckpointError, ConfigError, DataError
from toonlift.stages.vlda.inputs import box_mask, load_ground_truth, load_latents, prepare_image
from toonlift.stages.vlda.module import VLDAModule
from toonlift.stages.vlda.settings import VLDANetworks
from toonlift.utils.io import save_safetensors


def test_load_latents_formats(tmp_path: Path) -> None:
    w = torch.randn(3, 8)
    save_safetensors(tmp_path / "w.safetensors", {"w": w}, {})
    assert torch.equal(load_latents(tmp_path / "w.safetensors", 8), w)
    torch.save({"latents": w[:, None].expand(3, 5, 8).clone()}, tmp_path / "wplus.pt")  # identical W+ layers
    assert torch.equal(load_latents(tmp_path / "wplus.pt", 8), w)
    torch.save(torch.randn(3, 5, 8), tmp_path / "mixed.pt")
    with pytest.raises(DataError, match="different per-layer"):
        load_latents(tmp_path / "mixed.pt", 8)
    with pytest.raises(DataError, match=r"\[N, 4\]"):
        load_latents(tmp_path / "w.safetensors", 4)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_latents(tmp_path / "bad.pt", 8)


def test_ground_truth_and_box(tmp_path: Path) -> None:
    save_safetensors(tmp_path / "gt.safetensors", {"depth": torch.ones(2, 8, 8), "mask": torch.ones(2, 8, 8)}, {})
    depth, mask = load_ground_truth(tmp_path / "gt.safetensors", 2, 8)
    assert depth.shape == mask.shape == (2, 8, 8)
    with pytest.raises(DataError, match=r"\[3, 8, 8\]"):
        load_ground_truth(tmp_path / "gt.safetensors", 3, 8)
    assert box_mask(10, [0.0, 1.0, 0.0, 0.5]).sum() == 10 * 5  # columns 0..round(4.5) = 0..4 on all rows
    with pytest.raises(ConfigError):
        box_mask(10, [0.5, 0.2, 0.0, 1.0])


def test_prepare_image_uses_generator_ground_truth() -> None:
    g = AnalyticFaceBackbone(32)
    p = prepare_image(g, torch.zeros(1, 4), 32, prior_category="none")
    assert p.image.shape == (1, 3, 32, 32) and p.gt_depth.shape == (1, 32, 32)
    assert p.ellipsoid.shape == (1, 32, 32) and p.ellipsoid.min() == pytest.approx(0.91, abs=1e-3)
    gen, _ = tiny_stylegan2()
    p = prepare_image(gen, torch.zeros(1, 32), 32)  # no depth: no ground truth, box mask prior
    assert p.gt_depth is None and p.face_mask.sum() > 0


def test_module_needs_images() -> None:
    gen, disc = tiny_stylegan2()
    with pytest.raises(ConfigError, match="seeds"):
        VLDAModule(gen, disc, image_size=32, networks=VLDANetworks(8, 16, 8))
