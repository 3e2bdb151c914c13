"""Loading rosinality checkpoints and toonlift exports: strict round trips and clear errors for bad files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
import torch

from toonlift.errors import CheckpointError, WeightsNotFoundError
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, load_generator, load_rosinality_checkpoint
from toonlift.plugins.stylegan2.checkpoint import (
    generator_from_checkpoint,
    load_discriminator,
    save_discriminator,
    save_generator,
)
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator

ARCH = {"size": 16, "style_dim": 16, "n_mlp": 2, "channel_max": 16}


def _rosinality_checkpoint(path: Path, with_latent_avg: bool = False) -> tuple[Path, dict]:
    """What rosinality's train.py writes (random weights), including the argparse Namespace."""
    torch.manual_seed(0)
    g, g_ema = StyleGAN2Backbone(**ARCH), StyleGAN2Backbone(**ARCH)
    d = StyleGAN2Discriminator(16, channel_max=16)
    ckpt = {
        "g": g.state_dict(),
        "d": d.state_dict(),
        "g_ema": g_ema.state_dict(),
        "g_optim": torch.optim.Adam(g.parameters()).state_dict(),
        "d_optim": torch.optim.Adam(d.parameters()).state_dict(),
        "args": argparse.Namespace(size=16, channel_multiplier=2, latent=16, n_mlp=2, r1=10.0, lr=0.002),
        "ada_aug_p": 0.0,
    }
    if with_latent_avg:
        ckpt["latent_avg"] = torch.randn(16)
    torch.save(ckpt, path)
    return path, ckpt


def _images(g: StyleGAN2Backbone) -> torch.Tensor:
    with torch.no_grad():
        return g.synthesis(torch.ones(2, g.num_ws, g.w_dim)).image


def test_rosinality_checkpoint_loads_strictly(tmp_path: Path) -> None:
    path, ckpt = _rosinality_checkpoint(tmp_path / "550000.pt", with_latent_avg=True)
    loaded = load_rosinality_checkpoint(path)
    assert isinstance(loaded["args"], argparse.Namespace) and loaded["args"].size == 16
    g = StyleGAN2Backbone(**ARCH, checkpoint=str(path))
    for k, v in ckpt["g_ema"].items():
        torch.testing.assert_close(g.state_dict()[k], v, rtol=0, atol=0)
    assert g.has_latent_avg
    torch.testing.assert_close(g.latent_avg, ckpt["latent_avg"])
    g_raw = StyleGAN2Backbone(**ARCH, checkpoint=str(path), checkpoint_key="g")
    torch.testing.assert_close(g_raw.state_dict()["style.1.weight"], ckpt["g"]["style.1.weight"])
    d = StyleGAN2Discriminator(16, channel_max=16, checkpoint=str(path))
    torch.testing.assert_close(d.state_dict()["final_linear.1.weight"], ckpt["d"]["final_linear.1.weight"])
    inferred = generator_from_checkpoint(path)
    assert inferred.arch_args() == g.arch_args()


def test_safetensors_export_round_trip_needs_no_other_information(tmp_path: Path) -> None:
    path, _ = _rosinality_checkpoint(tmp_path / "ckpt.pt", with_latent_avg=True)
    g = StyleGAN2Backbone(**ARCH, checkpoint=str(path))
    out = save_generator(g, tmp_path / "export" / "g.safetensors")
    assert out.with_suffix(".json").is_file()
    back = load_generator(out)
    assert back.arch_args() == g.arch_args() and back.has_latent_avg
    torch.testing.assert_close(_images(back), _images(g), rtol=0, atol=0)
    d = StyleGAN2Discriminator(16, channel_max=16)
    d_back = load_discriminator(save_discriminator(d, tmp_path / "d.safetensors"))
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(d_back(x), d(x), rtol=0, atol=0)


def test_size_and_width_mismatch_are_explained(tmp_path: Path) -> None:
    path, _ = _rosinality_checkpoint(tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointError) as err:
        StyleGAN2Backbone(32, style_dim=16, n_mlp=2, channel_max=16, checkpoint=str(path))
    msg = str(err.value)
    assert "missing key(s)" in msg and "convs.4.conv.weight" in msg and "size=16" in msg
    with pytest.raises(CheckpointError) as err:
        StyleGAN2Backbone(16, style_dim=16, n_mlp=2, channel_max=8, checkpoint=str(path))
    assert "shape mismatch" in str(err.value) and "conv1.conv.weight" in str(err.value)
    with pytest.raises(CheckpointError, match="no 'g_ema' entry|has no 'nope'"):
        StyleGAN2Backbone(**ARCH, checkpoint=str(path), checkpoint_key="nope")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_hostile_garbage_truncated_and_missing_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = tmp_path / "hostile.pt"
    torch.save({"g_ema": _Exploit()}, hostile)
    with pytest.raises(CheckpointError, match=r"safe load refuses \(posix.system\)"):
        StyleGAN2Backbone(**ARCH, checkpoint=str(hostile))
    assert not (tmp_path / "pwned.txt").exists()

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"GIF89a" + os.urandom(2048))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_rosinality_checkpoint(garbage)

    path, _ = _rosinality_checkpoint(tmp_path / "full.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        StyleGAN2Backbone(**ARCH, checkpoint=str(truncated))

    other = tmp_path / "other.pt"
    torch.save({"model": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a rosinality StyleGAN2 checkpoint"):
        load_rosinality_checkpoint(other)

    with pytest.raises(WeightsNotFoundError, match="rosinality"):
        StyleGAN2Backbone(**ARCH, checkpoint=str(tmp_path / "absent.pt"))

    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"not safetensors at all")
    with pytest.raises(CheckpointError):
        load_generator(bad_st)


def test_nan_weights_are_rejected(tmp_path: Path) -> None:
    g = StyleGAN2Backbone(**ARCH)
    state = g.state_dict()
    state["conv1.conv.weight"][0, 0, 0, 0, 0] = float("nan")
    torch.save({"g_ema": state}, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="NaN"):
        StyleGAN2Backbone(**ARCH, checkpoint=str(tmp_path / "nan.pt"))


def test_channel_base_widths_round_trip_and_are_inferred_from_a_bare_state_dict(tmp_path: Path) -> None:
    from toonlift.plugins.stylegan2.checkpoint import infer_generator_args
    from toonlift.plugins.stylegan2.generator import stylegan2_channels

    # rosinality's table is the channel_base = 16384 * cm rule; an explicit base narrows only the large blocks
    for cm in (1, 2, 4):
        assert stylegan2_channels(256, cm) == stylegan2_channels(256, 1, 512, 16384 * cm)
    assert stylegan2_channels(64, 1, 128, 2048) == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32}
    g = StyleGAN2Backbone(size=32, style_dim=16, n_mlp=2, channel_max=32, channel_base=256)
    assert g.channels == {4: 32, 8: 32, 16: 16, 32: 8}
    back = load_generator(save_generator(g, tmp_path / "g.safetensors"))
    assert back.arch_args() == g.arch_args() and back.arch_args()["channel_base"] == 256
    torch.testing.assert_close(_images(back), _images(g), rtol=0, atol=0)
    inferred = infer_generator_args(dict(g.state_dict()))
    assert StyleGAN2Backbone(**inferred).channels == g.channels
    d = StyleGAN2Discriminator(32, channel_max=32, channel_base=256)
    d_back = load_discriminator(save_discriminator(d, tmp_path / "d.safetensors"))
    assert d_back.arch_args() == d.arch_args()
    with pytest.raises(Exception, match="positive integers"):
        StyleGAN2Backbone(size=32, channel_base=0)
