"""``IterationProgressBar``: a Rich progress bar that counts a GAN module's own iterations.

Stage-1 modules stop themselves after ``max_iterations`` and read an endless data stream, so Lightning's bar has
nothing true to show: with ``max_epochs: -1`` it printed "Epoch 0/-2", and its total (the batches of one pass over
the data set, 3125 for 50 000 samples) made a 3-iteration run read "3/3125 • 0:42:50". This bar shows
``iteration/max_iterations`` (restored on resume) and the time left for them; a module without those attributes
gets Lightning's bar unchanged.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar


def _counts(module: Any) -> tuple[int, int] | None:
    """``(iteration, max_iterations)`` of a module that counts its own iterations, else ``None``."""
    iteration, total = getattr(module, "iteration", None), getattr(module, "max_iterations", None)
    if isinstance(iteration, int) and isinstance(total, int) and total > 0:
        return iteration, total
    return None


class IterationProgressBar(RichProgressBar):
    """``RichProgressBar`` whose training bar is ``iteration/max_iterations`` of the module (see the module doc)."""

    def _module_counts(self) -> tuple[int, int] | None:
        trainer = getattr(self, "_trainer", None)
        return _counts(trainer.lightning_module) if trainer is not None else None

    @property
    def total_train_batches(self) -> int | float:
        counts = self._module_counts()
        return counts[1] if counts is not None else super().total_train_batches

    def _get_train_description(self, current_epoch: int) -> str:
        if self._module_counts() is None:
            return super()._get_train_description(current_epoch)
        return f"{'Iteration':{len(self.validation_description)}}"

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        counts = _counts(pl_module)
        if counts is not None and self.train_progress_bar_id is not None:
            self._update(self.train_progress_bar_id, counts[0])  # a resumed run starts where it stopped

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        counts = _counts(pl_module)
        if counts is None:
            return super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if not self.is_disabled and self.train_progress_bar_id is None:
            self._initialize_train_progress_bar_id()
        self._update(self.train_progress_bar_id, counts[0])  # the module's counter, already advanced by this step
        self._update_metrics(trainer, pl_module)
        self.refresh()
        return None
