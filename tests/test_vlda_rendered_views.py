"""FID/KID of rendered avatars (Table I protocol): saved maps reload, re-render, and score; the CLI and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from toonlift.errors import DataError
from toonlift.plugins.features.synthetic_analyser import SyntheticAnalyserFeatureExtractor
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.ellipsoid import ellipsoid_from_mask
from toonlift.stages.vlda.inputs import box_mask
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.render_metrics import main
from toonlift.stages.vlda.rendered_views import fid_kid, find_avatars, load_avatar, render_avatar, render_set
from toonlift.stages.vlda.vlda_params import diffuse_term, shade
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.utils.images import save_image
from toonlift.utils.io import save_safetensors

S = 64


def _write_avatar(folder: Path, image: torch.Tensor, fov: float = 10.0) -> rc.Canonical:
    """Write the outputs of a fresh VLDA model whose depth is the ellipsoid prior and albedo ``image``."""
    renderer = DepthMapRenderer(image_size=S, fov=fov)
    nets = rc.VLDANets(S, style_dim=32, zdim=16, nf=8, enc_nf=8)
    canon = rc.predict_canonical(nets, image, renderer, rc.Ranges())
    canon.albedo = image
    canon.depth = ellipsoid_from_mask(box_mask(S, [0.2, 1.0, 0.2, 0.8]))[None]
    canon.normal = renderer.normals(canon.depth)
    canon.texture, canon.shading = shade(canon.albedo, canon.normal, canon.light)
    canon.diffuse = diffuse_term(canon.normal, canon.light.direction)
    write_avatar(folder, canon, image, canon.texture, renderer, {"final": {"lpips": 0.25}}, gif_frames=4)
    return canon


def _cartoon(index: int) -> torch.Tensor:
    return SyntheticFaces(domain="cartoon", resolution=S, num_samples=index + 1, seed=123).render([index])["image"]


def test_saved_maps_reload_and_rerender_the_canonical_texture(tmp_path: Path) -> None:
    canon = _write_avatar(tmp_path / "avatar_0000", _cartoon(0), fov=12.0)
    (tmp_path / "notes").mkdir()  # a folder without maps is not an avatar
    found = find_avatars(tmp_path)
    assert found == [tmp_path / "avatar_0000"]
    avatar = load_avatar(found[0])
    assert avatar.renderer_args["fov"] == 12.0
    assert torch.allclose(avatar.texture, canon.texture, atol=1e-5)
    assert torch.equal(avatar.view, canon.view)
    # the canonical view of the ellipsoid sees the whole texture (as the renderer test at the initial shape)
    frontal = render_avatar(avatar, torch.zeros(1, 6))
    assert (frontal - canon.texture).abs().max() < 1e-4
    turned = render_avatar(avatar, torch.tensor([[0.0, 0.5, 0, 0, 0, 0]]))
    assert (turned - canon.texture).abs().mean() > 0.05  # a 29 degree turn moves the face


def test_render_set_spreads_the_count_and_is_seeded(tmp_path: Path) -> None:
    for i in range(3):
        _write_avatar(tmp_path / f"avatar_{i:04d}", _cartoon(i))
    avatars = [load_avatar(f) for f in find_avatars(tmp_path)]
    batches = list(render_set(avatars, 8, seed=5, batch=2))
    assert [b.shape[0] for b in batches] == [2, 1, 2, 1, 2]
    again = torch.cat(list(render_set(avatars, 8, seed=5)))
    assert torch.equal(torch.cat(batches), again)
    assert not torch.equal(again, torch.cat(list(render_set(avatars, 8, seed=6))))


def test_fid_ranks_the_same_avatars_closer_than_another_domain(tmp_path: Path) -> None:
    for i in range(4):
        _write_avatar(tmp_path / f"avatar_{i:04d}", _cartoon(i))
    avatars = [load_avatar(f) for f in find_avatars(tmp_path)]
    features = SyntheticAnalyserFeatureExtractor()
    same = fid_kid(render_set(avatars, 32, seed=0), render_set(avatars, 32, seed=1), features)
    photos = SyntheticFaces(domain="photo", resolution=S, num_samples=32, seed=9).render(list(range(32)))["image"]
    other = fid_kid(render_set(avatars, 32, seed=0), [photos], features)
    assert same["renders"] == other["renders"] == 32 and other["real"] == 32
    for scores in (same, other):
        assert all(map(lambda v: torch.isfinite(torch.tensor(v)), scores.values()))
    assert same["fid"] < 0.5 * other["fid"]
    assert same["kid_x1e3"] < other["kid_x1e3"]


def test_bad_maps_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        find_avatars(tmp_path / "missing")
    with pytest.raises(DataError, match="holds no avatar"):
        find_avatars(tmp_path)
    bad = tmp_path / "avatar_0000"
    bad.mkdir()
    depth = torch.ones(S, S)
    depth[3, 3] = float("nan")
    maps = {"depth": depth, "albedo": torch.zeros(3, S, S), "shading": torch.ones(1, S, S)}
    save_safetensors(bad / "maps.safetensors", maps, {"format": "toonlift.stages.vlda.maps", "view": [0.0] * 6})
    with pytest.raises(DataError, match="NaN or inf in its depth"):
        load_avatar(bad)
    maps["depth"] = torch.ones(S, S)
    meta = {"format": "toonlift.stages.vlda.maps", "view": ["left"] * 6}
    save_safetensors(bad / "maps.safetensors", maps, meta)
    with pytest.raises(DataError, match="view that is not 6 numbers"):
        load_avatar(bad)
    meta = {"format": "toonlift.stages.vlda.maps", "view": [0.0] * 6, "renderer": {"fov": "wide"}}
    save_safetensors(bad / "maps.safetensors", maps, meta)
    with pytest.raises(DataError, match="unreadable renderer entry"):
        load_avatar(bad)
    save_safetensors(bad / "maps.safetensors", maps, {"format": "something.else"})
    with pytest.raises(DataError, match="not a VLDA maps file"):
        load_avatar(bad)


def test_cli_scores_against_an_image_folder_and_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_avatar(tmp_path / "run" / "avatar_0000", _cartoon(0))
    _write_avatar(tmp_path / "run" / "avatar_0001", _cartoon(1))
    real = tmp_path / "real"
    real.mkdir()
    photos = SyntheticFaces(domain="photo", resolution=2 * S, num_samples=6, seed=4).render(list(range(6)))["image"]
    for i, image in enumerate(photos):
        save_image(image, real / f"{i}.png")  # 128 px: resized to the renders' 64 px
    out = tmp_path / "scores.json"
    code = main(["--avatars", str(tmp_path / "run"), "--real", str(real), "--count", "8", "--out", str(out)])
    assert code == 0
    scores = json.loads(out.read_text())
    assert scores["avatars"] == 2 and scores["renders"] == 8 and scores["real_images"] == 6
    assert scores["fid"] > 0 and scores["lpips_input_reconstruction"] == pytest.approx(0.25)
    assert "FID" in capsys.readouterr().out
    assert main(["--avatars", str(tmp_path / "nowhere"), "--real-synthetic", "photo"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--avatars", str(tmp_path / "run"), "--real-synthetic", "photo", "--count", "1"]) == 2
    assert "--count must be at least 2" in capsys.readouterr().err
