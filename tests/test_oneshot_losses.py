"""Properties of the one-shot stylisation losses and helpers (``toonlift.functional.oneshot``) and of the loops that
use them (JoJoGAN fine-tune, PTI tuning, dual branch, 3DArtmator's stages) on tiny random generators."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.oneshot_helpers import tiny_oneshot_networks
from toonlift.errors import ConfigError
from toonlift.functional.oneshot import (
    depth_relief,
    dual_branch_loss,
    feature_l1,
    lerp_states,
    mix_fine_layers,
    pairwise_mean,
)
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator


def mse_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def test_mix_fine_layers_keeps_coarse_layers_and_blends_fine_ones() -> None:
    g = torch.Generator().manual_seed(0)
    w_e, w_r = torch.randn(1, 10, 4, generator=g), torch.randn(5, 10, 4, generator=g)
    out = mix_fine_layers(w_e, w_r, alpha=0.25, first_fine=4)
    torch.testing.assert_close(out[:, :4], w_e[:, :4].expand(5, -1, -1))
    torch.testing.assert_close(out[:, 4:], 0.25 * w_e[:, 4:] + 0.75 * w_r[:, 4:])
    torch.testing.assert_close(mix_fine_layers(w_e, w_r, 1.0, 4), w_e.expand(5, -1, -1))  # α = 1: the exemplar
    torch.testing.assert_close(mix_fine_layers(w_e, w_r, 0.0, 0), w_r)  # every layer random
    with pytest.raises(ConfigError, match="first_fine"):
        mix_fine_layers(w_e, w_r, 0.5, 11)


def test_feature_l1_is_the_mean_abs_difference_summed_over_layers() -> None:
    g = torch.Generator().manual_seed(1)
    a = [torch.randn(3, 2, 4, 4, generator=g), torch.randn(3, 5, 2, 2, generator=g)]
    b = [torch.randn(1, 2, 4, 4, generator=g), torch.randn(1, 5, 2, 2, generator=g)]
    want = sum((x - y).abs().mean() for x, y in zip(a, b))
    torch.testing.assert_close(feature_l1(a, b), want)
    assert float(feature_l1(a, [x[:1] for x in a][:1] + [a[1]])) >= 0
    assert float(feature_l1(b, b)) == 0.0
    with pytest.raises(ConfigError):
        feature_l1(a, b[:1])


def test_dual_branch_loss_terms_and_weights() -> None:
    g = torch.Generator().manual_seed(2)
    x2, x3, ex = (torch.rand(2, 3, 8, 8, generator=g) * 2 - 1 for _ in range(3))
    t = dual_branch_loss(x2, x3, ex[:1], mse_distance, lambda_exemplar=0.5, lambda_2d=2.0)
    torch.testing.assert_close(t["mse"], F.mse_loss(x3, x2))
    torch.testing.assert_close(t["exemplar"], mse_distance(x3, ex[:1].expand_as(x3)).mean())
    torch.testing.assert_close(t["total"], t["mse"] + 0.5 * t["exemplar"] + 2.0 * t["pair"])
    # all three images the same: every term vanishes; with both λ = 0 the loss is the MSE alone
    assert float(dual_branch_loss(x2, x2, x2, mse_distance)["total"]) == 0.0
    torch.testing.assert_close(dual_branch_loss(x2, x3, ex, mse_distance, 0.0, 0.0)["total"], F.mse_loss(x3, x2))
    with pytest.raises(ConfigError, match="one shape"):
        dual_branch_loss(x2, x3[:1], ex, mse_distance)


def test_lerp_states_endpoints_and_midpoint() -> None:
    a = {"w": torch.zeros(3), "n": torch.tensor([1])}
    b = {"w": torch.ones(3), "n": torch.tensor([2])}
    torch.testing.assert_close(lerp_states(a, b, 0.0)["w"], a["w"])
    torch.testing.assert_close(lerp_states(a, b, 1.0)["w"], b["w"])
    torch.testing.assert_close(lerp_states(a, b, 0.3)["w"], torch.full((3,), 0.3))
    assert lerp_states(a, b, 0.5)["n"].item() == 1  # integer buffers are copied, not blended
    with pytest.raises(ConfigError):
        lerp_states(a, {"w": b["w"]}, 0.5)


def test_depth_relief_and_pairwise_mean() -> None:
    ramp = torch.linspace(0.9, 1.1, 101).view(1, 1, 1, 101).expand(2, 1, 3, 101).clone()
    mask = torch.ones_like(ramp)
    mask[1, :, :, 50:] = 0  # the second image only sees the near half
    relief = depth_relief(ramp, mask)
    assert relief[0].item() == pytest.approx(0.18, abs=1e-3)  # q95 - q05 of a uniform 0.2 range
    assert relief[1].item() == pytest.approx(0.09, abs=2e-3)
    assert depth_relief(ramp, torch.zeros_like(ramp)).abs().max() == 0
    d = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    assert pairwise_mean(d).item() == pytest.approx(2.0)
    with pytest.raises(ConfigError):
        pairwise_mean(torch.zeros(1, 1))


@pytest.fixture(scope="module")
def tiny() -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator, EG3DBackbone]:
    return tiny_oneshot_networks()


def test_jojogan_finetune_lowers_the_feature_loss_and_leaves_g_alone(tiny) -> None:
    from toonlift.stages.your3demoji.branches import finetune_exemplar

    g2, d2, _ = tiny
    before = {k: v.clone() for k, v in g2.state_dict().items()}
    ex = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
    w_e = g2.mapping(g2.sample_z(1, generator=torch.Generator().manual_seed(4)))
    styled, hist = finetune_exemplar(g2, d2, ex, w_e, steps=25, lr=2e-3, batch=2)
    assert hist[-1]["feature_l1"] < 0.8 * hist[0]["feature_l1"]
    assert all(torch.equal(v, g2.state_dict()[k]) for k, v in before.items())
    assert not all(torch.equal(v, styled.state_dict()[k]) for k, v in before.items())


def test_pti_tuning_fits_the_target_and_dual_branch_alternates(tiny) -> None:
    from toonlift.stages.your3demoji.branches import dual_branch, tune_generator

    g2, _, g3 = tiny
    cond = g3.default_cond(1)
    ws = g3.mapping(g3.sample_z(1, generator=torch.Generator().manual_seed(5)), cond)
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(6)) * 2 - 1
    tuned, hist = tune_generator(g3, ws, target, cond, None, steps=20, lr=3e-3, l2=1.0)
    assert hist[-1]["mse"] < 0.7 * hist[0]["mse"]
    w2 = g2.mapping(g2.sample_z(1, generator=torch.Generator().manual_seed(7)))
    g3b, g2b, dual = dual_branch(g2, w2, tuned, ws, cond, target, mse_distance, steps=4, lr_2d=0.0)
    assert [h["branch"] for h in dual] == [3.0] * 4  # lr_2d = 0: only the 3D branch moves
    assert all(torch.equal(v, g2.state_dict()[k]) for k, v in g2b.state_dict().items())
    _, g2c, dual = dual_branch(g2, w2, tuned, ws, cond, target, mse_distance, steps=4, lr_2d=1e-3)
    assert [h["branch"] for h in dual] == [3.0, 2.0, 3.0, 2.0]
    assert not all(torch.equal(v, g2.state_dict()[k]) for k, v in g2c.state_dict().items())


def test_artmator_stages_repeat_and_the_spatial_term_pulls_to_the_artwork(tiny) -> None:
    from toonlift.stages.artmator.anchor import anchor_search
    from toonlift.stages.artmator.stylise import directional_finetune

    _, _, g3 = tiny
    cond = g3.orbit_cond(torch.tensor([0.3]), torch.tensor([0.0]))
    art = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(8)) * 2 - 1
    a = anchor_search(g3, art, mse_distance, cond, steps=15, lr=0.05)
    assert a.history[-1]["loss"] < a.history[0]["loss"]
    joint = anchor_search(g3, art, mse_distance, None, steps=3, search_camera=True, init_yaw_deg=10.0)
    assert joint.yaw_deg != 10.0 and joint.cond.shape == (1, 25)
    g_trn, hist = directional_finetune(g3, a.ws, a.cond, art, None, mse_distance, steps=10, lr=3e-3, lambda_dir=0.0)
    assert hist[-1]["spa"] < hist[0]["spa"]
    again, _ = directional_finetune(g3, a.ws, a.cond, art, None, mse_distance, steps=10, lr=3e-3, lambda_dir=0.0)
    for k, v in g_trn.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k  # one seed, one result
    with pytest.raises(ConfigError, match="positive"):
        directional_finetune(g3, a.ws, a.cond, art, None, mse_distance, lambda_dir=0.0, lambda_spa=0.0)
    with pytest.raises(ConfigError, match="camera"):
        anchor_search(g3, art, mse_distance, None)


def test_directional_floor_bounds_the_start_of_a_fine_tune() -> None:
    from toonlift.functional.directional import directional_loss
    from toonlift.plugins.losses.directional import DirectionalLoss

    guide = torch.tensor([[3.0, 4.0]])  # norm 5
    floor = 0.1 * 5
    small = torch.tensor([[0.1, 0.2]])  # below the floor: linear, 1 - d.g_hat / floor
    got = directional_loss(small, torch.zeros_like(small), guide, eps=floor)
    torch.testing.assert_close(got, torch.tensor([1 - (0.1 * 0.6 + 0.2 * 0.8) / floor]))
    big = torch.tensor([[2.0, -1.0]])  # above it: the plain cosine
    torch.testing.assert_close(directional_loss(big, torch.zeros_like(big), guide, eps=floor),
                               directional_loss(big, torch.zeros_like(big), guide))  # fmt: skip
    # the plugin at the first step of a fine-tune (stylised == original): a bounded gradient with the floor
    loss = DirectionalLoss(encoder="synthetic_analyser_stats", min_norm=0.1)
    plain = DirectionalLoss(encoder="synthetic_analyser_stats")
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(9)) * 2 - 1
    g = loss.guide(-img, img)
    grads = []
    for fn in (loss, plain):
        x = img.clone().requires_grad_(True)
        fn(x, img, g).backward()
        grads.append(float(x.grad.norm()))
    assert all(torch.isfinite(torch.tensor(grads))) and grads[0] < 1e-4 * grads[1]
    with pytest.raises(ConfigError, match="min_norm"):
        DirectionalLoss(min_norm=-1.0)
