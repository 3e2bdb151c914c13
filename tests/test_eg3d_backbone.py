"""The EG3D backbone's parts and behaviour (the equality with NVlabs is tests/test_eg3d_equality.py)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest
import torch

from tests.eg3d_helpers import seeded
from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.backbones.capabilities import CameraConditioned, Exportable, MappingSplit, NoiseInputs, has
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.camera import orbit_cond, split_cond
from toonlift.plugins.eg3d.convert import convert_eg3d_pickle
from toonlift.plugins.eg3d.depth_sampling import importance_depths, sample_pdf, stratified_depths
from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator
from toonlift.plugins.eg3d.marcher import march
from toonlift.plugins.eg3d.rays import camera_rays
from toonlift.plugins.eg3d.superres import SR_PRESETS, sr_output_resolution
from toonlift.plugins.eg3d.triplane import sample_triplane
from toonlift.plugins.export import load_model, save_model


def tiny(**over: object) -> EG3DBackbone:
    torch.manual_seed(0)
    return seeded(EG3DBackbone(**{**EG3DBackbone.example_args(Path(".")), **over}), 5)


def test_capabilities_and_sizes() -> None:
    g = tiny()
    assert has(g, CameraConditioned) and has(g, Exportable) and has(g, NoiseInputs)
    assert not has(g, MappingSplit)  # the camera enters the first layer: no camera-free head exists
    assert (g.resolution, g.num_ws, g.cond_dim, g.neural_resolution) == (16, 6, 25, 8)
    z = g.sample_z(3, generator=torch.Generator().manual_seed(0))
    c = g.sample_cond(3, generator=torch.Generator().manual_seed(1))
    out = g(z, c, return_features=("planes", "feature_image"))
    assert [t.shape for t in g.example_inputs(3)] == [z.shape, c.shape]
    assert out.image.shape == (3, 3, 16, 16) and out.image_raw.shape == (3, 3, 8, 8)
    assert out.depth.shape == out.mask.shape == (3, 1, 8, 8)
    assert out.features["planes"].shape == (3, 3, 4, 16, 16) and out.features["feature_image"].shape == (3, 4, 8, 8)
    assert torch.equal(out.cond, c)
    assert ((out.mask >= 0) & (out.mask <= 1 + 1e-6)).all()
    assert ((out.depth >= 2.25) & (out.depth <= 3.3 + 0.03)).all()


def test_official_superresolution_outputs() -> None:
    assert {k: sr_output_resolution(*v) for k, v in SR_PRESETS.items()} == {
        "hybrid2x": 128, "hybrid4x": 256, "hybrid8x": 512, "hybrid8xdc": 512, "lite2x": 64,
    }  # fmt: skip
    g = EG3DBackbone.preset("lite64")
    assert (g.resolution, g.neural_resolution, g.num_ws, g.z_dim) == (64, 32, 10, 128)


def test_orbit_camera_convention() -> None:
    yaw, pitch = torch.tensor([0.0, 0.4, -0.3]), torch.tensor([0.0, 0.2, -0.1])
    c = orbit_cond(yaw, pitch, 2.0, (0.0, 0.0, 0.1), (0.0, 0.1, 0.0), focal=4.0)
    cam2world, intr = split_cond(c)
    origin = cam2world[:, :3, 3]
    expected = torch.stack([pitch.cos() * yaw.sin(), pitch.sin(), pitch.cos() * yaw.cos()], -1) * 2.0
    torch.testing.assert_close(origin, expected + torch.tensor([0.0, 0.0, 0.1]))
    rot = cam2world[:, :3, :3]
    torch.testing.assert_close(rot.transpose(1, 2) @ rot, torch.eye(3).expand(3, 3, 3), atol=1e-6, rtol=0)
    assert (rot[:, 1, 1] < 0).all()  # OpenCV: the camera's y axis (image down) points to world -y
    torch.testing.assert_close(intr[0], torch.tensor([[4.0, 0, 0.5], [0, 4.0, 0.5], [0, 0, 1]]))
    # a one-pixel render looks through the principal point: straight at the look-at point
    origins, dirs = camera_rays(c, 1)
    target = torch.tensor([0.0, 0.1, 0.0]) - origin
    torch.testing.assert_close(dirs[:, 0], target / target.norm(dim=-1, keepdim=True), atol=1e-6, rtol=0)


def test_rays_follow_yaw_and_image_axes() -> None:
    c = orbit_cond(torch.tensor([0.0, 0.5]), torch.zeros(2), 2.7)
    origins, dirs = camera_rays(c, 4)
    assert origins[1, 0, 0] > 0 and abs(float(origins[0, 0, 0])) < 1e-6  # positive yaw moves the camera to +x
    grid = dirs[0].reshape(4, 4, 3)
    assert (grid[:, 1:, 0] - grid[:, :-1, 0] > 0).all()  # frontal camera at +z: image right is world +x
    assert (grid[1:, :, 1] - grid[:-1, :, 1] < 0).all()  # image down is world -y
    torch.testing.assert_close(dirs.norm(dim=-1), torch.ones(2, 16))
    # the field of view follows the focal length: fx = 4 spans 1/4 of the unit depth across the image
    span = grid[0, -1] / grid[0, -1, 2] - grid[0, 0] / grid[0, 0, 2]
    assert math.isclose(abs(float(span[0])), 0.75 / 4.2647, rel_tol=1e-4)


def test_triplane_axes() -> None:
    # plane k holds the constant value k + 1 in channel 0 and the column coordinate in channel 1
    res = 8
    col = (torch.arange(res) + 0.5) / res * 2 - 1
    planes = torch.zeros(1, 3, 2, res, res)
    for k in range(3):
        planes[0, k, 0] = k + 1
        planes[0, k, 1] = col.expand(res, res)
    pts = torch.tensor([[[0.1, -0.2, 0.3]]])
    feats = sample_triplane(planes, pts, box_warp=2.0)  # box 2: coordinates pass unscaled
    torch.testing.assert_close(feats[0, :, 0, 0], torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(feats[0, :, 0, 1], torch.tensor([0.1, 0.1, 0.3]))  # (x, y), (x, z), (z, x)
    outside = sample_triplane(planes, torch.tensor([[[5.0, 5.0, 5.0]]]), box_warp=2.0)
    assert outside.abs().max() == 0


def test_depth_sampling_modes() -> None:
    fixed = stratified_depths(2, 3, 1.0, 2.0, 5, jitter=False)
    torch.testing.assert_close(fixed[0, 0, :, 0], torch.linspace(1, 2, 5))
    jit = stratified_depths(2, 3, 1.0, 2.0, 5, jitter=True, generator=torch.Generator().manual_seed(0))
    assert ((jit - fixed >= 0) & (jit - fixed <= 0.25)).all() and not torch.equal(jit, fixed)
    # uniform weights: deterministic inverse-CDF samples are evenly spread over the bins
    u = torch.linspace(0, 1, 5).expand(1, 5)
    torch.testing.assert_close(
        sample_pdf(torch.linspace(0, 4, 5)[None], torch.ones(1, 4), 5, u)[0], torch.linspace(0, 4, 5)
    )
    # a weight peak draws the importance samples next to it
    depths = torch.linspace(1, 2, 11).reshape(1, 1, 11, 1)
    weights = torch.zeros(1, 1, 10, 1)
    weights[0, 0, 6] = 1.0
    fine = importance_depths(depths, weights, 8, jitter=False)
    # quantiles 0 and 1 land on the first and last midpoints; every other one next to the peak
    torch.testing.assert_close(fine[0, 0, [0, -1], 0], torch.tensor([1.05, 1.85]))
    assert ((fine[0, 0, 1:-1] > 1.5) & (fine[0, 0, 1:-1] < 1.8)).all()


def test_marcher_matches_closed_form() -> None:
    depths = torch.linspace(2.0, 3.0, 21).reshape(1, 1, 21, 1)
    colors = torch.full((1, 1, 21, 3), 0.25)
    sigma = torch.full((1, 1, 21, 1), 2.0)
    rgb, depth, weights = march(colors, sigma, depths)
    opacity = 1 - math.exp(-math.log1p(math.e) * 1.0)  # softplus(2 - 1) over a length of 1
    assert math.isclose(float(weights.sum()), opacity, rel_tol=1e-5)
    torch.testing.assert_close(rgb, torch.full((1, 1, 3), 0.25 * opacity * 2 - 1))
    assert 2.0 < float(depth) < 2.5  # the weighted mean depth of an exponential falloff lies in the near half
    white, _, _ = march(colors, sigma, depths, white_back=True)
    torch.testing.assert_close(white, rgb + 2 * (1 - opacity))


def test_deterministic_unless_random() -> None:
    g = tiny()
    z, c = torch.randn(2, 16), g.sample_cond(2, generator=torch.Generator().manual_seed(3))
    ws = g.mapping(z, c)
    a, b = g.synthesis(ws, c).image, g.synthesis(ws, c).image
    assert torch.equal(a, b)
    r1 = g.synthesis(ws, c, noise_mode="random", generator=torch.Generator().manual_seed(1)).image
    r2 = g.synthesis(ws, c, noise_mode="random", generator=torch.Generator().manual_seed(2)).image
    assert not torch.equal(r1, r2)
    noise = g.make_noise(2, generator=torch.Generator().manual_seed(4))
    assert torch.equal(g.synthesis(ws, c, noise=noise).image, g.synthesis(ws, c, noise=noise).image)
    # the camera changes the render
    assert not torch.allclose(g.synthesis(ws, c.flip(0)).image_raw, g.synthesis(ws, c).image_raw)


def test_truncation_and_pose_conditioning() -> None:
    g = tiny()
    z, c = torch.randn(2, 16), g.sample_cond(2, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(g.mapping(z, c, truncation=0.0)[:, 0], g.mapping_net.w_avg.expand(2, -1))
    ws = g.mapping(z, c, truncation=0.5, truncation_cutoff=2)
    torch.testing.assert_close(ws[:, 2:], g.mapping(z, c)[:, 2:])
    g.update_w_avg(torch.zeros(4, 16), beta=0.5)
    unconditioned = tiny(pose_conditioning=False)
    torch.testing.assert_close(unconditioned.mapping(z, c), unconditioned.mapping(z, c.flip(0)))
    with pytest.raises(ConfigError, match=r"\[B, 25\]"):
        g.mapping(z, torch.zeros(2, 16))


def test_gradients_reach_every_part() -> None:
    g = tiny()
    g.train()
    out = g(torch.randn(2, 16), g.sample_cond(2), noise_mode="random")
    (out.image.square().mean() + out.image_raw.mean() + out.depth.mean() * 1e-3).backward()
    for part in (g.mapping_net, g.planes, g.decoder, g.superres):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and sum(float(x.abs().sum()) for x in grads) > 0, type(part).__name__


def test_export_round_trip(tmp_path: Path) -> None:
    g = tiny()
    path = save_model(g, tmp_path / "g.safetensors", provenance={"test": True})
    again = load_model(path, kind="backbones")
    assert isinstance(again, EG3DBackbone) and again.arch_args() == g.arch_args()
    z, c = torch.randn(1, 16), g.default_cond(1)
    torch.testing.assert_close(again(z, c).image, g(z, c).image)
    loaded = EG3DBackbone(**g.arch_args(), checkpoint=str(path))
    torch.testing.assert_close(loaded(z, c).image, g(z, c).image)
    with pytest.raises(ConfigError, match="another architecture"):
        EG3DBackbone(**{**g.arch_args(), "decoder_hidden": 4}, checkpoint=str(path))


def test_discriminator_raw_input_and_camera() -> None:
    torch.manual_seed(0)
    d = seeded(EG3DDualDiscriminator(**EG3DDualDiscriminator.example_args(Path("."))), 2)
    image, c = torch.rand(2, 3, 16, 16) * 2 - 1, orbit_cond(torch.tensor([0.0, 0.4]), torch.zeros(2), 2.7)
    raw = torch.rand(2, 3, 8, 8) * 2 - 1
    assert d(image, c, raw).shape == (2, 1)
    assert not torch.allclose(d(image, c, raw), d(image, c.flip(0), raw))
    assert not torch.allclose(d(image, c, raw), d(image, c))  # without a raw render the image itself is used
    assert [f.shape[-1] for f in d.block_features(image, 2)] == [8, 4]
    with pytest.raises(ConfigError, match="camera-conditioned"):
        d(image)


def test_converter_refuses_untrusted_pickle(tmp_path: Path) -> None:
    path = tmp_path / "network.pkl"
    path.write_bytes(pickle.dumps({"not_a_network": 1}))
    with pytest.raises(ConfigError, match="trust_pickle=True"):
        convert_eg3d_pickle(path, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    with pytest.raises(ConfigError, match="not a checkout of NVlabs/eg3d"):
        convert_eg3d_pickle(path, tmp_path / "out.safetensors", trust_pickle=True, eg3d_repo=tmp_path)
    with pytest.raises(CheckpointError, match="holds no network 'G_ema'"):
        convert_eg3d_pickle(path, tmp_path / "out.safetensors", trust_pickle=True)


def test_convert_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from toonlift.cli import main

    path = tmp_path / "network.pkl"
    path.write_bytes(pickle.dumps({"G_ema": None}))
    assert main(["convert-eg3d", "--pickle", str(path), "--output", str(tmp_path / "g.safetensors")]) == 2
    assert "--trust_pickle true" in capsys.readouterr().err
    assert main(["convert-eg3d", "--pickle", str(path), "--output", str(tmp_path / "g.pt")]) == 2
    assert "must end in .safetensors" in capsys.readouterr().err


def test_sefa_directions_of_the_triplane_generator() -> None:
    """``StyleModulation``: SeFa factorises the tri-plane generator's style affines (for the SVM-vs-SeFa comparison
    of attribute directions in the 3D generator); the super-resolution's affines are not among them."""
    from toonlift.plugins.backbones.capabilities import StyleModulation
    from toonlift.stages.offsets.directions import sefa_directions

    g = tiny()
    assert has(g, StyleModulation)
    weights = g.modulation_weights()
    planes = {k: v for k, v in g.state_dict().items() if k.startswith("planes.") and "modulation.weight" in k}
    expected = [v for k, v in planes.items() if "to_rgbs" not in k]  # rosinality: conv1, to_rgb1, every conv
    assert len(weights) == len(expected) and all(torch.equal(a, b) for a, b in zip(weights, expected, strict=True))
    assert len(g.modulation_weights(convention="genforce")) == g.num_ws
    d = sefa_directions(g)
    assert d.shape == (g.w_dim, g.w_dim)
    torch.testing.assert_close(d.t() @ d, torch.eye(g.w_dim), atol=1e-4, rtol=0)
    a = torch.cat(expected)  # SeFa's strongest direction maximises |A n|
    assert (a @ d[:, 0]).norm() >= (a @ d[:, -1]).norm()
    with pytest.raises(ConfigError, match="genforce"):
        g.modulation_weights(layers=[0], convention="rosinality")
