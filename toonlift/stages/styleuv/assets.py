"""Where StyleFaceUV finds the shipped 64-px photo generator and discriminator (the package's own assets)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from toonlift.utils.io import require_file

ASSET_DIR = Path(__file__).resolve().parents[2] / "assets"
_HOW = "It ships with toonlift (toonlift/assets/); reinstall the package or pass the path of your own export."


def model_path(path: str | Path | None, part: str = "g") -> Path:
    """``path``, or the shipped ``synthetic_photo_{part}.safetensors`` when ``path`` is ``None``."""
    p = Path(path) if path is not None else ASSET_DIR / f"synthetic_photo_{part}.safetensors"
    return require_file(p, f"the StyleGAN2 {'generator' if part == 'g' else 'discriminator'}", _HOW)


def load_photo_generator(path: str | Path | None = None) -> nn.Module:
    """A StyleGAN2 generator export (default: the shipped photo generator), frozen, in eval mode."""
    from toonlift.plugins.export import load_model

    return load_model(model_path(path, "g"), kind="backbones").eval().requires_grad_(False)


def load_photo_discriminator(path: str | Path | None = None) -> nn.Module:
    """A StyleGAN2 discriminator export (default: the shipped photo discriminator)."""
    from toonlift.plugins.export import load_model

    return load_model(model_path(path, "d"), kind="discriminators")


__all__ = ["ASSET_DIR", "load_photo_discriminator", "load_photo_generator", "model_path"]
