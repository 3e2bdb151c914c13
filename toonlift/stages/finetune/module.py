"""Stage 1: fine-tune an FFHQ StyleGAN2 into a cartoon generator sharing its latent space (or train from scratch).

Seed ``000_...`` §III-B; Cartoon-StyleGAN's ``train.py`` (pipeline-facts §0a); rosinality's training loop (§1.3).
Manual optimisation, one iteration per batch:

1. D step: ``softplus(D(aug(G(z)))) + softplus(-D(aug(x)))``; ADA statistics from the real logits.
2. Lazy R1 every ``r1.interval`` iterations on augmented reals (gradient w.r.t. the un-augmented reals).
3. G step: ``softplus(-D(aug(G(z))))`` + structure loss between the first n block outputs of ``G_base`` and ``G``
   for the same codes, the same style-mixing cut and the same noise maps.
4. Lazy path-length regularisation every ``path_length.interval`` iterations.
5. EMA of G; ADA ``p`` update (summed over ranks); ``iteration += 1``.

All randomness of an iteration comes from :func:`toonlift.utils.rng.iteration_generator`, so runs are
reproducible, resumable mid-stream, and every DDP rank draws different latents.

Backbone capabilities (``toonlift.plugins.backbones.capabilities``), checked at construction: ``Exportable`` (G and
D: checkpoints record their architecture, ``G_ema`` is exported); ``FeatureTaps`` when the structure loss is on;
``FreezableBlocks`` (D) when ``freeze_d > 0``. ``NoiseInputs`` is used when offered (``G`` and ``G_base`` then see the
same noise maps); ``CameraConditioned`` generators get cameras from ``sample_cond`` and the discriminator sees them
(reals use the batch's ``cond``).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.ema import REFERENCE_EMA_DECAY, ema_decay_for_batch, ema_update
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import CameraConditioned, NoiseInputs, has
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.export import model_meta, save_model
from toonlift.plugins.losses.adversarial import NonSaturatingLoss
from toonlift.plugins.losses.base import Loss
from toonlift.plugins.losses.path_length import PathLengthLoss
from toonlift.plugins.losses.r1 import R1Loss
from toonlift.plugins.losses.structure import StructureLoss
from toonlift.stages.finetune.adaptive_augment import AdaptiveAugment
from toonlift.stages.finetune.arguments import check_arguments
from toonlift.stages.finetune.evaluation import FinetuneEvalMixin
from toonlift.stages.finetune.sampling import FinetuneSampling
from toonlift.utils.batches import batch_cond, batch_images


def set_trainable(params: list[nn.Parameter], flag: bool) -> None:
    """Toggle ``requires_grad`` of a parameter list (the other network is frozen during each phase)."""
    for p in params:
        p.requires_grad_(flag)


class FinetuneModule(FinetuneSampling, FinetuneEvalMixin, ToonModule):
    """StyleGAN2 fine-tuning with structure loss, ADA, FreezeD, lazy R1/path-length, EMA, FID/KID/LPIPS.

    Args:
        generator: the generator to train (``class_path: stylegan2`` with ``checkpoint`` = the FFHQ base).
        discriminator: its discriminator (``class_path: stylegan2``, ``checkpoint_key: d``).
        adversarial: adversarial loss (default non-saturating logistic); ``weight`` scales the G term.
        r1: R1 penalty (default gamma 10 every 16 iterations); ``weight: 0`` disables it.
        structure: structure loss (default weight 1 over n = 2 blocks); ``weight: 0`` disables it.
        path_length: path-length regulariser (default weight 2 every 4 iterations); ``weight: 0`` disables it.
        augment: adaptive discriminator augmentation (default: ADA on, target 0.6).
        lpips: a loss with ``distance(pred, target) -> [B]`` (e.g. ``class_path: lpips``) for the LPIPS metric
            between ``G_base(w)`` and ``G_ema(w)``; None skips LPIPS.
        keep_base: keep a frozen copy of the initial generator as ``G_base`` (structure loss, LPIPS, base column
            of the sample grids). Set False to train from scratch.
        freeze_d: freeze the first k discriminator blocks (``convs[0..k-1]``: fromRGB, then ResBlocks from the input
            side; FreezeD). Cartoon-StyleGAN's ``--freezeD=3`` trains only the last 3 ResBlocks, i.e.
            ``freeze_d = num_blocks + 1 - 3`` (4 at 256 px).
        style_mixing: probability of two-code style mixing per batch.
        lr: Adam learning rate (before the lazy-regularisation correction).
        betas: Adam betas (before the correction ``beta ** (k / (k + 1))``).
        ema_decay: EMA decay of ``G_ema``; None = the reference ``0.5 ** (32 / 10000)``.
        ema_half_life_images: if set, use the batch-size-aware decay ``0.5 ** (global_batch / half_life)``.
        max_iterations: stop after this many iterations (the module's own counter; Lightning's ``global_step``
            counts optimizer steps).
        seed: base seed of the per-iteration, per-rank random streams and of the fixed sample latents.
        feature_extractor: FID/KID features: ``"inception"`` (needs ``inception_weights``), a registered
            feature-extractor plugin name, or None to skip FID/KID.
        inception_weights: path of torch-fidelity's FID Inception weights.
        metric_batch_size: generated images per validation batch (default: the real batch size).
        num_grid_samples: fixed latents in the logged image grids.
        blend_resolution: block whose ``G_base`` feature is swapped into ``G_ema`` for the "blended" grid column.
        export_path: where the EMA generator is exported at the end of fit (default ``<log_dir>/g_ema.safetensors``).
        export_discriminator_path: where the discriminator is exported at the end of fit (None: not exported).
    """

    own_step_limit = "--model.init_args.max_iterations"

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from toonlift.plugins.stylegan2 import StyleGAN2Backbone, StyleGAN2Discriminator

        g, d = StyleGAN2Backbone, StyleGAN2Discriminator
        export = str(workdir / "g_ema.safetensors")
        return {"generator": g(**g.example_args(workdir)), "discriminator": d(**d.example_args(workdir)),
                "max_iterations": 1, "num_grid_samples": 2, "export_path": export}  # fmt: skip

    def __init__(
        self,
        generator: Backbone,
        discriminator: Discriminator,
        adversarial: Loss | None = None,
        r1: Loss | None = None,
        structure: StructureLoss | None = None,
        path_length: PathLengthLoss | None = None,
        augment: AdaptiveAugment | None = None,
        lpips: Loss | None = None,
        keep_base: bool = True,
        freeze_d: int = 0,
        style_mixing: float = 0.9,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        ema_decay: float | None = None,
        ema_half_life_images: float | None = None,
        max_iterations: int = 2000,
        seed: int = 0,
        feature_extractor: str | None = None,
        inception_weights: str | None = None,
        metric_batch_size: int | None = None,
        num_grid_samples: int = 8,
        blend_resolution: int = 16,
        export_path: str | None = None,
        export_discriminator_path: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters(
            ignore=["generator", "discriminator", "adversarial", "r1", "structure", "path_length", "augment", "lpips"]
        )
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial = adversarial if adversarial is not None else NonSaturatingLoss()
        self.r1 = r1 if r1 is not None else R1Loss()
        self.structure = structure if structure is not None else StructureLoss()
        self.path_length = path_length if path_length is not None else PathLengthLoss()
        self.augment = augment if augment is not None else AdaptiveAugment()
        check_arguments(generator, discriminator, self.r1, self.structure, self.path_length, keep_base=keep_base,
                        freeze_d=freeze_d, style_mixing=style_mixing, max_iterations=max_iterations, lr=lr,
                        betas=betas, ema_decay=ema_decay, ema_half_life_images=ema_half_life_images,
                        num_grid_samples=num_grid_samples, metric_batch_size=metric_batch_size)  # fmt: skip
        self.shared_noise = has(generator, NoiseInputs)
        self.camera = has(generator, CameraConditioned) and generator.cond_dim > 0
        self.generator_ema = copy.deepcopy(generator).eval().requires_grad_(False)
        self.generator_base = copy.deepcopy(generator).eval().requires_grad_(False) if keep_base else None
        self.structure_names = self._structure_feature_names()
        self.d_trainable = self._apply_freeze_d(freeze_d)
        self.style_mixing = style_mixing
        self.lr, self.betas = lr, tuple(betas)
        self.ema_decay, self.ema_half_life_images = ema_decay, ema_half_life_images
        self.max_iterations = max_iterations
        self.seed = seed
        self.iteration = 0
        self._init_eval(lpips, feature_extractor, inception_weights, metric_batch_size, num_grid_samples,
                        blend_resolution, export_path)  # fmt: skip

    # ------------------------------------------------------------------ construction helpers
    def _structure_feature_names(self) -> list[str]:
        if not self.structure.enabled:
            return []
        return self.generator.structure_feature_names(self.structure.num_blocks)

    def _apply_freeze_d(self, k: int) -> list[nn.Parameter]:
        """Freeze the first ``k`` discriminator blocks from the input side (FreezeD); return the trainable ones."""
        if k < 0:
            raise ConfigError(f"FinetuneModule: freeze_d must be >= 0, got {k}.")
        for p in self.discriminator.block_parameters(k) if k else []:
            p.requires_grad_(False)
        return [p for p in self.discriminator.parameters() if p.requires_grad]

    # ------------------------------------------------------------------ Lightning plumbing
    def setup(self, stage: str) -> None:
        """Make plain ``strategy=ddp`` safe before Lightning wraps the module (G and D steps use disjoint params)."""
        from pytorch_lightning.strategies import DDPStrategy

        strategy = self.trainer.strategy
        if isinstance(strategy, DDPStrategy) and stage == "fit":
            kwargs = getattr(strategy, "_ddp_kwargs", None)
            if kwargs is None:
                raise ConfigError("FinetuneModule under DDP: use --trainer.strategy ddp_find_unused_parameters_true.")
            if not kwargs.get("find_unused_parameters") or kwargs.get("static_graph"):
                # One DDP wraps G and D; each backward only reaches one of them. DDP must find the unused half.
                kwargs["find_unused_parameters"] = True
                kwargs["static_graph"] = False
                rank_zero_info("FinetuneModule: DDP set to find_unused_parameters=True (separate G and D steps).")
        self._setup_eval_paths()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for G and for D's trainable parameters with the lazy-regularisation correction ``k / (k + 1)``."""

        def adam(params: list[nn.Parameter], loss: Loss) -> torch.optim.Optimizer:
            ratio = loss.interval / (loss.interval + 1) if loss.enabled else 1.0
            betas = (float(self.betas[0]) ** ratio, float(self.betas[1]) ** ratio)
            return torch.optim.Adam(params, lr=self.lr * ratio, betas=betas)

        return [adam(list(self.generator.parameters()), self.path_length), adam(self.d_trainable, self.r1)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["toonlift_finetune"] = {
            "iteration": self.iteration,
            "generator_arch": self.generator.arch_args(),
            "discriminator_arch": self.discriminator.arch_args(),
            "generator_model": model_meta(self.generator),
            "discriminator_model": model_meta(self.discriminator),
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": [int(x) for x in np.random.get_state()[1]],
                "python": list(random.getstate()[1]),
            },
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("toonlift_finetune", {})
        self.iteration = int(state.get("iteration", 0))
        rng = state.get("rng")
        if rng:  # training draws only from per-iteration streams; global RNG restored for anything else
            torch.set_rng_state(rng["torch"])
            np.random.set_state(("MT19937", np.asarray(rng["numpy"], dtype=np.uint32), 624, 0, 0.0))
            random.setstate((3, tuple(rng["python"]), None))

    @staticmethod
    def _finite(name: str, value: Tensor, iteration: int) -> None:
        if not torch.isfinite(value).all():
            raise NonFiniteError(
                f"The {name} became {value.item()} at iteration {iteration}. Lower the learning rate, raise the R1 "
                "weight, or resume from an earlier checkpoint (--ckpt_path)."
            )

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch_images(batch)  # [B, 3, H, W] in [-1, 1]
        real_c = batch_cond(batch)  # [B, cond_dim] cameras of the real images, or None
        if self.discriminator.cond_dim and real_c is None:
            raise ConfigError(
                "FinetuneModule: the discriminator is camera-conditioned but the data gives no camera per image; use "
                "a data module whose batches are dicts carrying each image's camera under 'cond' [B, cond_dim]."
            )
        opt_g, opt_d = self.optimizers()
        b, it = real.shape[0], self.iteration
        gen = self._rng()
        g_params = list(self.generator.parameters())
        logs: dict[str, float] = {}

        # ---- discriminator: logistic loss on augmented reals and fakes
        set_trainable(g_params, False)
        set_trainable(self.d_trainable, True)
        with torch.no_grad():
            z1, z2, inject = self._codes(b, gen)
            c = self._cond(b, gen)
            ws = self._ws(self.generator, z1, z2, inject, c)
            fake = self._synth(self.generator, ws, self._noise(b, gen), cond=c)
        real_logits = self.discriminator(self.augment(real, gen), real_c)
        fake_logits = self.discriminator(self.augment(fake.image, gen), c)
        d_loss = self.adversarial.discriminator(real_logits, fake_logits)
        self._finite("discriminator loss", d_loss, it)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.augment.accumulate(real_logits)
        logs.update(
            d_loss=float(d_loss.detach()),
            real_score=float(real_logits.detach().mean()),
            fake_score=float(fake_logits.detach().mean()),
        )

        # ---- lazy R1 on (augmented) reals; the gradient is taken w.r.t. the un-augmented images
        if self.r1.enabled and it % self.r1.interval == 0:
            real_r = real.detach().requires_grad_(True)
            logits = self.discriminator(self.augment(real_r, gen), real_c)
            r1 = self.r1(logits, real_r)  # 0.5 * interval * ||grad||^2
            self._finite("R1 penalty", r1, it)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(self.r1.weight * r1 + 0.0 * logits[0].sum())
            opt_d.step()
            logs["r1"] = float(r1.detach()) / (0.5 * self.r1.interval)

        # ---- generator: non-saturating loss + structure loss with the same codes, mixing cut and noise as G_base
        set_trainable(self.d_trainable, False)
        set_trainable(g_params, True)
        z1, z2, inject = self._codes(b, gen)
        c = self._cond(b, gen)
        noise = self._noise(b, gen)
        names = tuple(self.structure_names)
        out = self._synth(self.generator, self._ws(self.generator, z1, z2, inject, c), noise, names, c)
        g_adv = self.adversarial(self.discriminator(self.augment(out.image, gen), c))
        g_loss = self.adversarial.weight * g_adv
        logs["g_adv"] = float(g_adv.detach())
        if names:
            with torch.no_grad():
                ws_base = self._ws(self.generator_base, z1, z2, inject, c)
                base = self._synth(self.generator_base, ws_base, noise, names, c)
            l_str = self.structure([base.features[n] for n in names], [out.features[n] for n in names])
            g_loss = g_loss + self.structure.weight * l_str
            logs["structure"] = float(l_str.detach())
        self._finite("generator loss", g_loss, it)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        logs["g_loss"] = float(g_loss.detach())

        # ---- lazy path-length regularisation on a smaller batch
        if self.path_length.enabled and it % self.path_length.interval == 0:
            pb = max(1, b // self.path_length.batch_shrink)
            z1, z2, inject = self._codes(pb, gen)
            c = self._cond(pb, gen)
            ws = self._ws(self.generator, z1, z2, inject, c)
            img = self._synth(self.generator, ws, self._noise(pb, gen), cond=c).image
            penalty = self.path_length(img, ws, generator=gen)
            self._finite("path-length penalty", penalty, it)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(self.path_length.weight * penalty + 0.0 * img[0, 0, 0, 0])
            opt_g.step()
            logs["path_length"] = float(penalty.detach()) / self.path_length.interval
            logs["mean_path_length"] = float(self.path_length.mean_path_length)
        set_trainable(self.d_trainable, True)

        # ---- EMA, ADA, counters
        ema_update(self.generator_ema, self.generator, self._ema_decay(b))
        self.iteration += 1
        self.augment.step(self.iteration, self._reduce_sum)
        logs.update(augment_p=self.augment.probability, iteration=float(self.iteration))
        self.log_dict({f"train/{k}": v for k, v in logs.items()}, on_step=True, prog_bar=False, batch_size=b)
        self.log("it", float(self.iteration), prog_bar=True, on_step=True, logger=False, batch_size=b)
        if self.iteration >= self.max_iterations:
            self.trainer.should_stop = True

    def _ema_decay(self, batch: int) -> float:
        if self.ema_half_life_images is not None:
            return ema_decay_for_batch(batch * self.trainer.world_size, self.ema_half_life_images)
        return REFERENCE_EMA_DECAY if self.ema_decay is None else self.ema_decay

    def _reduce_sum(self, t: Tensor) -> Tensor:
        if self.trainer.world_size == 1:
            return t
        return self.trainer.strategy.reduce(t.to(self.device), reduce_op="sum")

    def on_fit_end(self) -> None:
        """Export ``G_ema`` (safetensors + JSON sidecar) for the next stages (rank 0 writes)."""
        if self.trainer.is_global_zero and self.export_path is not None:
            path = self.export_generator(self.export_path)
            rank_zero_info(f"FinetuneModule: exported G_ema to {path}")
        d_path = self.hparams.get("export_discriminator_path")
        if self.trainer.is_global_zero and d_path is not None:
            rank_zero_info(f"FinetuneModule: exported D to {save_model(self.discriminator, d_path)}")

    def export_generator(self, path: str | Path, which: str = "ema") -> Path:
        """Write the EMA (``which="ema"``) or trained (``"train"``) generator as safetensors + JSON sidecar."""
        return save_model(self.generator_ema if which == "ema" else self.generator, path)


__all__ = ["FinetuneModule", "set_trainable"]
