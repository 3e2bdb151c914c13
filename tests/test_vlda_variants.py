"""Variants of an avatar: the trained VLDA networks reconstruct other latents (Stage-2 expressions) in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from toonlift.errors import DataError
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.variants import load_variants, write_variants
from toonlift.utils.io import save_safetensors


def test_load_variants_checks_shape_names_and_values(tmp_path: Path) -> None:
    good = tmp_path / "v.safetensors"
    save_safetensors(good, {"w": torch.randn(2, 3, 8)}, {"names": ["a", "b", "c"]})
    w, names = load_variants(good, 2, 8)
    assert w.shape == (2, 3, 8) and names == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"\[N=3, V, 8\]"):
        load_variants(good, 3, 8)
    bad_names = tmp_path / "n.safetensors"
    save_safetensors(bad_names, {"w": torch.randn(1, 2, 8)}, {"names": ["a", "a"]})
    with pytest.raises(DataError, match="distinct folder names"):
        load_variants(bad_names, 1, 8)
    nan = tmp_path / "nan.safetensors"
    save_safetensors(nan, {"w": torch.full((1, 1, 8), float("nan"))}, {})
    with pytest.raises(DataError, match="NaN"):
        load_variants(nan, 1, 8)


def test_write_variants_reconstructs_each_latent_with_the_given_networks(tmp_path: Path) -> None:
    torch.manual_seed(0)
    g = StyleGAN2Backbone(size=32, style_dim=16, n_mlp=2, channel_max=16).eval()
    nets = rc.VLDANets(32, 16, 32, 16, 8).eval()
    renderer = DepthMapRenderer(image_size=32)
    ranges = rc.Ranges(renderer.min_depth, renderer.max_depth)
    ws = torch.randn(2, 16)
    scores = write_variants(nets, g, ws, ["minus", "plus"], 32, renderer, ranges, tmp_path, gif_frames=4)
    assert set(scores) == {"minus", "plus"} and all(torch.isfinite(torch.tensor(v["l1"])) for v in scores.values())
    for name in ("minus", "plus"):
        for f in ("input.png", "depth.png", "rotation.gif", "mesh.obj", "mesh.glb", "metrics.json"):
            assert (tmp_path / name / f).stat().st_size > 0
    # the two inputs differ (different latents), so the files do
    assert (tmp_path / "minus" / "input.png").read_bytes() != (tmp_path / "plus" / "input.png").read_bytes()
