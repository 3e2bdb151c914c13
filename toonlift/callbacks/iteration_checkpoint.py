"""Checkpoints every N *iterations* of a GAN module, written atomically, with ``last.ckpt`` for ``--ckpt_path last``.

Lightning's ``ModelCheckpoint(every_n_train_steps=N)`` counts optimizer steps; a GAN iteration makes 2-4 of them
(G, D, lazy R1, lazy path length), so ``global_step % N`` skips or repeats (Lightning #17958). This callback reads
the module's own ``iteration`` counter instead. It subclasses ``ModelCheckpoint`` so that ``ckpt_path="last"`` finds
its ``last.ckpt`` and the Trainer adds no default checkpoint callback. Files are first written to a temporary name
in the same folder and renamed, so a run killed while saving never leaves a truncated ``last.ckpt``; a failed save
(a full disk) removes its temporary file and ends in one :class:`~toonlift.errors.OutputError` paragraph, and the
temporary files of a run killed mid-save are removed when the next run starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from toonlift.callbacks.checkpoint_io import install_checkpoint_io
from toonlift.errors import ConfigError
from toonlift.utils.io import remove_stale_temporaries
from toonlift.utils.output_dirs import WRITE_ERRNOS, describe_os_error


class IterationCheckpoint(ModelCheckpoint):
    """Save ``iter{N:06d}.ckpt`` every ``every_n_iterations`` and at the last iteration, plus ``last.ckpt``.

    Args:
        dirpath: folder of the checkpoints (default: ``<log_dir>/checkpoints``).
        every_n_iterations: save period in iterations of ``pl_module.iteration``.
        keep: numbered checkpoints to keep (older ones are deleted; ``last.ckpt`` is always kept; -1 keeps all).
        save_last: also write ``last.ckpt``.
    """

    def __init__(
        self, dirpath: str | None = None, every_n_iterations: int = 500, keep: int = 2, save_last: bool = True
    ) -> None:
        if every_n_iterations < 1:
            raise ConfigError(f"IterationCheckpoint: every_n_iterations must be >= 1, got {every_n_iterations}")
        super().__init__(dirpath=dirpath, save_last=save_last, save_top_k=0, every_n_epochs=0)
        self.every_n_iterations = every_n_iterations
        self.keep = keep
        self._saved_iteration = -1
        self._numbered: list[str] = []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)  # resolves dirpath
        install_checkpoint_io(trainer)  # writes beside the target (not via $TMPDIR) outside the CLI too
        if trainer.is_global_zero and self.dirpath is not None:  # no writer of this folder runs yet
            remove_stale_temporaries(self.dirpath, f"*{self.FILE_EXTENSION}*")

    # ModelCheckpoint's own triggers are disabled: only iterations count
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        return

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        return

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        iteration = int(getattr(pl_module, "iteration", trainer.global_step))
        final = iteration >= int(getattr(pl_module, "max_iterations", 1 << 62))
        if iteration == self._saved_iteration or trainer.sanity_checking:
            return
        if iteration % self.every_n_iterations and not final:
            return
        self.save_iteration(trainer, iteration)

    def save_iteration(self, trainer: pl.Trainer, iteration: int) -> None:
        """Write ``iter{iteration:06d}.ckpt`` (and ``last.ckpt``) now. Every rank must call it (it has barriers)."""
        assert self.dirpath is not None
        numbered = os.path.join(self.dirpath, f"iter{iteration:06d}{self.FILE_EXTENSION}")
        self._save_checkpoint(trainer, numbered)
        self._numbered.append(numbered)
        self.best_model_path = numbered
        if self.save_last:
            last = os.path.join(self.dirpath, f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}")
            self.last_model_path = last
            self._save_checkpoint(trainer, last)
        if self.keep >= 0 and trainer.is_global_zero:
            while len(self._numbered) > self.keep:
                old = self._numbered.pop(0)
                if old != numbered and os.path.isfile(old):
                    os.remove(old)
        self._saved_iteration = iteration

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        """``trainer.save_checkpoint`` to a temporary file, then an atomic rename (rank 0 writes)."""
        final = Path(filepath)
        tmp = final.with_name(f".{final.name}.tmp")
        if trainer.is_global_zero:
            final.parent.mkdir(parents=True, exist_ok=True)
        try:
            trainer.save_checkpoint(str(tmp), self.save_weights_only)  # collective: ends with a barrier
            if trainer.is_global_zero:
                os.replace(tmp, final)
        except BaseException as err:
            if trainer.is_global_zero:
                tmp.unlink(missing_ok=True)  # nothing half-written stays behind
            if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:  # named after the file it was to become
                raise describe_os_error(OSError(err.errno, err.strerror, str(final)), "checkpoint") from err
            raise
        trainer.strategy.barrier("IterationCheckpoint.rename")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = str(final)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(self)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["saved_iteration"] = self._saved_iteration
        state["numbered"] = list(self._numbered)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._saved_iteration = int(state_dict.get("saved_iteration", -1))
        self._numbered = list(state_dict.get("numbered", []))
