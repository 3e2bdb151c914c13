"""What every demo stage shares: output folder, seed, device, schedule, and how a stage reports itself."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch

from toonlift.demo.schedule import DemoSchedule


@dataclass
class DemoContext:
    """The run's settings and the results the stages hand to each other.

    Args:
        out: output folder (``outputs/demo``).
        seed: base seed of every random choice.
        device: torch device the models run on.
        schedule: work per stage.
        quick: whether this is the ``--quick`` smoke run.
    """

    out: Path
    seed: int
    device: torch.device
    schedule: DemoSchedule
    quick: bool = False
    summary: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)

    @property
    def accelerator(self) -> str:
        """Lightning accelerator name for this device."""
        return "gpu" if self.device.type == "cuda" else "cpu"

    def trainer(self, **overrides: object) -> pl.Trainer:
        """A single-device Trainer for one demo stage: one epoch, no logger or checkpoints unless overridden."""
        kwargs: dict = dict(
            accelerator=self.accelerator,
            devices=1,
            max_epochs=1,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        return pl.Trainer(**{**kwargs, **overrides})

    def folder(self, name: str) -> Path:
        """``out/name``, created."""
        path = self.out / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, path: Path) -> str:
        """``path`` relative to the output folder (links in ``index.html`` and ``summary.json``)."""
        return Path(path).resolve().relative_to(self.out.resolve()).as_posix()


class StageTimer:
    """Times a stage and prints its one-line summary: ``[stage 2/4] Stage 2 — expressions ... (12.3 s)``."""

    def __init__(self, index: int, total: int, title: str) -> None:
        self.index, self.total, self.title = index, total, title
        self.start = time.perf_counter()
        print(f"[stage {index}/{total}] {title} ...", flush=True)

    def done(self, line: str) -> float:
        """Print the stage's summary line and return the seconds it took."""
        seconds = time.perf_counter() - self.start
        print(f"[stage {self.index}/{self.total}] {self.title}: {line} ({seconds:.1f} s)", flush=True)
        return seconds
