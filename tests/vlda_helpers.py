"""Shared helpers of the Stage-3 tests: a tiny random StyleGAN2 checkpoint in rosinality layout."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from toonlift.plugins.backbones.base import Backbone, BackboneOutput
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator

TINY = {"size": 32, "channel_multiplier": 1, "channel_max": 16}


def tiny_stylegan2(seed: int = 0) -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator]:
    """A 32 px StyleGAN2 generator (style_dim 32) and discriminator with random weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = StyleGAN2Backbone(style_dim=32, n_mlp=8, **TINY)
        d = StyleGAN2Discriminator(**TINY)
    return g, d


def write_tiny_checkpoint(path: Path) -> Path:
    """Save ``{'g', 'g_ema', 'd', 'latent_avg'}`` as rosinality's train.py does (plain tensors only)."""
    g, d = tiny_stylegan2()
    torch.save({"g": g.state_dict(), "g_ema": g.state_dict(), "d": d.state_dict(), "latent_avg": torch.zeros(32)}, path)
    return path


class AnalyticFaceBackbone(Backbone):
    """An ideal "GAN" of one known 3D face: ``w = (yaw, pitch, light dx, light dy)`` renders it from that view.

    The face is a depth map (an ellipsoidal head on a background plane, with a nose) and an albedo with darker
    eyes and mouth, rendered by toonlift's depth-map renderer; ``BackboneOutput.depth``/``mask`` are the ground
    truth in the rendered view. It stands in for a GAN trained on many views of one face, which VLDA assumes and
    which cannot be trained in a test; the mapping network is identity layers so the offset encoder's hidden space
    is W itself.

    Args:
        size: image side.
        width: head half-width (fraction of the half image).
        height: head half-height.
        relief: depth of the head's bulge.
        nose: depth of the nose bump.
    """

    def __init__(
        self, size: int = 32, width: float = 0.62, height: float = 0.8, relief: float = 0.11, nose: float = 0.035
    ) -> None:
        super().__init__()
        self._size = size
        self.renderer = DepthMapRenderer(image_size=size)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
        head = (1 - (xs / width) ** 2 - ((ys - 0.05) / height) ** 2).clamp_min(0)
        depth = 1.06 - relief * head.sqrt() - nose * torch.exp(-(xs**2 + (ys - 0.1) ** 2) / 0.015) * (head > 0)
        eyes = torch.exp(-(((xs.abs() - 0.25) ** 2) + (ys + 0.2) ** 2) / 0.006)
        mouth = torch.exp(-((xs / 2.5) ** 2 + (ys - 0.45) ** 2) / 0.004)
        skin = torch.tensor([0.7, 0.35, 0.2]).view(3, 1, 1) * (head > 0) + torch.tensor([-0.3, 0.0, 0.3]).view(
            3, 1, 1
        ) * (head <= 0)
        albedo = skin - 0.9 * eyes - 0.7 * mouth + 0.1 * torch.sin(6 * xs) * torch.cos(5 * ys)
        self.register_buffer("depth", depth[None])
        self.register_buffer("albedo", albedo.clamp(-1, 1)[None])
        self.register_buffer("mask", (head > 0).float()[None, None])

    @property
    def resolution(self) -> int:
        return self._size

    @property
    def z_dim(self) -> int:
        return 4

    @property
    def w_dim(self) -> int:
        return 4

    @property
    def num_ws(self) -> int:
        return 1

    def split_mapping(self, tail_layers: int) -> tuple[nn.Module, nn.Module]:
        """Capability ``MappingSplit``: the mapping is the identity, so the hidden space is W itself."""
        return nn.Identity(), nn.Identity()

    def mapping(self, z, cond=None, truncation=1.0, truncation_latent=None):  # noqa: ANN001, ANN201
        return z.unsqueeze(1)

    def synthesis(self, ws, cond=None, noise_mode="const", return_features=()):  # noqa: ANN001, ANN201
        ws = self.broadcast_ws(ws)[:, 0]
        b = ws.shape[0]
        t = torch.tanh(ws)
        view = torch.zeros(b, 6, device=ws.device)
        view[:, 1] = t[:, 0] * math.radians(40)
        view[:, 0] = t[:, 1] * math.radians(15)
        light = torch.nn.functional.normalize(torch.stack([-t[:, 2], -t[:, 3] * 0.5 - 0.2, -torch.ones(b)], 1), dim=1)
        out = self.renderer(self.depth.expand(b, -1, -1), self.albedo.expand(b, -1, -1, -1), view, light, 0.4, 0.6)
        mask, _ = self.renderer.warp_image(self.mask.expand(b, -1, -1, -1), self.depth.expand(b, -1, -1), view)
        return BackboneOutput(image=out.image, ws=ws[:, None], depth=out.recon_depth[:, None], mask=mask)
