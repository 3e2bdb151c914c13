"""Linear attribute boundaries: the SVM math on planted directions, and a yaw boundary on the shipped generator."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.boundaries import (
    edit_latents,
    extreme_labels,
    fit_linear_svm,
    project_out,
    train_boundary,
)


def _planted(n: int = 2000, d: int = 32, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(d, generator=gen)
    direction = direction / direction.norm()
    x = torch.randn(n, d, generator=gen) * 2 + 0.5  # an offset mean: the bias must absorb it
    scores = x @ direction + noise * torch.randn(n, generator=gen)
    return x, scores, direction


def test_recovers_planted_direction() -> None:
    x, scores, direction = _planted()
    fit = train_boundary(x, scores, fraction=0.1, generator=torch.Generator().manual_seed(1))
    assert float(fit.normal @ direction) > 0.95  # points towards high scores, not only parallel
    assert abs(float(fit.normal.norm()) - 1.0) < 1e-5
    assert fit.val_accuracy > 0.95 and fit.num_val > 0


def test_random_scores_give_chance_accuracy() -> None:
    # no linear structure: held-out accuracy must not look like a boundary (guards against leaking the labels)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2000, 64, generator=gen)
    fit = train_boundary(x, torch.randn(2000, generator=gen), fraction=0.1, generator=gen)
    assert fit.val_accuracy < 0.75


def test_svm_separates_margin_data() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=gen) * 0.3
    y = torch.where(torch.arange(200) < 100, 1.0, -1.0)
    x[:, 0] += 2 * y  # classes separated along the first axis
    w, b = fit_linear_svm(x, y)
    assert bool(((x.double() @ w + b).sign() == y.double()).all())
    assert float(w[0].abs() / w.norm()) > 0.95


def test_extreme_labels_and_errors() -> None:
    pos, neg = extreme_labels(torch.arange(10.0), 0.2)
    assert sorted(pos.tolist()) == [8, 9] and sorted(neg.tolist()) == [0, 1]
    with pytest.raises(ConfigError, match="fraction"):
        extreme_labels(torch.arange(10.0), 0.7)
    with pytest.raises(ConfigError, match="fewer than 2"):
        train_boundary(torch.randn(10, 3), torch.randn(10), fraction=0.05)


def test_project_out_is_orthogonal_and_keeps_the_rest() -> None:
    gen = torch.Generator().manual_seed(0)
    a, c1, c2 = (torch.randn(16, generator=gen) for _ in range(3))
    n = project_out(a, c1, c2)
    assert abs(float(n @ c1)) < 1e-5 and abs(float(n @ c2)) < 1e-5
    assert abs(float(n.norm()) - 1) < 1e-6
    assert float(n @ a) > 0  # still the same attribute's side
    with pytest.raises(ConfigError, match="span"):
        project_out(c1 + c2, c1, c2)


def test_edit_latents_shapes() -> None:
    w = torch.zeros(2, 10, 8)
    n = torch.zeros(8)
    n[3] = 1
    out = edit_latents(w, n, torch.tensor([-1.0, 0.0, 2.0]))
    assert out.shape == (3, 2, 10, 8)
    assert torch.equal(out[2, :, :, 3], torch.full((2, 10), 2.0))


def test_yaw_boundary_on_shipped_generator_moves_yaw_monotonically(tmp_path) -> None:
    from toonlift.demo.assets import load_shipped
    from toonlift.stages.boundaries import fit_backbone_boundary, load_boundary
    from toonlift.stages.offsets.evaluation import analyser_readout

    g = load_shipped("photo")
    net, read, names = analyser_readout()
    net.eval()
    out = tmp_path / "yaw.safetensors"
    fit = fit_backbone_boundary(g, read, names, "yaw", num=160, fraction=0.25, seed=0, batch=80, out=out)
    assert fit.val_accuracy >= 0.8
    stored = load_boundary(out)
    assert stored.name == "yaw" and torch.equal(stored.normal, fit.normal)
    # edit 8 fresh latents (seed 7) along the normal: the mean read-out yaw rises with the distance
    with torch.no_grad():
        w = g.mapping(g.sample_z(8, generator=torch.Generator().manual_seed(7)))
        dist = torch.tensor([-3.0, -1.5, 0.0, 1.5, 3.0])
        edited = edit_latents(w, fit.normal, dist)
        yaw = torch.stack([read(g.synthesis(e).image)[:, names.index("yaw")].mean() for e in edited])
    assert bool((yaw[1:] > yaw[:-1]).all()), yaw
    assert float(yaw[-1] - yaw[0]) > 5.0  # degrees over the sweep


def test_camera_conditioned_backbone_and_conditional_boundary() -> None:
    # any backbone: a tiny EG3D (CameraConditioned) is sampled with its canonical camera and, on request, sampled
    # cameras; the read-out is a fixed linear function of the image so that the test needs no trained model
    from toonlift.plugins.eg3d.backbone import EG3DBackbone
    from toonlift.stages.boundaries import fit_backbone_boundary, sample_and_read

    torch.manual_seed(0)
    g = EG3DBackbone(**EG3DBackbone.example_args(None)).eval()
    probe = torch.randn(3 * g.resolution * g.resolution, generator=torch.Generator().manual_seed(0))

    def read(images: torch.Tensor) -> torch.Tensor:
        flat = images.flatten(1)
        return torch.stack([flat @ probe, flat.mean(1)], dim=1)

    ws, scores = sample_and_read(g, read, 24, batch=12)
    assert ws.shape == (24, g.w_dim) and scores.shape == (24, 2)
    _, moved = sample_and_read(g, read, 24, batch=12, sampled_cameras=True)
    assert not torch.allclose(moved, scores)  # the cameras reached the renderer
    other = torch.randn(g.w_dim)
    other = other / other.norm()
    fit = fit_backbone_boundary(g, read, ["probe", "mean"], "probe", num=24, fraction=0.25, conditions={"x": other})
    assert abs(float(fit.normal @ other)) < 1e-5
    with pytest.raises(ConfigError, match="not a read-out dimension"):
        fit_backbone_boundary(g, read, ["probe", "mean"], "smile", num=8)


def test_fit_boundary_command(tmp_path, capsys) -> None:
    from toonlift.cli import main
    from toonlift.demo.assets import shipped_path
    from toonlift.stages.boundaries import load_boundary

    g = str(shipped_path("photo", "generator"))
    yaw, pitch = tmp_path / "yaw.safetensors", tmp_path / "pitch.safetensors"
    common = ["--generator", g, "--num", "48", "--fraction", "0.25", "--batch", "48"]
    assert main(["fit-boundary", *common, "--target", "yaw", "--output", str(yaw)]) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    args = ["--target", "pitch", "--output", str(pitch), "--condition_on", f"[{yaw}]"]
    assert main(["fit-boundary", *common, *args]) == 0
    b_yaw, b_pitch = load_boundary(yaw), load_boundary(pitch)
    assert b_pitch.meta["conditioned_on"] == ["yaw"] and abs(float(b_pitch.normal @ b_yaw.normal)) < 1e-5
    assert main(["fit-boundary", *common, "--target", "yaw", "--output", str(tmp_path / "b.pt")]) == 2
