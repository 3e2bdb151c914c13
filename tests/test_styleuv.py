"""StyleFaceUV (seed 003): ridge/R², UV maps and texel visibility, the UV renderer, the small parts, the module's
training step and the ``toonlift styleuv`` command on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from toonlift.errors import ConfigError
from toonlift.functional.ridge import fit_ridge, r2_score
from toonlift.functional.uv_maps import sample_per_vertex
from toonlift.plugins.head_rig.backbone import HeadRigBackbone
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.head_rig.prior import sample_latent
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP, RidgeCoeff, fit_coeff_mlp, masked_l1
from toonlift.stages.styleuv.parts import load_parts
from toonlift.stages.styleuv.tiny import write_tiny_models
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.stages.styleuv.yaw import YawStepMLP, fit_yaw_mlp, steps_for_yaw


@pytest.fixture(scope="module")
def renderer() -> UVRigRenderer:
    return UVRigRenderer(image_size=48, uv_size=64, detail="low")


def test_ridge_recovers_a_linear_map_in_both_forms() -> None:
    g = torch.Generator().manual_seed(0)
    w_true, b_true = torch.randn(6, 3, generator=g), torch.randn(3, generator=g)
    for n in (40, 4):  # primal (N >= D) and dual (N < D) forms
        x = torch.randn(n, 6, generator=g).double()
        y = x @ w_true.double() + b_true.double()
        w, b = fit_ridge(x, y, lam=1e-9)
        assert torch.allclose(x @ w + b, y, atol=1e-6)
    x = torch.randn(40, 6, generator=g)
    w, b = fit_ridge(x, x @ w_true + b_true, lam=1e-6)
    assert torch.allclose(w, w_true, atol=1e-3) and torch.allclose(b, b_true, atol=1e-3)
    with pytest.raises(ConfigError, match="lam"):
        fit_ridge(x, x, lam=0.0)


def test_r2_is_one_for_truth_and_zero_for_the_mean() -> None:
    y = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    assert float(r2_score(y, y)) == pytest.approx(1.0)
    assert float(r2_score(y.mean(0).expand_as(y), y)) == pytest.approx(0.0, abs=1e-6)


def test_uv_bake_and_lookup_round_trip(renderer: UVRigRenderer) -> None:
    uv = renderer.rig.uv
    values = (uv[:, :1] * 2 - 1) + 0.5 * uv[:, 1:]  # a smooth (linear) field of u and v
    maps, covered = renderer.bake_vertex_attributes(values[None])
    assert covered.mean() > 0.95
    back = sample_per_vertex(maps, uv)[0]
    inner = (uv[:, 0] > 0.1) & (uv[:, 0] < 0.9) & (uv[:, 1] > 0.1) & (uv[:, 1] < 0.9)
    assert (back - values)[inner].abs().median() < 0.01


def test_true_diffuse_render_matches_the_rig(renderer: UVRigRenderer) -> None:
    lat = sample_latent(9000, range(3))
    out = renderer(lat, renderer.true_diffuse(lat), torch.zeros(3, 1, 64, 64))
    ref = HeadRigBackbone(48, "low", cull_backfaces=False).synthesis(lat[:, None])
    m = out.mask
    assert torch.equal(m, ref.mask)
    assert float(((out.depth - ref.depth).abs() * m).max()) < 1e-5  # zero displacement keeps the geometry
    assert float(((out.image - ref.image).abs() * m).sum() / m.sum() / 3) < 0.06  # texture vs vertex colours


def test_texel_visibility_follows_the_yaw(renderer: UVRigRenderer) -> None:
    lat = sample_latent(9000, range(1)).repeat(2, 1)
    lat[:, SLICES["pose"]] = 0
    lat[0, SLICES["pose"].start], lat[1, SLICES["pose"].start] = -40.0, 40.0
    out = renderer(lat, renderer.true_diffuse(lat), None)
    cols = torch.arange(64).float()
    centre = [(float((t[0].sum(0) * cols).sum() / t[0].sum())) for t in out.texels]
    assert 0.1 < float(out.texels.mean()) < 0.5
    assert abs(centre[0] - centre[1]) > 6  # the seen region moves across the map with the yaw
    back = out.texels[:, :, :, :4].sum() + out.texels[:, :, :, -4:].sum()  # columns by the seam at the back
    assert float(back) < 0.01 * float(out.texels.sum())


def test_coeff_mlp_learns_and_ridge_fits() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(96, 2, 8, generator=g)
    latent = torch.randn(96, 53, generator=g) * 0.1 + (w.reshape(96, -1) @ torch.randn(16, 53, generator=g)) * 0.5
    latent[:, 50:53] = 0.0  # the rig's pose shift and log-scale never vary in the world
    mlp = CoeffMLP(2, 8, unit=8)
    log = fit_coeff_mlp(mlp, w, latent, steps=300, batch=16, lr_start=3e-3, lr_end=3e-4)
    assert log.losses[-1] < 0.6 * log.losses[0]
    assert mlp(w).shape == (96, 53)
    assert torch.equal(mlp(torch.randn(5, 2, 8))[:, 50:53], torch.zeros(5, 3))  # constants come out exactly
    ridge = RidgeCoeff().fit(w, latent)
    assert float(r2_score(ridge(w), latent)) > 0.9
    target = torch.tensor([[1.0, float("nan")]])
    assert float(masked_l1(torch.tensor([[0.0, 5.0]]), target)) == pytest.approx(1.0)


def test_steps_for_yaw_inverts_a_monotone_walk() -> None:
    steps = torch.linspace(-2, 2, 9)
    curve = torch.stack([20 * steps + 3, 10 * steps])  # yaw = 20 s + 3, yaw = 10 s
    s = steps_for_yaw(curve, steps, torch.tensor([0.0, 30.0]))
    assert s[0, 0] == pytest.approx(-0.15) and s[0, 1] == pytest.approx(1.35)
    assert s[1, 0] == pytest.approx(0.0) and torch.isnan(s[1, 1])  # 30 lies outside the second walk
    model = YawStepMLP(4, hidden=32)
    w = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    asked = torch.linspace(-40, 40, 64)
    fit_yaw_mlp(model, w, asked, asked / 20, iters=400)
    assert float((model(w, asked) - asked / 20).abs().mean()) < 0.2


def test_module_trains_one_iteration_and_exports(tmp_path: Path) -> None:
    from toonlift.datamodules.steps import StepsDataModule
    from toonlift.stages.styleuv.module import StyleUVModule
    from toonlift.stages.styleuv.uv_generator import load_uv_generator

    args = StyleUVModule.example_args(tmp_path)
    module = StyleUVModule(**{**args, "max_iterations": 2, "d_every": 1, "r1_interval": 1})
    before = {k: v.clone() for k, v in module.uv_generator.state_dict().items()}
    trainer = pl.Trainer(accelerator="cpu", max_epochs=-1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0)  # fmt: skip
    trainer.fit(module, StepsDataModule())
    assert module.iteration == 2 and module.d_steps == 2
    changed = [k for k, v in module.uv_generator.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("uv_head") for k in changed) and any(k.startswith("synthesis_net") for k in changed)
    model, meta = load_uv_generator(args["export_path"])
    assert meta["iteration"] == 2
    w = module.generator.mapping(torch.randn(2, module.generator.z_dim))
    diffuse, disp = model(w)
    assert diffuse.shape == (2, 3, 16, 16) and disp.shape == (2, 1, 16, 16) and disp.abs().max() <= 1


def test_untrained_uv_generator_starts_from_the_generator(tmp_path: Path) -> None:
    from toonlift.stages.styleuv.uv_generator import UVGenerator

    paths = write_tiny_models(tmp_path)
    from toonlift.plugins.export import load_model

    g = load_model(paths["generator_path"], kind="backbones")
    w = g.mapping(torch.randn(2, g.z_dim))
    diffuse, disp = UVGenerator(g)(w)
    assert torch.allclose(diffuse, g.synthesis(w, noise_mode="const").image, atol=1e-6)
    assert float(disp.abs().max()) == 0.0


def test_styleuv_command_writes_mesh_and_renders(tmp_path: Path) -> None:
    from toonlift.cli import main
    from toonlift.plugins.export import load_model
    from toonlift.stages.styleuv.uv_generator import UVGenerator, save_uv_generator

    paths = write_tiny_models(tmp_path)
    uv = save_uv_generator(tmp_path / "uv.safetensors", UVGenerator(load_model(paths["generator_path"])))
    out = tmp_path / "out"
    argv = ["styleuv", "--seed", "3", "--out", str(out), "--generator", paths["generator_path"], "--parts",
            paths["parts_path"], "--uv-generator", str(uv), "--size", "32"]  # fmt: skip
    assert main(argv) == 0
    for name in ("face.obj", "face.glb", "views.png", "edits.png", "styleuv.png", "diffuse.png", "styleuv.json"):
        assert (out / name).is_file(), name
    info = json.loads((out / "styleuv.json").read_text())
    assert len(info["coefficients"]["identity"]) == 17 and info["yaws"][0] == -60.0
    import trimesh

    mesh = trimesh.load(out / "face.glb", force="mesh")
    assert len(mesh.faces) > 10000 and mesh.visual.uv is not None
    assert load_parts(paths["parts_path"]).yaw_normal.norm() == pytest.approx(1.0, abs=1e-5)


def test_uv_scores_are_zero_for_the_truth(renderer: UVRigRenderer) -> None:
    from toonlift.stages.styleuv.evaluate_uv import depth_errors, diffuse_errors
    from toonlift.stages.vlda.synthetic_truth import render_samples

    lat = sample_latent(9000, range(2))
    e = diffuse_errors(renderer, lat, renderer.true_diffuse(lat))
    assert float(e["visible"].max()) < 1e-5 and float(e["hidden"].max()) < 1e-5
    assert float(e["hidden_texels"].min()) > 20  # the faces are turned: part of the front is hidden
    darker = (renderer.true_diffuse(lat) + 1) * 0.5 - 1  # half the reflectance: the fitted gain takes it out
    e = diffuse_errors(renderer, lat, darker)
    assert float(e["visible"].max()) < 1e-4 and float(e["hidden"].max()) < 1e-4 < 0.05 < float(e["visible_raw"].min())
    truth = render_samples(9000, [0, 1], "photo", 48, mask_region="face")
    d = depth_errors(renderer, lat, torch.zeros(2, 1, 64, 64), truth["depth"], truth["mask"])
    assert float(d["rig"]["side"].max()) < 1e-4 and float(d["rig+displacement"]["side"].max()) < 1e-4
    assert float(d["flat plane"]["side"].min()) > 10 * float(d["rig"]["side"].max())
