"""What the one-shot table reuses must equal what each method computes alone: Your3dEmoji's exemplar-independent
input inversion, one 3D inversion shared by Your3dEmoji and 3DArtmator, 3DArtmator's stage 1 shared by its ablation;
plus the paired set and per-avatar λ's of Eq. 5 (tiny random generators)."""

from __future__ import annotations

import pytest
import torch

from tests.oneshot_helpers import tiny_oneshot_networks
from toonlift.errors import ConfigError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.artmator.pipeline import Artmator, ArtmatorSettings
from toonlift.stages.your3demoji.pipeline import Your3dEmoji, Your3dEmojiSettings


def mse_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def tiny() -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator, EG3DBackbone]:
    return tiny_oneshot_networks()


@pytest.fixture(scope="module")
def emoji(tiny) -> Your3dEmoji:
    g2, d2, g3 = tiny
    s = Your3dEmojiSettings(project_steps=3, finetune_steps=3, invert_steps=3, pti_steps=3, dual_steps=4)
    y3 = Your3dEmoji(g2, d2, g3, mse_distance, s)
    y3.prepare(torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return y3


def photo_and_cond(g3: EG3DBackbone) -> tuple[torch.Tensor, torch.Tensor]:
    photo = torch.rand(1, 3, g3.resolution, g3.resolution, generator=torch.Generator().manual_seed(2)) * 2 - 1
    return photo, g3.orbit_cond(torch.tensor([0.2]), torch.zeros(1))


def test_an_avatar_from_a_reused_inversion_equals_the_avatar_made_alone(tiny, emoji) -> None:
    _, _, g3 = tiny
    photo, cond = photo_and_cond(g3)
    alone = emoji.avatar(photo, cond)
    inversion = emoji.invert_input(photo, cond)
    reused = emoji.avatar(photo, cond, inversion)
    again = emoji.avatar(photo, cond, inversion)  # the inversion is not changed by use
    for av in (reused, again):
        assert torch.equal(av.ws, alone.ws) and torch.equal(av.stylised_2d, alone.stylised_2d)
        assert same_weights(av.generator, alone.generator)
        assert same_weights(av.photo_generator, alone.photo_generator)
    assert not same_weights(alone.generator, alone.photo_generator)  # the dual branch did move the 3D branch
    assert {"stylise_2d", "pti", "dual"} <= set(reused.seconds)


def test_one_3d_inversion_serves_both_methods_only_with_equal_settings(tiny, emoji) -> None:
    _, _, g3 = tiny
    photo, cond = photo_and_cond(g3)
    ws_emoji, _, _ = emoji.pti(photo, cond)
    art = Artmator(g3, mse_distance, ArtmatorSettings(invert_steps=3))
    ws_art, hist = art.invert_input(photo, cond)
    assert torch.equal(ws_art, ws_emoji) and len(hist) == 3
    other, _ = Artmator(g3, mse_distance, ArtmatorSettings(invert_steps=4)).invert_input(photo, cond)
    assert not torch.equal(other, ws_emoji)
    # avatar(ws=...) renders the given latent with the stylised copy, without inverting
    art.prepare(photo, cond)
    av = art.avatar(photo, cond, ws=ws_art)
    assert torch.equal(av.ws, ws_art) and av.history["invert"] == []
    assert torch.equal(av.stylised_2d, art.g_trn.synthesis(ws_art, cond, noise_mode="const").image)


def test_a_shared_anchor_gives_the_ablation_it_would_have_found(tiny) -> None:
    _, _, g3 = tiny
    photo, cond = photo_and_cond(g3)
    settings = ArtmatorSettings(anchor_steps=3, style_steps=3, lambda_spa=0.0, encoder="synthetic_analyser")
    alone = Artmator(g3, mse_distance, settings)
    alone.prepare(photo, cond)
    full = Artmator(g3, mse_distance, ArtmatorSettings(anchor_steps=3, style_steps=3, encoder="synthetic_analyser"))
    full.prepare(photo, cond)
    shared = Artmator(g3, mse_distance, settings)
    shared.prepare(photo, cond, full.anchor)
    assert torch.equal(full.anchor.ws, alone.anchor.ws)
    assert same_weights(shared.g_trn, alone.g_trn)
    assert not same_weights(shared.g_trn, full.g_trn)  # the spatial term changes stage 2


def test_stylise_2d_takes_given_latents_and_the_paired_set_is_row_aligned(tiny, emoji) -> None:
    g2, _, _ = tiny
    w = g2.mapping(g2.sample_z(3, generator=torch.Generator().manual_seed(5)))
    w_out, styled = emoji.stylise_2d(None, w)
    assert w_out is w and torch.equal(styled, emoji.g2d_style.synthesis(w, noise_mode="const").image)
    ws, photos, stylised = emoji.paired_set(5, batch=2)
    assert ws.shape[0] == photos.shape[0] == stylised.shape[0] == 5
    assert torch.allclose(photos, g2.synthesis(ws, noise_mode="const").image, atol=1e-4)
    assert torch.allclose(stylised, emoji.g2d_style.synthesis(ws, noise_mode="const").image, atol=1e-4)
    assert not torch.allclose(photos, stylised, atol=1e-3)  # the fine-tuned copy draws differently
    assert torch.allclose(emoji.paired_set(5, batch=5)[0], ws, atol=1e-5)  # the batch size does not change pairs
    with pytest.raises(ConfigError, match="num >= 1"):
        emoji.paired_set(0)


def test_per_avatar_lambdas_reach_eq_5(tiny, emoji) -> None:
    _, _, g3 = tiny
    photo, cond = photo_and_cond(g3)
    inversion = emoji.invert_input(photo, cond)
    zero = emoji.avatar(photo, cond, inversion, lambda_exemplar=0.0, lambda_2d=0.0)
    assert all(abs(h["total"] - h["mse"]) < 1e-6 for h in zero.history["dual"])
    two = emoji.avatar(photo, cond, inversion, lambda_exemplar=2.0, lambda_2d=0.0)
    h = two.history["dual"][0]
    assert h["total"] == pytest.approx(h["mse"] + 2.0 * h["exemplar"], rel=1e-5)
