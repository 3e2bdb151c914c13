"""SeFa directions and generator blending / feature swap."""

from __future__ import annotations

import copy

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.sefa import apply_direction, closed_form_directions, stack_modulation_weights
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.blend import (
    blend_factor,
    blend_generators,
    feature_swap,
    key_resolution_level,
)

ARCH = {"size": 32, "style_dim": 16, "n_mlp": 2, "channel_max": 16}


def _g(seed: int) -> StyleGAN2Backbone:
    torch.manual_seed(seed)
    g = StyleGAN2Backbone(**ARCH).eval()
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise.weight"):
                p.fill_(0.1)
    return g


@pytest.mark.parametrize("convention", ["rosinality", "genforce"])
def test_sefa_vectors_are_orthonormal_eigenvectors_in_order(convention: str) -> None:
    g = _g(0)
    A = stack_modulation_weights(g.modulation_weights(convention=convention), convention)
    vecs, vals = closed_form_directions(A)
    assert vecs.shape == (16, 16) and vals.shape == (16,)
    torch.testing.assert_close(vecs.double().t() @ vecs.double(), torch.eye(16, dtype=torch.float64), atol=1e-6, rtol=0)
    AtA = A.t() @ A
    torch.testing.assert_close(AtA @ vecs.double(), vecs.double() * vals, atol=1e-4 * vals.max().item(), rtol=0)
    assert (vals[:-1] >= vals[1:]).all()


def test_sefa_conventions_select_the_documented_weights() -> None:
    g = _g(0)
    ros = stack_modulation_weights(g.modulation_weights(convention="rosinality"), "rosinality")
    # conv1 + to_rgb1 + convs.0-5 (16 rows each), no other ToRGB
    assert ros.shape == (8 * 16, 16)
    torch.testing.assert_close(ros[16:32], g.to_rgb1.conv.modulation.weight.double())
    gen = stack_modulation_weights(g.modulation_weights([0, 7], "genforce"), "genforce")
    expected = torch.cat([g.conv1.conv.modulation.weight, g.to_rgbs[2].conv.modulation.weight]).double()
    torch.testing.assert_close(gen, expected / expected.norm(dim=1, keepdim=True))
    with pytest.raises(ConfigError):
        g.modulation_weights([99], "genforce")
    with pytest.raises(ConfigError):
        g.modulation_weights([0], "rosinality")


def test_apply_direction_before_and_after_truncation() -> None:
    ws = torch.randn(2, 8, 16)
    n = torch.randn(16)
    mean = torch.randn(16)
    after = apply_direction(ws, n, 3.0, layers=[1, 2], truncation=0.5, truncation_latent=mean, before_truncation=False)
    base = mean + 0.5 * (ws - mean)
    torch.testing.assert_close(after[:, [1, 2]], base[:, [1, 2]] + 3.0 * n)
    torch.testing.assert_close(after[:, [0, 3]], base[:, [0, 3]])
    before = apply_direction(ws, n, 3.0, truncation=0.5, truncation_latent=mean)
    torch.testing.assert_close(before, base + 1.5 * n)


def test_key_positions_match_the_table() -> None:
    assert key_resolution_level("input.input") == (4, 0)
    assert key_resolution_level("to_rgb1.conv.weight") == (4, 1)
    assert key_resolution_level("convs.2.conv.weight") == (16, 0)
    assert key_resolution_level("convs.3.noise.weight") == (16, 1)
    assert key_resolution_level("to_rgbs.1.bias") == (16, 1)
    assert key_resolution_level("style.1.weight") is None and key_resolution_level("conv1.conv.weight") is None
    assert key_resolution_level("noises.noise_3") is None
    assert blend_factor("convs.3.conv.weight", 16, 1) == 0.0 and blend_factor("convs.4.conv.weight", 16, 1) == 1.0
    assert blend_factor("convs.4.conv.weight", 16, 1, toonify_offset=True) == 0.0
    assert blend_factor("convs.4.conv.weight", 16, 1, blend_width=1.0) == pytest.approx(1 / (1 + 2.718281828**-1))


def test_blend_extremes_equal_each_parent() -> None:
    low, high = _g(1), _g(2)
    ws = torch.randn(2, low.num_ws, 16)
    all_low = blend_generators(low, high, resolution=32, level=1)
    sd_high = high.state_dict()
    all_high = blend_generators(low, high, resolution=4, level=0, toonify_offset=False)
    with torch.no_grad():
        torch.testing.assert_close(all_low.synthesis(ws).image, low.synthesis(ws).image, rtol=0, atol=0)
        # everything after (4, 0) from high: only input.input, mapping, conv1 and noise buffers stay from low
        ref = copy.deepcopy(high)
        ref.load_state_dict(
            {
                **sd_high,
                **{
                    k: v for k, v in low.state_dict().items() if k.startswith(("input.", "conv1.", "noises.", "style."))
                },
            }
        )
        torch.testing.assert_close(all_high.synthesis(ws).image, ref.synthesis(ws).image, rtol=0, atol=0)
    # a tiny sigmoid width is the hard switch, except the switch group itself (x = 0), which is a 50/50 mix
    soft = blend_generators(low, high, resolution=16, level=1, blend_width=1e-6)
    hard = blend_generators(low, high, resolution=16, level=1)
    for k, v in hard.state_dict().items():
        if key_resolution_level(k) == (16, 1):
            torch.testing.assert_close(soft.state_dict()[k], (low.state_dict()[k] + sd_high[k]) / 2)
        else:
            torch.testing.assert_close(soft.state_dict()[k], v)


def test_hard_swap_equals_the_composed_model() -> None:
    low, high = _g(1), _g(2)
    blended = blend_generators(low, high, resolution=8, level=1)
    ws = torch.randn(2, low.num_ws, 16)
    with torch.no_grad():
        got = blended.synthesis(ws).image
        # compose by hand: mapping/const/conv1/to_rgb1/8px block from low, later blocks from high
        noise = [getattr(low.noises, f"noise_{i}") for i in range(low.num_layers)]
        out = low.conv1(low.input(2), ws[:, 0], noise[0])
        skip = low.to_rgb1(out, ws[:, 1])
        for k in range(low.size.bit_length() - 3):
            src = low if k == 0 else high
            out = src.convs[2 * k](out, ws[:, 2 * k + 1], noise[2 * k + 1])
            out = src.convs[2 * k + 1](out, ws[:, 2 * k + 2], noise[2 * k + 2])
            skip = src.to_rgbs[k](out, ws[:, 2 * k + 3], skip)
    torch.testing.assert_close(got, skip, rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError):
        blend_generators(low, high, resolution=12)
    with pytest.raises(ConfigError):
        blend_generators(low, StyleGAN2Backbone(16, style_dim=16, n_mlp=2, channel_max=16), resolution=8)


def test_feature_swap_feeds_the_source_feature_to_the_target() -> None:
    src, tgt = _g(1), _g(2)
    ws = torch.randn(2, src.num_ws, 16)
    noise = src.make_noise(2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = feature_swap(src, tgt, ws, "block_16", noise=noise)
        feat = src.synthesis(ws, noise=noise, return_features=("block_16",)).features["block_16"]
        ref = tgt.synthesis(ws, noise=noise, swap_features={"block_16": feat}).image
        own = tgt.synthesis(ws, noise=noise).image
    torch.testing.assert_close(out.image, ref, rtol=0, atol=0)
    assert (out.image - own).abs().max() > 1e-3
