"""Demo stage 1: fine-tune the shipped photo generator toward the synthetic cartoon domain (the paper's Stage 1).

A short run of the real :class:`~toonlift.stages.finetune.module.FinetuneModule` (structure loss on, lazy R1,
EMA) shows the transformation on fixed latents while it happens; the long run of the same recipe is the shipped
cartoon generator, which the later stages use.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import Tensor

from toonlift.callbacks.iteration_progress import IterationProgressBar
from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.demo.assets import load_shipped
from toonlift.demo.context import DemoContext, StageTimer
from toonlift.plugins.losses.path_length import PathLengthLoss
from toonlift.plugins.losses.r1 import R1Loss
from toonlift.plugins.losses.structure import StructureLoss
from toonlift.stages.finetune.adaptive_augment import AdaptiveAugment
from toonlift.stages.finetune.module import FinetuneModule
from toonlift.stages.vlda.outputs import save_gif
from toonlift.utils.images import make_grid, save_grid

FIXED_LATENTS = 8


class Snapshots(pl.Callback):
    """Render the EMA generator on fixed latents every ``every`` iterations (frames of the transformation GIF).

    Args:
        ws: fixed W+ latents ``[B, L, D]``.
        every: iterations between snapshots.
    """

    def __init__(self, ws: Tensor, every: int) -> None:
        self.ws, self.every = ws, max(1, every)
        self.frames: list[tuple[int, Tensor]] = []

    @torch.no_grad()
    def snap(self, module: FinetuneModule) -> None:
        image = module.generator_ema.synthesis(self.ws.to(module.device), noise_mode="const").image
        self.frames.append((module.iteration, image.clamp(-1, 1).cpu()))

    def on_train_start(self, trainer: pl.Trainer, module: FinetuneModule) -> None:
        self.snap(module)

    def on_train_batch_end(self, trainer: pl.Trainer, module: FinetuneModule, *args: object) -> None:
        if module.iteration % self.every == 0 or module.iteration >= module.max_iterations:
            self.snap(module)


def fixed_latents(generator: torch.nn.Module, seed: int, count: int = FIXED_LATENTS) -> Tensor:
    """W+ latents ``[count, L, D]`` of seeds ``seed, seed + 1, ...`` (truncation 0.7 about the mean ``w``)."""
    z = torch.stack(
        [torch.randn(generator.z_dim, generator=torch.Generator().manual_seed(seed + i)) for i in range(count)]
    )
    centre = generator.mean_latent(2048, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return generator.mapping(z.to(centre.device), truncation=0.7, truncation_latent=centre)


def run_stage1(ctx: DemoContext, timer: StageTimer) -> dict:
    """Fine-tune for ``schedule.stage1_iterations``; write the transformation grid and GIF; return the summary."""
    sched, folder = ctx.schedule, ctx.folder("stage1")
    photo, cartoon = load_shipped("photo"), load_shipped("cartoon")
    module = FinetuneModule(
        generator=photo,
        discriminator=load_shipped("photo", "discriminator"),
        structure=StructureLoss(weight=1.0, num_blocks=2),
        r1=R1Loss(weight=0.2, interval=16),
        path_length=PathLengthLoss(weight=0.0),
        augment=AdaptiveAugment(),
        lr=0.002,
        ema_half_life_images=sched.stage1_batch * 4.0,  # a short run: let the EMA follow within a few iterations
        max_iterations=sched.stage1_iterations,
        seed=ctx.seed,
        export_path=str(folder / "g_cartoon_demo.safetensors"),
    )
    data = SyntheticFacesDataModule(
        domain="cartoon",
        resolution=photo.resolution,
        num_samples=max(sched.stage1_iterations * sched.stage1_batch, 64),
        seed=ctx.seed + 101,
        batch_size=sched.stage1_batch,
        val_samples=0,
    )
    ws = fixed_latents(photo, ctx.seed)
    snaps = Snapshots(ws, max(1, sched.stage1_iterations // max(1, sched.stage1_snapshots)))
    trainer = ctx.trainer(
        max_epochs=-1,
        logger=pl.loggers.CSVLogger(str(folder), name="log"),
        callbacks=[snaps, IterationProgressBar()],  # iteration/max_iterations: the data stream is endless
        num_sanity_val_steps=0,
        limit_val_batches=0,
        log_every_n_steps=max(1, min(25, sched.stage1_iterations)),
    )
    trainer.fit(module, datamodule=data)

    # the module trained `photo` in place; its frozen G_base is the photo generator as it was before the run
    photo = module.generator_base
    with torch.no_grad():
        ws_dev = ws.to(ctx.device)
        base = photo.to(ctx.device).synthesis(ws_dev, noise_mode="const").image
        demo = module.generator_ema.synthesis(ws_dev, noise_mode="const").image
        shipped = cartoon.to(ctx.device).synthesis(ws_dev, noise_mode="const").image
        # Toonify-style feature swap: the photo generator's 16 px block drives the cartoon generator's coarse layout
        feats = photo.synthesis(ws_dev, noise_mode="const", return_features=("block_16",)).features
        blended = cartoon.synthesis(ws_dev, noise_mode="const", swap_features=feats).image
    rows = torch.cat([base, demo, shipped, blended]).clamp(-1, 1).cpu()
    grid = save_grid(rows, folder / "transformation.png", nrow=ws.shape[0])
    frames = torch.stack([make_grid(img, nrow=img.shape[0]) for _, img in snaps.frames])
    gif = save_gif(frames, folder / "finetune.gif", fps=2)
    ctx.shared["stage1_generator"] = module.generator_ema
    structure = float(trainer.callback_metrics.get("train/structure", torch.tensor(float("nan"))))
    timer_line = f"{module.iteration} iterations toward the cartoon domain, structure loss {structure:.4f}"
    seconds = timer.done(timer_line)
    return {
        "iterations": module.iteration,
        "seconds_per_iteration": seconds / max(1, module.iteration),
        "final_structure_loss": structure,
        "seconds": seconds,
        "images": {
            "transformation": ctx.rel(grid),
            "finetune_gif": ctx.rel(gif),
        },
        "grid_rows": ["photo generator", "after this run", "shipped cartoon generator", "cartoon + photo 16 px layout"],
        "generator": ctx.rel(folder / "g_cartoon_demo.safetensors"),
    }
