"""Latents read from files (e.g. the inversion of a real photo) as a data set for Stage 2 and sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from toonlift.datamodules.base import ToonDataModule
from toonlift.errors import ConfigError, DataError
from toonlift.utils.io import load_safetensors, safe_torch_load, save_safetensors

LATENT_SUFFIXES = (".pt", ".pth", ".safetensors", ".npy")
_KEYS = ("ws", "latent", "w", "latents")


def _pick(obj: object, path: Path) -> Tensor:
    """The latent tensor in a loaded file: a tensor, or a dict with one of ``_KEYS``."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, dict):
        for key in _KEYS:
            if isinstance(obj.get(key), Tensor):
                return obj[key]
    raise DataError(f"'{path}' holds no latent: expected a tensor or a dict with one of the keys {list(_KEYS)}.")


def read_latent_file(path: str | Path) -> list[tuple[str, Tensor]]:
    """``(name, latent)`` pairs from one file; each latent is ``[D]`` or W+ ``[L, D]``.

    Layouts: a tensor ``[D]``, ``[L, D]``, ``[N, D]`` (N > 1 with ``N != L`` is ambiguous, so 2-D is read as W+
    unless the file is a ``latents`` batch) or ``[N, L, D]``; a dict with ``ws``/``latent``/``w``/``latents``; or
    rosinality's projector output ``{image_name: {"latent": ...}}``.
    """
    p = Path(path)
    if p.suffix == ".npy":
        try:
            obj: object = torch.from_numpy(np.load(p, allow_pickle=False))
        except (ValueError, OSError) as err:
            raise DataError(f"'{p}' is not a readable .npy array ({err}).") from err
    elif p.suffix == ".safetensors":
        obj, _ = load_safetensors(p, "latent file")
    else:
        obj = safe_torch_load(p, "latent file")
    if isinstance(obj, dict) and obj and all(isinstance(v, dict) for v in obj.values()):
        # rosinality projector.py: {image_path: {"img", "latent", "noise"}}
        return [(f"{p.stem}_{Path(str(k)).stem}", _pick(v, p).float()) for k, v in obj.items()]
    batched = isinstance(obj, dict) and isinstance(obj.get("latents"), Tensor)
    t = _pick(obj, p).float()
    if not torch.isfinite(t).all():
        raise DataError(f"'{p}' contains NaN or infinite latent values.")
    if t.dim() == 3 or (batched and t.dim() == 2):
        return [(f"{p.stem}_{i:04d}", row) for i, row in enumerate(t)]
    if t.dim() in (1, 2):
        return [(p.stem, t)]
    raise DataError(f"'{p}' holds a latent of shape {tuple(t.shape)}; expected [D], [L, D] or [N, L, D].")


class _LatentDataset(Dataset):
    def __init__(self, items: list[tuple[str, Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        name, ws = self.items[i]
        return {"name": name, "ws": ws}


class LatentsDataModule(ToonDataModule):
    """Latents from files or folders, batched as ``{"name": list[str], "ws": [B, D] or [B, L, D]}``.

    Args:
        paths: latent files (``.pt``, ``.pth``, ``.safetensors``, ``.npy``) or folders of them (sorted by name).
        batch_size: latents per batch.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        path = workdir / "latents.safetensors"
        save_safetensors(path, {"ws": torch.randn(4, 16, generator=torch.Generator().manual_seed(0))}, {})
        return {"paths": [str(path)], "batch_size": 2}

    def __init__(self, paths: list[str], batch_size: int = 8) -> None:
        super().__init__()
        if not paths:
            raise ConfigError("LatentsDataModule: give at least one latent file or folder in 'paths'.")
        if batch_size < 1:
            raise ConfigError(f"LatentsDataModule: batch_size must be >= 1, got {batch_size}.")
        self.paths = [Path(p) for p in paths]
        self.batch_size = batch_size
        self._items: list[tuple[str, Tensor]] | None = None

    def files(self) -> list[Path]:
        """Every latent file named by ``paths``."""
        out: list[Path] = []
        for p in self.paths:
            if p.is_dir():
                found = sorted(f for f in p.iterdir() if f.suffix in LATENT_SUFFIXES and not f.name.startswith("."))
                if not found:
                    raise DataError(f"The latent folder '{p}' holds no {'/'.join(LATENT_SUFFIXES)} files.")
                out.extend(found)
            elif p.is_file():
                out.append(p)
            else:
                raise DataError(f"The latent path '{p}' does not exist.")
        return out

    def items(self) -> list[tuple[str, Tensor]]:
        """All ``(name, latent)`` pairs; every latent must have the same shape."""
        if self._items is None:
            items = [item for f in self.files() for item in read_latent_file(f)]
            shapes = {tuple(t.shape) for _, t in items}
            if len(shapes) > 1:
                raise DataError(f"Latent files mix shapes {sorted(shapes)}; keep one layout ([D] or [L, D]) per run.")
            self._items = items
        return self._items

    def _loader(self) -> DataLoader:
        return DataLoader(_LatentDataset(self.items()), batch_size=self.batch_size, shuffle=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader()

    def predict_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()
