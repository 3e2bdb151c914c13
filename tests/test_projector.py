"""Inversion (projector) and the blend / project CLI commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.cli import main
from toonlift.functional.lr_schedule import get_lr
from toonlift.plugins.losses.lpips import LPIPSLoss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, load_generator, save_generator
from toonlift.plugins.stylegan2.projector import noise_regularization, project
from toonlift.utils.io import load_safetensors

ARCH = {"size": 32, "style_dim": 16, "n_mlp": 2, "channel_max": 16}


def test_reference_lr_schedule() -> None:
    lrs = [round(get_lr(i / 10, 0.1), 4) for i in range(10)]
    assert lrs == [0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0905, 0.0345]


def test_noise_regularization_is_zero_for_checkerboard_free_white_noise_and_large_for_smooth() -> None:
    g = torch.Generator().manual_seed(0)
    white = [torch.randn(1, 1, 64, 64, generator=g)]
    smooth = [torch.ones(1, 1, 64, 64)]
    assert noise_regularization(white) < 1e-2 < noise_regularization(smooth)


def test_projection_lowers_lpips_on_a_generated_image() -> None:
    torch.manual_seed(0)
    G = StyleGAN2Backbone(**ARCH).eval()
    with torch.no_grad():
        target = G.synthesis(G.mapping(torch.randn(1, 16)), noise_mode="random").image.clamp(-1, 1)
    lpips = LPIPSLoss(net="alex", allow_random_backbone=True)
    result = project(G, target, lpips, steps=25, n_mean_latent=256, generator=torch.Generator().manual_seed(0))
    first = result.history[0]["lpips"]
    final = lpips.distance(result.image, target).item()
    assert final < 0.7 * first
    assert result.latent.shape == (1, 16) and result.ws.shape == (1, G.num_ws, 16)
    assert len(result.noises) == G.num_layers and not any(p.requires_grad for p in G.parameters())
    w_plus = project(G, target, lpips, steps=2, w_plus=True, n_mean_latent=64)
    assert w_plus.latent.shape == (1, G.num_ws, 16)


def test_cli_blend_and_project(tmp_path: Path, capsys) -> None:
    torch.manual_seed(0)
    low, high = StyleGAN2Backbone(**ARCH), StyleGAN2Backbone(**ARCH)
    torch.save({"g_ema": low.state_dict()}, tmp_path / "low.pt")
    save_generator(high, tmp_path / "high.safetensors")
    out = tmp_path / "blend.safetensors"
    argv = ["blend", "--low", str(tmp_path / "low.pt"), "--high", str(tmp_path / "high.safetensors")]
    assert main([*argv, "--output", str(out), "--resolution", "8"]) == 0
    blended = load_generator(out)
    torch.testing.assert_close(blended.state_dict()["convs.1.conv.weight"], low.state_dict()["convs.1.conv.weight"])
    torch.testing.assert_close(blended.state_dict()["convs.2.conv.weight"], high.state_dict()["convs.2.conv.weight"])
    assert main([*argv, "--output", str(tmp_path / "x.safetensors"), "--resolution", "7"]) == 2
    assert "power of two" in capsys.readouterr().err

    img = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "face.png")
    args = ["project", "--checkpoint", str(out), "--image", str(tmp_path / "face.png")]
    args += ["--output_dir", str(tmp_path / "proj"), "--steps", "2", "--allow_random_lpips", "true"]
    assert main(args) == 0
    tensors, meta = load_safetensors(tmp_path / "proj" / "face_latent.safetensors")
    assert tensors["ws"].shape == (blended.num_ws, 16) and meta["steps"] == 2
    with Image.open(tmp_path / "proj" / "face_projection.png") as im:
        assert im.size == (64, 32)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert main([*args[:4], str(tmp_path / "bad.png"), *args[5:]]) == 2
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["blend", "project"])
def test_cli_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "--output" in capsys.readouterr().out
