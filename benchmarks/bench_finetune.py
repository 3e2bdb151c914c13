"""Stage-1 training speed: FinetuneModule iterations/s at 64 and 256 px (batch 4), reference StyleGAN2 width.

Prints the machine, torch version and thread count, then per resolution the time of a regularised iteration
(iteration 0 runs the lazy R1 and path-length steps too), of plain iterations, and the peak memory (CPU: max RSS of
the process; GPU: torch.cuda.max_memory_allocated).

    python benchmarks/bench_finetune.py [--sizes 64 256] [--iters 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image

from toonlift.datamodules.image_folder import ImageFolderDataModule
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.finetune.module import FinetuneModule


class IterationTimer(pl.Callback):
    """Wall time of every training batch (one GAN iteration)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self._t)


def run(size: int, iters: int, device: str, folder: Path) -> dict:
    torch.manual_seed(0)
    module = FinetuneModule(
        generator=StyleGAN2Backbone(size=size, channel_multiplier=2),
        discriminator=StyleGAN2Discriminator(size, 2),
        freeze_d=0,
        max_iterations=iters,
        num_grid_samples=0,
    )
    dm = ImageFolderDataModule(str(folder), resolution=size, batch_size=4, cache=True)
    timer = IterationTimer()
    trainer = pl.Trainer(
        accelerator=device,
        devices=1,
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=str(folder.parent),
    )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(module, dm)
    plain = timer.times[1:] or timer.times
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {"size": size, "first_s": timer.times[0], "plain_s": float(np.mean(plain)), "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "none"
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} gpu={gpu}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "imgs"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(16):
            Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        for size in args.sizes:
            r = run(size, args.iters, args.device, folder)
            print(
                f"{size:4d} px batch 4: iteration 0 (with lazy R1 + path length) {r['first_s']:.2f} s; "
                f"plain iteration {r['plain_s']:.2f} s = {1 / r['plain_s']:.3f} it/s; "
                f"peak memory {r['peak_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
