"""``ToonCheckpointIO``: how the Trainer reads and writes checkpoint files in toonlift.

* **Reading** (``--ckpt_path``): ``weights_only=True`` through :func:`~toonlift.utils.io.safe_torch_load`, so a
  truncated, empty, foreign or hostile file ends in one :class:`~toonlift.errors.CheckpointError` that says what the
  file is (never torch's advice to load it unsafely) and nothing in it is ever run.
* **Writing**: ``torch.save`` into a temporary file *beside* the target, then a rename. Lightning's default writer goes
  through an fsspec transaction whose temporary file lives in ``$TMPDIR``, where a run killed mid-save leaves it
  forever; a temporary file beside the target is removed on failure and swept at the next start
  (:func:`~toonlift.utils.io.remove_stale_temporaries`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from toonlift.utils.io import atomic_path, safe_torch_load


class ToonCheckpointIO(TorchCheckpointIO):
    """Safe reads and same-folder atomic writes of Lightning checkpoints (see the module docstring)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__}.save_checkpoint takes no storage_options")
        with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
            torch.save(checkpoint, f)

    def load_checkpoint(self, path: Any, map_location: Any | None = None, weights_only: bool | None = None) -> Any:
        del map_location, weights_only  # always CPU and always weights-only: Lightning moves the tensors itself
        return safe_torch_load(path, what="checkpoint")


def install_checkpoint_io(trainer: Any) -> bool:
    """Give ``trainer`` a :class:`ToonCheckpointIO` unless the user configured their own (returns whether it did)."""
    strategy = trainer.strategy
    current = getattr(strategy, "checkpoint_io", None)
    if current is not None and type(current) is not TorchCheckpointIO:
        return False
    strategy.checkpoint_io = ToonCheckpointIO()
    return True
