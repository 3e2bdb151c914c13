"""Stage-1 training speed: FinetuneModule iterations/s at 64 and 256 px (batch 4), reference StyleGAN2 width.

Prints the machine, torch version and thread count (``benchmarks/protocol.py``), then per resolution the time of a
regularised iteration (iteration 0 runs the lazy R1 and path-length steps too), the median and interquartile range of
``--iters`` plain iterations (>= 5) of the real Lightning loop, their fraction of this machine's sgemm throughput
(flops of one more plain iteration, counted by ``torch.utils.flop_counter`` and not timed), and the peak memory
(CPU: max RSS of the process; GPU: torch.cuda.max_memory_allocated).

    python benchmarks/bench_finetune.py [--sizes 64 256] [--iters 5] [--device cpu|cuda]
    python benchmarks/bench_finetune.py --quick     # 64 px only
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from protocol import Limits, Spread, machine_limits, report_header
from torch.utils.flop_counter import FlopCounterMode

from toonlift.datamodules.image_folder import ImageFolderDataModule
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.finetune.module import FinetuneModule
from toonlift.utils.threads import apply_threads


class IterationTimer(pl.Callback):
    """Wall time of every training batch (one GAN iteration); the flops of the last one, which is not timed."""

    def __init__(self, count_last: int) -> None:
        self.times: list[float] = []
        self.count_last = count_last
        self.flops = 0.0
        self._counter: FlopCounterMode | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.count_last:
            self._counter = FlopCounterMode(display=False)
            self._counter.__enter__()
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops = float(self._counter.get_total_flops())
            self._counter = None
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self._t)


def run(size: int, iters: int, device: str, folder: Path) -> dict:
    torch.manual_seed(0)
    module = FinetuneModule(
        generator=StyleGAN2Backbone(size=size, channel_multiplier=2),
        discriminator=StyleGAN2Discriminator(size, 2),
        freeze_d=0,
        max_iterations=iters + 2,  # iteration 0 (lazy regularisers), iters timed, one counted
        num_grid_samples=0,
    )
    dm = ImageFolderDataModule(str(folder), resolution=size, batch_size=4, cache=True)
    timer = IterationTimer(count_last=iters + 1)
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
    plain = Spread(tuple(timer.times[1:]))
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {"size": size, "first_s": timer.times[0], "plain": plain, "flops": timer.flops, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--iters", type=int, default=5, help="timed plain iterations (>= 5)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    parser.add_argument("--quick", action="store_true", help="64 px only")
    args = parser.parse_args()
    if args.quick:
        args.sizes = [64]
    apply_threads(args.threads)
    device = torch.device(args.device)
    print(report_header(device))
    limits: Limits = machine_limits(device)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "imgs"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(16):
            Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        for size in args.sizes:
            r = run(size, args.iters, args.device, folder)
            t = r["plain"]
            print(
                f"{size:4d} px batch 4: iteration 0 (with lazy R1 + path length) {r['first_s']:.2f} s; "
                f"plain iteration {t.text(fmt='.3g')} s = {1 / t.median:.3f} it/s "
                f"({100 * limits.fraction_of_sgemm(r['flops'], t.median):.0f} % of sgemm); "
                f"peak memory {r['peak_mib']:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
