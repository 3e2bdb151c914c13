"""Shared fixtures: throwaway plugin distributions, seeds, a quiet, deterministic torch."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from toonlift.registry import REGISTRIES

torch.set_num_threads(min(2, torch.get_num_threads()))

TOY_BACKBONE_SOURCE = '''
"""A tiny but real backbone shipped by a third-party distribution (used by the registry and CLI tests)."""
import torch
from torch import nn
from toonlift.plugins.backbones.base import Backbone, BackboneOutput


class ToyBackbone(Backbone):
    """A linear generator: z -> w (one linear layer) -> image (one linear layer, tanh).

    Args:
        size: image side.
        latent: size of z and w.
    """

    def __init__(self, size: int = 8, latent: int = 4) -> None:
        super().__init__()
        self._size, self._latent = size, latent
        self.map = nn.Linear(latent, latent)
        self.render = nn.Linear(latent, 3 * size * size)

    @property
    def resolution(self): return self._size
    @property
    def z_dim(self): return self._latent
    @property
    def w_dim(self): return self._latent
    @property
    def num_ws(self): return 1

    def mapping(self, z, cond=None, truncation=1.0, truncation_latent=None):
        w = self.map(z)
        if truncation_latent is not None:
            w = truncation_latent + truncation * (w - truncation_latent)
        return w.unsqueeze(1)

    def synthesis(self, ws, cond=None, noise_mode="const", return_features=()):
        ws = self.broadcast_ws(ws)
        img = torch.tanh(self.render(ws[:, 0])).view(-1, 3, self._size, self._size)
        return BackboneOutput(image=img, ws=ws)
'''


def make_distribution(root: Path, name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> Path:
    """Write a minimal installed distribution (``*.dist-info`` + modules) under ``root``; returns ``root``."""
    dist_info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{k} = {v}" for k, v in eps.items())
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for mod, source in modules.items():
        path = root / (mod.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def install_distribution(tmp_path: Path) -> Iterator:
    """Install throwaway distributions on ``sys.path``; registries are refreshed before and after."""
    added: list[str] = []
    module_names: list[str] = []

    def install(name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str] | None = None) -> Path:
        root = make_distribution(tmp_path / name, name, entry_points, modules or {})
        sys.path.insert(0, str(root))
        added.append(str(root))
        module_names.extend(m.split(".")[0] for m in (modules or {}))
        for registry in REGISTRIES.values():
            registry.refresh()
        return root

    yield install
    for path in added:
        sys.path.remove(path)
    for mod in list(sys.modules):
        if mod.split(".")[0] in module_names:
            del sys.modules[mod]
    for registry in REGISTRIES.values():
        registry.refresh()


@pytest.fixture(autouse=True)
def _grad_mode_is_restored() -> Iterator:
    """Fail the test that leaves autograd switched off: a later test's backward would fail far from the cause."""
    yield
    if not torch.is_grad_enabled():
        torch.set_grad_enabled(True)
        pytest.fail("this test left torch's grad mode disabled (use `with torch.no_grad():`, not set_grad_enabled)")
