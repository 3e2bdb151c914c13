"""StyleFaceUV's symmetric view and multi-view figures: the mirrored view of a symmetric face must give the mirrored
visibility and the same UV map, and the turned-view helpers must reproduce what they claim."""

from __future__ import annotations

import pytest
import torch

from toonlift.functional.uv_maps import erode
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.head_rig.prior import latent_from_params, prior_moments
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.stages.styleuv.evaluate_views import (
    plane_turned,
    rig_turned,
    turned_latents,
    unwrap_to_uv,
    view_scores,
    world_turned,
)
from toonlift.stages.styleuv.uv_render import UVRigRenderer, texels_at_pixels
from toonlift.synthetic.sampler import sample_params

YAW = SLICES["pose"].start


@pytest.fixture(scope="module")
def renderer() -> UVRigRenderer:
    return UVRigRenderer(image_size=64, uv_size=64, detail="low")


def symmetric_face(yaw: float) -> torch.Tensor:
    """The mean face (left-right symmetric) at ``(±yaw, 0, 0)`` under a mirror-symmetric light: ``[2, 53]``.

    The light keeps only the SH terms even in x (constant, y, z, and the zz / yy-xx / yz terms), so the shading of a
    mirrored normal is the mirror of the shading."""
    lat = prior_moments("photo")[0].clone()[None].repeat(2, 1)
    lat[:, SLICES["pose"]] = 0
    lat[0, YAW], lat[1, YAW] = yaw, -yaw
    sh = lat[:, SLICES["light"]]  # order: 00, 1-1 (y), 10 (z), 11 (x), 2-2 (xy), 2-1 (yz), 20, 21 (xz), 22
    sh[:, [3, 4, 7]] = 0
    lat[:, SLICES["light"]] = sh
    return lat


def test_uv_layout_mirrors_u(renderer: UVRigRenderer) -> None:
    mean = renderer.rig.head_model.mean
    mirrored = mean * torch.tensor([-1.0, 1.0, 1.0])
    dist, match = torch.cdist(mirrored, mean).min(1)
    assert float(dist.max()) < 2e-3  # the mean head is left-right symmetric
    uv = renderer.rig.uv
    off_seam = (uv[:, 0] > 0.05) & (uv[:, 0] < 0.95)
    assert float((uv[match, 0] - (1 - uv[:, 0]))[off_seam].abs().max()) < 2e-3  # u -> 1 - u
    assert float((uv[match, 1] - uv[:, 1])[off_seam].abs().max()) < 2e-3  # v kept


@pytest.mark.parametrize("yaw", [15.0, 35.0])
def test_mirrored_view_sees_the_mirrored_texels(renderer: UVRigRenderer, yaw: float) -> None:
    lat = symmetric_face(yaw)
    out = renderer(lat, renderer.true_diffuse(lat), None)
    seen, seen_mirror = out.texels[0], out.texels[1]
    assert float(seen.sum()) > 500
    # the view at -yaw sees the mirror (u -> 1 - u, a flip of the map's columns) of what +yaw sees
    assert float((seen != seen_mirror.flip(-1)).float().sum() / seen.sum()) < 0.05
    # ... and not the same texels (a wrong flip or a wrong facing test would make these agree instead)
    assert float((seen != seen_mirror).float().sum() / seen.sum()) > 0.1
    # the image at -yaw is the mirror image of the one at +yaw
    assert float((out.image[0] - out.image[1].flip(-1)).abs().mean()) < 0.01
    assert float((out.image[0] - out.image[1]).abs().mean()) > 0.03


def test_uv_map_from_the_mirrored_view_equals_its_own(renderer: UVRigRenderer) -> None:
    """A symmetric face: the colours the mirrored view gives the texels it sees are the colours the original view
    gives their mirror texels (the training's symmetric-view target of a texel is that texel's own colour)."""
    lat = symmetric_face(30.0)
    out = renderer(lat, renderer.true_diffuse(lat), None)
    colours, seen = unwrap_to_uv(renderer, lat, out.image)
    # texels both views see, away from the edge of either seen region (the unwrap is bilinear across silhouettes)
    inner = erode(seen)  # [2, 1, T, T]
    both = inner[0] * inner[1].flip(-1)
    assert float(both.sum()) > 300
    diff = (colours[0] - colours[1].flip(-1)).abs().mean(0, keepdim=True)
    assert float((diff * both).sum() / both.sum()) < 0.03
    # and the unwrap itself is right: on seen texels it reads back the map that was rendered (under the light)
    grey = renderer(lat, torch.zeros_like(renderer.true_diffuse(lat)), None).image  # 50 % albedo: the shading
    shade, _ = unwrap_to_uv(renderer, lat, grey)
    albedo = ((colours + 1) / (shade + 1).clamp_min(1e-3)) - 1  # (a+1)/2 * s = (c+1)/2, (0+1)/2 * s = (g+1)/2
    truth = renderer.true_diffuse(lat)
    assert float(((albedo - truth).abs().mean(1, keepdim=True) * inner).sum() / inner.sum()) < 0.1


def test_symmetric_view_weight_halves_the_texels_both_views_see(renderer: UVRigRenderer) -> None:
    lat = symmetric_face(30.0)
    out = renderer(lat, renderer.true_diffuse(lat), None)
    weight = texels_at_pixels(out.texels[:1], out.uv[1:]) * out.mask[1:]  # the module's 0.5 mask, before scaling
    # the symmetric view's pixels whose texel the original sees: by the mirror, those whose mirrored texel it sees
    mirrored = texels_at_pixels(out.texels[1:].flip(-1), out.uv[1:]) * out.mask[1:]
    share = float(weight.sum() / out.mask[1].sum())
    assert 0.2 < share < 0.95
    assert float((weight - mirrored).abs().sum() / out.mask[1].sum()) < 0.08


def test_turned_views_match_the_world_and_the_card_keeps_the_image(renderer: UVRigRenderer) -> None:
    idx = [6, 7]
    lat = latent_from_params(sample_params(9000, idx), "photo").float()
    yaws = [-45.0, 0.0, 45.0]
    true = world_turned(9000, idx, yaws, 64)
    rig = rig_turned(renderer, lat, renderer.true_diffuse(lat), None, yaws)
    perceptual = AnalyserPerceptualLoss().eval()
    good = view_scores(rig.flatten(0, 1), true.flatten(0, 1), perceptual)
    wrong = view_scores(rig.flip(1).flatten(0, 1), true.flatten(0, 1), perceptual)  # yaws swapped
    assert float(good["psnr"].mean()) > 18 and float(good["ssim"].mean()) > 0.8
    assert float(good["perceptual"].mean()) < float(wrong["perceptual"].mean())
    assert float(good["psnr"].mean()) > float(wrong["psnr"].mean()) + 2
    same = view_scores(true[:, 0], true[:, 0], perceptual)
    assert float(same["perceptual"].abs().max()) < 1e-5 and float(same["ssim"].min()) > 0.999
    card = plane_turned(true[:, 1], torch.zeros(2), [0.0, 60.0])
    assert float((card[:, 0] - true[:, 1]).abs().mean()) < 0.05  # unturned: the image itself
    assert float((card[:, 1] == 1).float().mean()) > 0.3  # turned 60°: the card narrows
    assert torch.equal(turned_latents(lat, 30.0)[:, SLICES["pose"]][:, 1:], torch.zeros(2, 5))


def test_module_asks_the_mirrored_yaw_and_keeps_the_face(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The training's symmetric view walks to minus F_3D's yaw, and renders the original face (identity,
    expression, albedo of ``w``) at the symmetric image's pose and light."""
    from toonlift.stages.styleuv import module as styleuv_module

    mod = styleuv_module.StyleUVModule(**styleuv_module.StyleUVModule.example_args(tmp_path))
    asked: dict[str, torch.Tensor] = {}
    walk = styleuv_module.move_to_yaw

    def spy(model, w, d, a):  # noqa: ANN001, ANN202
        asked["yaw"] = a.clone()
        asked["w_s"] = walk(model, w, d, a)
        return asked["w_s"]

    monkeypatch.setattr(styleuv_module, "move_to_yaw", spy)
    v = mod.views(torch.Generator().manual_seed(0))
    assert torch.allclose(asked["yaw"], -v["latent"][:, YAW])
    f_s = mod.coeff(asked["w_s"])
    for name in ("identity", "expression", "albedo"):
        assert torch.equal(v["latent_sym"][:, SLICES[name]], v["latent"][:, SLICES[name]])
    for name in ("pose", "light"):
        assert torch.allclose(v["latent_sym"][:, SLICES[name]], f_s[:, SLICES[name]])
