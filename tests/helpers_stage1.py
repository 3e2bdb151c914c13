"""Shared helpers of the Stage-1 tests: generated image folders of every pixel format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def smooth_rgb(seed: int, size: int = 40, height: int | None = None) -> np.ndarray:
    """A smooth random colour image ``[H, W, 3]`` uint8 (blobs, so resizing is meaningful)."""
    rng = np.random.default_rng(seed)
    h = height or size
    yy, xx = np.mgrid[0:h, 0:size] / max(h, size)
    img = np.zeros((h, size, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6.28)
        img[..., c] = 0.5 + 0.5 * np.sin(fx * 6.28 * xx + ph) * np.cos(fy * 6.28 * yy)
    return (img * 255).round().astype(np.uint8)


def write_image_folder(root: Path, n: int = 8, size: int = 40, nested: bool = True) -> Path:
    """``n`` PNG/JPEG images (in a sub-folder when ``nested``) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / "sub" if nested and i % 2 else root
        folder.mkdir(exist_ok=True)
        ext = "jpg" if i % 3 == 2 else "png"
        Image.fromarray(smooth_rgb(i, size)).save(folder / f"img{i:03d}.{ext}")
    return root


def tiny_arch() -> dict:
    """A 16 px StyleGAN2 small enough for CPU tests (structure loss over block_8 and block_16 still applies)."""
    return {"size": 16, "style_dim": 32, "n_mlp": 2, "channel_multiplier": 1, "channel_max": 16}


def write_rosinality_checkpoint(path: Path, seed: int = 0) -> Path:
    """A real-layout rosinality ``train.py`` checkpoint (g, d, g_ema, g_optim, d_optim, args, ada_aug_p), tiny."""
    import argparse

    import torch

    from toonlift.plugins.stylegan2 import StyleGAN2Backbone
    from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator

    arch = tiny_arch()
    torch.manual_seed(seed)
    g = StyleGAN2Backbone(**arch)
    g_ema = StyleGAN2Backbone(**arch)
    g_ema.load_state_dict(g.state_dict())
    d = StyleGAN2Discriminator(arch["size"], arch["channel_multiplier"], arch["channel_max"])
    g_optim = torch.optim.Adam(g.parameters(), lr=0.002, betas=(0.0, 0.99))
    d_optim = torch.optim.Adam(d.parameters(), lr=0.002, betas=(0.0, 0.99))
    args = argparse.Namespace(size=arch["size"], channel_multiplier=arch["channel_multiplier"], latent=32, n_mlp=2)
    ckpt = {
        "g": g.state_dict(),
        "d": d.state_dict(),
        "g_ema": g_ema.state_dict(),
        "g_optim": g_optim.state_dict(),
        "d_optim": d_optim.state_dict(),
        "args": args,
        "ada_aug_p": 0.0,
    }
    torch.save(ckpt, path)
    return path


def write_tiny_config(path: Path, data: Path, root: Path, checkpoint: Path | None = None, **model: object) -> Path:
    """A ``cli.py fit`` YAML config: tiny StyleGAN2, CSV logging, iteration checkpoints under ``root``."""
    import yaml

    arch = tiny_arch()
    gen_args = dict(arch)
    disc_args = {"size": arch["size"], "channel_multiplier": 1, "channel_max": 16}
    if checkpoint is not None:
        gen_args.update(checkpoint=str(checkpoint), checkpoint_key="g_ema")
        disc_args.update(checkpoint=str(checkpoint), checkpoint_key="d")
    init_args = {
        "generator": {"class_path": "stylegan2", "init_args": gen_args},
        "discriminator": {"class_path": "stylegan2", "init_args": disc_args},
        "r1": {"class_path": "r1", "init_args": {"weight": 10.0, "interval": 2}},
        "path_length": {"class_path": "path_length", "init_args": {"weight": 2.0, "interval": 3, "batch_shrink": 2}},
        "augment": {
            "class_path": "toonlift.stages.finetune.adaptive_augment.AdaptiveAugment",
            "init_args": {"speed_images": 200, "interval": 2},
        },
        "max_iterations": 6,
        "freeze_d": 1,
        "num_grid_samples": 2,
        "seed": 3,
    }
    init_args.update(model)
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "max_epochs": -1,
            "val_check_interval": 3,
            "check_val_every_n_epoch": None,
            "num_sanity_val_steps": 0,
            "limit_val_batches": 2,
            "log_every_n_steps": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root),
            "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger", "init_args": {"save_dir": str(root)}},
            "callbacks": [
                {
                    "class_path": "toonlift.callbacks.iteration_checkpoint.IterationCheckpoint",
                    "init_args": {"dirpath": str(root / "checkpoints"), "every_n_iterations": 3},
                }
            ],
        },
        "model": {"class_path": "finetune", "init_args": init_args},
        "data": {
            "class_path": "image_folder",
            "init_args": {"path": str(data), "resolution": 16, "batch_size": 4, "seed": 1},
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def random_conv_extractor_class():
    """A fixed random conv net as a real :class:`FeatureExtractor` (test only, not a shipped plugin)."""
    import torch
    from torch import nn

    from toonlift.plugins.features.base import FeatureExtractor

    class RandomConvFeatureExtractor(FeatureExtractor):
        """Two fixed random conv layers + global pooling: 32-d features of images in [-1, 1]."""

        def __init__(self) -> None:
            super().__init__()
            gen = torch.Generator().manual_seed(1234)
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
            with torch.no_grad():
                for p in self.parameters():
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.3)

        @property
        def num_features(self) -> int:
            return 32

        def forward(self, image):
            x = torch.relu(self.conv1(image))
            x = torch.relu(self.conv2(x))
            return torch.cat([x.mean(dim=(2, 3))[:, :16], x.amax(dim=(2, 3))[:, 16:]], dim=1)

    return RandomConvFeatureExtractor


def register_random_conv_extractor(name: str = "test_random_conv") -> str:
    """Register the test extractor in-process under ``name`` (idempotent)."""
    from toonlift.registry import FEATURE_EXTRACTORS

    FEATURE_EXTRACTORS.register(name, override=True)(random_conv_extractor_class())
    return name
