"""The small generators shipped inside the package: the demo's stand-ins for an FFHQ model and its cartoon twin.

* ``photo``: a StyleGAN2 trained from scratch on the synthetic *photo* domain (``configs/synthetic_photo_gan.yaml``);
* ``cartoon``: Stage 1 fine-tuned from it on the synthetic *cartoon* domain (``configs/synthetic_cartoon_gan.yaml``);
* ``eg3d``: EG3D-lite, the 3D-aware tri-plane generator trained on the synthetic *photo* domain with each image's
  exact camera (``configs/eg3d_lite.yaml``; generator only).

Each has its generator (EMA) and discriminator as safetensors + JSON sidecar under ``toonlift/assets/``.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from toonlift.utils.io import require_file

ASSET_DIR = Path(__file__).resolve().parent.parent / "assets"
SHIPPED = {
    ("photo", "generator"): "synthetic_photo_g.safetensors",
    ("photo", "discriminator"): "synthetic_photo_d.safetensors",
    ("cartoon", "generator"): "synthetic_cartoon_g.safetensors",
    ("cartoon", "discriminator"): "synthetic_cartoon_d.safetensors",
    ("eg3d", "generator"): "synthetic_eg3d_lite_g.safetensors",
}
_HOW = {
    "photo": "python cli.py fit --config configs/synthetic_photo_gan.yaml",
    "cartoon": "python cli.py fit --config configs/synthetic_cartoon_gan.yaml",
    "eg3d": "python cli.py fit --config configs/eg3d_lite.yaml",
}


def shipped_path(domain: str, part: str = "generator") -> Path:
    """Path of a shipped model file (``domain`` in photo/cartoon/eg3d, ``part`` in generator/discriminator)."""
    if (domain, part) not in SHIPPED:
        from toonlift.errors import ConfigError

        have = ", ".join(f"{d}/{p}" for d, p in SHIPPED)
        raise ConfigError(f"No shipped {domain} {part}; toonlift ships {have}.")
    name = SHIPPED[(domain, part)]
    how = (
        f"It ships with toonlift (toonlift/assets/{name}); reinstall the package, or retrain it with `{_HOW[domain]}` "
        f"and copy the exported file there."
    )
    return require_file(ASSET_DIR / name, f"The shipped {domain} {part}", how)


def load_shipped(domain: str, part: str = "generator") -> nn.Module:
    """The shipped generator or discriminator of ``domain``, in eval mode (through the one export/load path)."""
    from toonlift.plugins.export import load_model

    return load_model(shipped_path(domain, part), kind="backbones" if part == "generator" else "discriminators")
