"""StyleGAN2 generator and discriminator: rosinality layout, shapes, forward semantics, taps, registry."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, stylegan2_channels
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.registry import BACKBONES, DISCRIMINATORS

TINY = {"style_dim": 32, "n_mlp": 2, "channel_max": 32}


def tiny_g(size: int = 32, seed: int = 0) -> StyleGAN2Backbone:
    torch.manual_seed(seed)
    g = StyleGAN2Backbone(size, **TINY).eval()
    with torch.no_grad():  # non-zero noise strengths and biases, so every term matters
        for name, p in g.named_parameters():
            if name.endswith("noise.weight") or name.endswith("bias"):
                p.normal_(0, 0.2)
    return g


def test_registry_builds_both_plugins() -> None:
    assert BACKBONES.get("stylegan2") is StyleGAN2Backbone
    assert DISCRIMINATORS.get("stylegan2") is StyleGAN2Discriminator


def test_reference_channel_table_and_state_dict_layout() -> None:
    assert stylegan2_channels(256) == {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128}
    assert stylegan2_channels(1024, 2)[1024] == 32
    g = StyleGAN2Backbone(64, style_dim=16, n_mlp=2, channel_max=16)
    keys = set(g.state_dict())
    assert "input.input" in keys and "noises.noise_8" in keys and "noises.noise_9" not in keys
    assert "convs.0.conv.blur.kernel" in keys and "convs.1.conv.blur.kernel" not in keys
    assert "to_rgbs.3.upsample.kernel" in keys and "to_rgb1.bias" in keys and "style.2.weight" in keys
    assert "latent_avg" not in keys  # not part of rosinality's state dict
    assert g.state_dict()["convs.0.conv.weight"].shape == (1, 16, 16, 3, 3)
    d = StyleGAN2Discriminator(64, channel_max=16)
    dkeys = set(d.state_dict())
    assert {"convs.0.0.weight", "convs.0.1.bias", "convs.4.skip.1.weight", "final_conv.1.bias"} <= dkeys
    assert {"final_linear.0.weight", "final_linear.1.bias", "convs.1.conv2.0.kernel"} <= dkeys


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_shapes_at_several_resolutions(size: int) -> None:
    g = StyleGAN2Backbone(size, **TINY)
    d = StyleGAN2Discriminator(size, channel_max=32)
    z = torch.randn(2, 32)
    out = g(z, return_features=tuple(g.feature_names()))
    assert out.image.shape == (2, 3, size, size)
    assert g.num_ws == 2 * (size.bit_length() - 1) - 2 and out.ws.shape == (2, g.num_ws, 32)
    for name, feat in out.features.items():
        res = int(name.split("_")[1])
        assert feat.shape == (2, 32, res, res)
    assert d(out.image).shape == (2, 1)
    assert len(g.make_noise(3)) == g.num_layers


def test_invalid_sizes_and_names_raise() -> None:
    with pytest.raises(ConfigError):
        StyleGAN2Backbone(48)
    g = tiny_g(16)
    with pytest.raises(ConfigError, match="block_8"):
        g(torch.randn(1, 32), return_features=("block_3",))
    with pytest.raises(ConfigError):
        g(torch.randn(1, 32), noise_mode="sometimes")


def test_w_broadcast_equals_w_plus_and_forward_equals_mapping_then_synthesis() -> None:
    g = tiny_g()
    z = torch.randn(2, 32)
    with torch.no_grad():
        w = g.get_latent(z)
        a = g.synthesis(w).image
        b = g.synthesis(w.unsqueeze(1).repeat(1, g.num_ws, 1)).image
        c = g(z).image
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_batched_equals_per_sample_and_grouped_equals_activation_modulation() -> None:
    g = tiny_g()
    ws = torch.randn(3, g.num_ws, 32)
    with torch.no_grad():
        batched = g.synthesis(ws).image
        single = torch.cat([g.synthesis(ws[i : i + 1]).image for i in range(3)])
        g.set_fused_modconv(True)
        grouped = g.synthesis(ws).image
        g.set_fused_modconv(None)
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(batched, grouped, rtol=1e-4, atol=1e-5)


def test_noise_modes_and_shared_noise() -> None:
    g = tiny_g()
    ws = g.mapping(torch.randn(2, 32))
    with torch.no_grad():
        const1, const2 = g.synthesis(ws).image, g.synthesis(ws, noise_mode="const").image
        rnd1, rnd2 = g.synthesis(ws, noise_mode="random").image, g.synthesis(ws, noise_mode="random").image
        none = g.synthesis(ws, noise_mode="none").image
        noise = g.make_noise(2, generator=torch.Generator().manual_seed(3))
        shared1, shared2 = g.synthesis(ws, noise=noise).image, g.synthesis(ws, noise=noise).image
        zero = g.synthesis(ws, noise=[torch.zeros_like(n) for n in noise]).image
    torch.testing.assert_close(const1, const2, rtol=0, atol=0)
    assert (rnd1 - rnd2).abs().max() > 1e-3
    torch.testing.assert_close(shared1, shared2, rtol=0, atol=0)
    torch.testing.assert_close(none, zero, rtol=1e-4, atol=1e-5)
    assert (const1 - none).abs().max() > 1e-3


def test_truncation_and_mean_latent() -> None:
    g = tiny_g()
    z = torch.randn(2, 32)
    mean = g.mean_latent(256, generator=torch.Generator().manual_seed(0))
    assert mean.shape == (1, 32)
    with torch.no_grad():
        w = g.get_latent(z)
        ws = g.mapping(z, truncation=0.5, truncation_latent=mean)
        at_mean = g.mapping(z, truncation=0.0, truncation_latent=mean)
    torch.testing.assert_close(ws[:, 3], mean + 0.5 * (w - mean))
    torch.testing.assert_close(at_mean[:, 0], mean.expand(2, -1))
    with pytest.raises(ConfigError, match="truncation_latent"):
        g.mapping(z, truncation=0.7)


def test_split_mapping_and_structure_features() -> None:
    g = tiny_g()
    z = torch.randn(3, 32)
    head, tail = g.split_mapping(2)
    torch.testing.assert_close(tail(head(z)), g.get_latent(z))
    assert len(list(tail.parameters())) == 2 * 2  # two EqualLinear layers (weight + bias)
    assert g.structure_feature_names(2) == ["block_8", "block_16"]
    with pytest.raises(ConfigError, match="tail_layers"):
        g.split_mapping(0)
    with pytest.raises(ConfigError, match="num_blocks"):
        g.structure_feature_names(0)


def test_features_are_block_outputs_and_swap_replaces_them() -> None:
    g = tiny_g()
    ws = g.mapping(torch.randn(2, 32))
    captured = {}
    hooks = [
        g.conv1.register_forward_hook(lambda m, i, o: captured.__setitem__("block_4", o)),
        g.convs[1].register_forward_hook(lambda m, i, o: captured.__setitem__("block_8", o)),
        g.convs[3].register_forward_hook(lambda m, i, o: captured.__setitem__("block_16", o)),
    ]
    with torch.no_grad():
        out = g.synthesis(ws, return_features=("block_4", "block_8", "block_16"))
    for h in hooks:
        h.remove()
    for k in captured:
        torch.testing.assert_close(out.features[k], captured[k], rtol=0, atol=0)
    with torch.no_grad():
        same = g.synthesis(ws, swap_features={"block_16": out.features["block_16"]}).image
        other = g.synthesis(ws, swap_features={"block_16": torch.zeros_like(out.features["block_16"])}).image
    torch.testing.assert_close(same, out.image, rtol=0, atol=1e-6)
    assert (other - out.image).abs().max() > 1e-3
    with pytest.raises(ConfigError, match="shape"):
        g.synthesis(ws, swap_features={"block_16": torch.zeros(2, 32, 8, 8)})


def test_gradients_flow_to_latents_and_weights() -> None:
    g = tiny_g(16)
    ws = g.mapping(torch.randn(2, 32)).detach().requires_grad_(True)
    g.synthesis(ws, noise_mode="random").image.square().mean().backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0
    assert all(p.grad is not None for n, p in g.named_parameters() if not n.startswith("style."))


def test_discriminator_block_features_and_stddev_groups() -> None:
    torch.manual_seed(0)
    d = StyleGAN2Discriminator(32, channel_max=32).eval()
    x = torch.randn(4, 3, 32, 32)
    feats = d.block_features(x, 2)
    assert [f.shape for f in feats] == [(4, 32, 16, 16), (4, 32, 8, 8)]
    torch.testing.assert_close(feats[0], d.convs[1](d.convs[0](x)))
    assert d.num_blocks == 3
    assert d(x).shape == (4, 1) and d(x[:2]).shape == (2, 1)
    with pytest.raises(ConfigError, match="multiple"):
        d(torch.randn(6, 3, 32, 32))
    with pytest.raises(ConfigError):
        d(torch.randn(2, 3, 16, 16))
    d(x).sum().backward()
    assert d.convs[0][0].weight.grad is not None


def test_discriminator_skip_folding_matches_blur_then_strided_conv() -> None:
    torch.manual_seed(0)
    d = StyleGAN2Discriminator(16, channel_max=8).double()
    block = d.convs[1]
    x = torch.randn(2, 8, 16, 16, dtype=torch.float64)
    expected = (block.conv2(block.conv1(x)) + block.skip(x)) / 2**0.5
    torch.testing.assert_close(block(x), expected)
