"""Validation/test of :class:`FinetuneModule`: FID/KID against the real images, LPIPS(G_base(w), G_ema(w)), grids.

Kept apart from the training loop so each file holds one idea. The feature extractor and the LPIPS network are
held outside the module's ``state_dict`` (they are fixed, user-supplied weights, not training state), so checkpoints
stay the size of G, G_ema, G_base and D.

DDP: every rank evaluates its shard of the real images and an equal number of its own generated images; FID/KID and
LPIPS are torchmetrics states summed over ranks at ``compute`` (a collective every rank reaches, since Lightning gives
all ranks the same number of validation batches). Image grids and files are written by rank 0 only, with no
collective call inside the rank-0 branch (Lightning #18148, #19604).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MeanMetric

from toonlift.errors import ConfigError
from toonlift.metrics.generative import GenerativeMetrics, build_feature_extractor
from toonlift.plugins.backbones.capabilities import FeatureTaps, has
from toonlift.utils.batches import batch_images
from toonlift.utils.images import make_grid, save_image
from toonlift.utils.rng import iteration_generator

_EVAL_STREAM = 7  # separates evaluation latents from training streams


class FinetuneEvalMixin:
    """Adds ``validation_step``/``test_step`` and rank-0 image logging to :class:`FinetuneModule`."""

    def _init_eval(
        self,
        lpips: Any,
        feature_extractor: str | None,
        inception_weights: str | None,
        metric_batch_size: int | None,
        num_grid_samples: int,
        blend_resolution: int,
        export_path: str | None,
    ) -> None:
        # a plain dict is not registered by nn.Module: these networks stay out of state_dict and checkpoints
        self._aux: dict[str, torch.nn.Module] = {}
        if lpips is not None:
            if not hasattr(lpips, "distance"):
                raise ConfigError(
                    "FinetuneModule: `lpips` must provide distance(pred, target) -> [B] (class_path: lpips)."
                )
            self._aux["lpips"] = lpips.eval().requires_grad_(False)
        self.metrics: GenerativeMetrics | None = None
        if feature_extractor is not None:
            extractor = build_feature_extractor(feature_extractor, inception_weights)
            self._aux["features"] = extractor.eval().requires_grad_(False)
            self.metrics = GenerativeMetrics(int(extractor.num_features))
        self.lpips_mean = MeanMetric() if lpips is not None and self.generator_base is not None else None
        self.metric_batch_size = metric_batch_size
        self.num_grid_samples = num_grid_samples
        # the blended grid column swaps one G_base feature into G_ema: only for generators with feature taps
        names = self.generator.feature_names() if has(self.generator, FeatureTaps) else []
        self.blend_feature = f"block_{blend_resolution}" if f"block_{blend_resolution}" in names else None
        self.export_path = export_path
        self.sample_dir: Path | None = None

    def _setup_eval_paths(self) -> None:
        """Resolve output folders on every rank (``trainer.log_dir`` is a collective call: never on rank 0 alone)."""
        root = Path(self.trainer.log_dir or self.trainer.default_root_dir)
        self.sample_dir = root / "samples"
        if self.export_path is None:
            self.export_path = str(root / "g_ema.safetensors")

    # ------------------------------------------------------------------ evaluation steps
    def _eval_start(self) -> None:
        for module in self._aux.values():
            module.to(self.device)
        if self.metrics is not None:
            self.metrics.reset()
        if self.lpips_mean is not None:
            self.lpips_mean.reset()

    @torch.no_grad()
    def _eval_step(self, real: Tensor, batch_idx: int) -> None:
        n = self.metric_batch_size or real.shape[0]
        gen = iteration_generator(self.seed, self.global_rank, self.trainer.world_size, batch_idx, self.device,
                                  _EVAL_STREAM)  # fmt: skip
        z = torch.randn(n, self.generator_ema.z_dim, generator=gen, device=self.device)
        c = self._cond(n, gen)  # [n, cond_dim] cameras of a camera-conditioned generator, else None
        if self.metrics is not None:
            extract = self._aux["features"]
            self.metrics.update(extract(real), real=True)
            self.metrics.update(extract(self.generator_ema(z, c).image), real=False)
        if self.lpips_mean is not None:
            ws = self.generator_base.mapping(z, c)  # the same w into both generators (the shared latent space)
            base = self.generator_base.synthesis(ws, c).image
            trans = self.generator_ema.synthesis(ws, c).image
            self.lpips_mean.update(self._aux["lpips"].distance(base, trans).flatten())

    def _eval_end(self, prefix: str) -> dict[str, float]:
        results: dict[str, Tensor] = {}
        if self.metrics is not None and int(self.metrics.fid.fake_features_num_samples) >= 2:
            scores = self.metrics.compute()  # collective under DDP
            results.update(fid=scores["fid"], kid=scores["kid_mean"], kid_std=scores["kid_std"])
        if self.lpips_mean is not None and self.lpips_mean.update_count > 0:
            results["lpips"] = self.lpips_mean.compute()
        if results:
            self.log_dict({f"{prefix}/{k}": v.to(self.device) for k, v in results.items()}, sync_dist=False)
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            self.log_sample_grid(prefix)
        return {k: float(v) for k, v in results.items()}

    def on_validation_epoch_start(self) -> None:
        self._eval_start()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step(batch_images(batch), batch_idx)

    def on_validation_epoch_end(self) -> None:
        self._eval_end("val")

    def on_test_epoch_start(self) -> None:
        self._eval_start()

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step(batch_images(batch), batch_idx)

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    # ------------------------------------------------------------------ image grids (rank 0 only, no collectives)
    @torch.no_grad()
    def sample_grid(self) -> tuple[Tensor, int]:
        """Fixed-latent grid ``[3, H', W']``: rows of base | fine-tuned | blended (or fine-tuned only) and its nrow."""
        z = torch.randn(
            self.num_grid_samples, self.generator_ema.z_dim, generator=torch.Generator().manual_seed(self.seed)
        )
        z = z.to(self.device)
        c = self._default_cond(len(z))  # the canonical camera of a camera-conditioned generator, else None
        if self.generator_base is None:
            images = self.generator_ema(z, c).image
            return make_grid(images, nrow=int(math.ceil(math.sqrt(len(images))))), 0
        ws = self.generator_base.mapping(z, c)
        names = (self.blend_feature,) if self.blend_feature else ()
        base = self.generator_base.synthesis(ws, c, return_features=names)
        trans = self.generator_ema.synthesis(ws, c).image
        columns = [base.image, trans]
        if self.blend_feature:
            swap = {self.blend_feature: base.features[self.blend_feature]}
            columns.append(self.generator_ema.synthesis(ws, c, swap_features=swap).image)
        images = torch.stack(columns, dim=1).flatten(0, 1)  # [N * columns, 3, H, W], one sample per row
        return make_grid(images, nrow=len(columns)), len(columns)

    def log_sample_grid(self, prefix: str = "val") -> Path | None:
        """Save the grid as ``samples/{prefix}_iter{N:06d}.png`` and send it to W&B/TensorBoard (call on rank 0)."""
        if self.sample_dir is None or self.num_grid_samples < 1:
            return None
        grid, _ = self.sample_grid()
        path = save_image(grid, self.sample_dir / f"{prefix}_iter{self.iteration:06d}.png")
        for logger in self.loggers:
            kind = type(logger).__name__
            if kind == "WandbLogger":
                logger.log_image(key=f"{prefix}/samples", images=[str(path)], caption=["base | fine-tuned | blended"])
            elif kind == "TensorBoardLogger":
                logger.experiment.add_image(f"{prefix}/samples", grid.add(1).div(2).clamp(0, 1), self.iteration)
        return path
