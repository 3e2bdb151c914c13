"""``EG3DGANModule``: EG3D's training loop (``eg3d/training/loss.py``, ``training_loop.py``) for toonlift.

Manual optimisation, one iteration per batch (all randomness from per-iteration, per-rank streams of
:func:`toonlift.utils.rng.iteration_generator`, so a resumed run draws what the uninterrupted one drew):

1. D step: ``softplus(D(fake)) + softplus(-D(real))``. Fakes are rendered (with EG3D's random depth jitter) at the
   cameras of a random permutation of the batch's real cameras; D sees the blurred image and the raw render. Reals
   get a raw image (the image resized to the neural resolution), both blurred. The fakes' mean ``w`` updates
   ``w_avg``.
2. Lazy R1 every ``r1_interval`` iterations: ``gamma / 2 * (||dD/dx||^2 + ||dD/dx_raw||^2)`` times the interval.
3. G step: ``softplus(-D(fake))``.
4. Lazy density regularisation every ``density_reg_interval`` iterations: ``density_reg * L1`` between the density
   at random points and at copies moved by ``N(0, density_reg_p_dist)``, times the interval.
5. EMA of G with EG3D's half-life (``ema_kimg = batch * 10 / 32``, ramp-up 0.05); ``iteration += 1``.

The blur sigma fades from ``blur_init_sigma`` to 0 over ``blur_fade_images`` images (EG3D: 10 over
``batch * 200 / 32`` kimg). Adam for both networks with the lazy-regularisation correction of lr and betas.
Checkpoints record the networks like Stage 1's, so ``toonlift export-generator`` exports ``G_ema`` from them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor, nn

from toonlift.errors import ConfigError, DataError, NonFiniteError
from toonlift.functional.ema import ema_update
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.capabilities import CameraConditioned, Exportable, require
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator, resize
from toonlift.plugins.eg3d.world_camera import synthetic_cond
from toonlift.plugins.export import model_meta, save_model
from toonlift.stages.eg3d_gan.regularizers import blur_sigma, density_tv, dual_r1, gaussian_blur
from toonlift.utils import checks
from toonlift.utils.batches import batch_cond, batch_images
from toonlift.utils.rng import iteration_generator


def _trainable(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class EG3DGANModule(ToonModule):
    """Train an EG3D generator against its dual discriminator (registry name ``eg3d_gan``).

    Args:
        generator: the ``eg3d`` backbone.
        discriminator: the ``eg3d_dual`` discriminator (its image side must equal the generator's).
        r1_gamma: R1 weight (EG3D's ``--gamma``; its guide: 1 for FFHQ at batch 32, higher for small batches).
        r1_interval: lazy R1 period (EG3D: 16).
        density_reg: density regulariser weight (EG3D: 0.25); 0 disables it.
        density_reg_interval: its lazy period (EG3D: 4).
        density_reg_p_dist: perturbation of the regulariser's points (EG3D: 0.004).
        density_reg_points: points per sample (EG3D: 1000).
        blur_init_sigma: initial blur of D's inputs (EG3D: 10); 0 disables it.
        blur_fade_images: images over which the blur fades (``None``: EG3D's ``batch * 200 / 32`` kimg).
        lr_g: generator learning rate (EG3D: 0.0025).
        lr_d: discriminator learning rate (EG3D: 0.002).
        betas: Adam betas (EG3D: 0, 0.99).
        ema_kimg: EMA half-life in kimg (``None``: EG3D's ``batch * 10 / 32``).
        ema_rampup: EMA half-life ramp-up as a fraction of the images seen (EG3D: 0.05); ``None`` for none.
        max_iterations: stop after this many iterations.
        seed: base seed of the per-iteration random streams.
        export_path: where ``G_ema`` is exported at the end of fit (``None``: not exported).
        cameras: where the real images' cameras come from: ``"cond"`` (the batch's ``cond`` [B, 25]) or
            ``"synthetic_pose"`` (the synthetic world's ``pose`` [B, 3], converted exactly by
            :func:`toonlift.plugins.eg3d.world_camera.synthetic_cond`; the data module must output ``pose``).
        grid_every: every this many iterations (and at the end) ``G_ema``'s faces at ``grid_yaws`` (image and depth
            rows per seed) go to ``sample_dir`` and to the W&B/TensorBoard loggers; 0: never.
        grid_seeds: seeds of the grid's faces.
        grid_yaws: yaws of the grid's columns (degrees).
        sample_dir: folder of the grid PNGs (``None``: no grids).
    """

    own_step_limit = "--model.init_args.max_iterations"

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        g = EG3DBackbone(**EG3DBackbone.example_args(workdir))
        d = EG3DDualDiscriminator(**EG3DDualDiscriminator.example_args(workdir))
        return {"generator": g, "discriminator": d, "max_iterations": 1, "export_path": str(workdir / "g.safetensors")}

    def __init__(
        self,
        generator: EG3DBackbone,
        discriminator: EG3DDualDiscriminator,
        r1_gamma: float = 5.0,
        r1_interval: int = 16,
        density_reg: float = 0.25,
        density_reg_interval: int = 4,
        density_reg_p_dist: float = 0.004,
        density_reg_points: int = 1000,
        blur_init_sigma: float = 10.0,
        blur_fade_images: float | None = None,
        lr_g: float = 0.0025,
        lr_d: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        ema_kimg: float | None = None,
        ema_rampup: float | None = 0.05,
        max_iterations: int = 1000,
        seed: int = 0,
        export_path: str | None = None,
        cameras: str = "cond",
        grid_every: int = 0,
        grid_seeds: list[int] | None = None,
        grid_yaws: list[float] | None = None,
        sample_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters(ignore=["generator", "discriminator"])
        owner = "EG3DGANModule"
        stage = "EG3D training (EG3DGANModule)"
        require(generator, CameraConditioned, Exportable, stage=stage)
        require(discriminator, Exportable, stage=stage, role="discriminator")
        if not isinstance(generator, EG3DBackbone) or not isinstance(discriminator, EG3DDualDiscriminator):
            raise ConfigError(
                f"{owner} trains the 'eg3d' backbone against the 'eg3d_dual' discriminator (the density regulariser "
                f"reads the tri-planes, D reads the raw render); got {type(generator).__name__} and "
                f"{type(discriminator).__name__}."
            )
        if discriminator.resolution != generator.resolution:
            raise ConfigError(
                f"{owner}: the discriminator sees {discriminator.resolution} px images but the generator makes "
                f"{generator.resolution} px; give the discriminator resolution: {generator.resolution}."
            )
        for name, value in (("r1_gamma", r1_gamma), ("density_reg", density_reg), ("blur_init_sigma", blur_init_sigma)):
            checks.non_negative(owner, name, value)
        counts = {"r1_interval": r1_interval, "density_reg_interval": density_reg_interval,
                  "density_reg_points": density_reg_points, "max_iterations": max_iterations}  # fmt: skip
        for name, value in counts.items():
            checks.at_least(owner, name, value, 1)
        if cameras not in ("cond", "synthetic_pose"):
            raise ConfigError(f"{owner}: cameras must be 'cond' or 'synthetic_pose', got {cameras!r}.")
        checks.non_negative(owner, "grid_every", grid_every)
        self.grid_seeds = [0, 1, 2, 3] if grid_seeds is None else [int(x) for x in grid_seeds]
        self.grid_yaws = [-30.0, -15.0, 0.0, 15.0, 30.0] if grid_yaws is None else [float(x) for x in grid_yaws]
        if grid_every and (not self.grid_seeds or not self.grid_yaws):
            raise ConfigError(f"{owner}: grid_every > 0 needs at least one grid seed and one grid yaw.")
        checks.positive(owner, "lr_g", lr_g)
        checks.positive(owner, "lr_d", lr_d)
        self.generator, self.discriminator = generator, discriminator
        self.generator_ema = copy.deepcopy(generator).eval().requires_grad_(False)
        self.iteration = 0

    # ------------------------------------------------------------------ Lightning plumbing
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for G and D with EG3D's lazy-regularisation correction ``k / (k + 1)`` of lr and betas."""
        h = self.hparams

        def adam(params: Any, lr: float, interval: int, enabled: bool) -> torch.optim.Optimizer:
            ratio = interval / (interval + 1) if enabled else 1.0
            return torch.optim.Adam(params, lr=lr * ratio, betas=(h.betas[0] ** ratio, h.betas[1] ** ratio))

        return [
            adam(self.generator.parameters(), h.lr_g, h.density_reg_interval, h.density_reg > 0),
            adam(self.discriminator.parameters(), h.lr_d, h.r1_interval, h.r1_gamma > 0),
        ]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Stage 1's layout, so `toonlift export-generator` can export G_ema (or D) from these checkpoints
        checkpoint["toonlift_finetune"] = {
            "iteration": self.iteration,
            "generator_model": model_meta(self.generator),
            "discriminator_model": model_meta(self.discriminator),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = int(checkpoint.get("toonlift_finetune", {}).get("iteration", 0))

    # ------------------------------------------------------------------ helpers
    def _rng(self, stream: int) -> torch.Generator:
        return iteration_generator(
            self.hparams.seed, self.global_rank, self.trainer.world_size, self.iteration, self.device, stream
        )

    def _real_cameras(self, batch: Any, real: Tensor) -> Tensor:
        if self.hparams.cameras == "synthetic_pose":
            pose = batch.get("pose") if isinstance(batch, dict) else None
            if not isinstance(pose, Tensor):
                raise DataError(
                    "EG3DGANModule with cameras: synthetic_pose needs the synthetic world's 'pose' in every batch; add "
                    "pose to the data module's outputs (outputs: [image, pose])."
                )
            return synthetic_cond(pose, real.shape[-1]).to(real)
        real_c = batch_cond(batch)
        if real_c is None or real_c.shape != (real.shape[0], 25):
            raise DataError(
                "EG3DGANModule needs each real image's camera: batches must be dicts with 'image' and 'cond' [B, 25] "
                "(EG3D's label: cam2world 4x4 then normalised intrinsics), or use cameras: synthetic_pose on the "
                "synthetic world."
            )
        return real_c.to(real)

    def _images_seen(self, batch: int) -> float:
        return float(self.iteration * batch * self.trainer.world_size)

    def _fake(self, real_c: Tensor, gen: torch.Generator, update_w_avg: bool = False) -> Any:
        """Render fakes at a permutation of the real cameras (EG3D draws fakes' cameras from the data set)."""
        b = real_c.shape[0]
        c = real_c[torch.randperm(b, generator=gen, device=gen.device).to(real_c.device)]
        z = torch.randn(b, self.generator.z_dim, generator=gen, device=gen.device).to(real_c)
        ws = self.generator.mapping(z, c)
        if update_w_avg:
            self.generator.update_w_avg(ws)
        noise = self.generator.make_noise(b, generator=gen, device=real_c.device)
        out = self.generator.synthesis(ws, c, noise=noise, jitter=True, generator=gen)
        return out, ws, c

    def _d(self, image: Tensor, raw: Tensor, c: Tensor, sigma: float) -> Tensor:
        return self.discriminator(gaussian_blur(image, sigma), c, raw)

    @staticmethod
    def _finite(name: str, value: Tensor, iteration: int) -> None:
        if not torch.isfinite(value).all():
            raise NonFiniteError(
                f"The {name} became {value.item()} at iteration {iteration}. Lower the learning rates, raise r1_gamma "
                "(small batches need more, EG3D issue 68), or resume from an earlier checkpoint (--ckpt_path)."
            )

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch_images(batch)
        real_c = self._real_cameras(batch, real)
        h, it, b = self.hparams, self.iteration, real.shape[0]
        opt_g, opt_d = self.optimizers()
        fade = h.blur_fade_images if h.blur_fade_images is not None else b * self.trainer.world_size * 200 / 32 * 1e3
        sigma = blur_sigma(self._images_seen(b), h.blur_init_sigma, fade)
        real_raw = gaussian_blur(resize(real, self.generator.neural_resolution), sigma)
        logs: dict[str, float] = {"blur_sigma": sigma}

        # ---- D: logistic loss on blurred reals and fakes
        _trainable(self.generator, False)
        _trainable(self.discriminator, True)
        with torch.no_grad():
            fake, _, c = self._fake(real_c, self._rng(0), update_w_avg=True)
        real_logits = self._d(real, real_raw, real_c, sigma)
        fake_logits = self._d(fake.image, fake.image_raw, c, sigma)
        d_loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self._finite("discriminator loss", d_loss, it)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        logs.update(
            d_loss=float(d_loss.detach()),
            real_score=float(real_logits.detach().mean()),
            fake_score=float(fake_logits.detach().mean()),
        )

        # ---- lazy R1 on both of D's inputs
        if h.r1_gamma > 0 and it % h.r1_interval == 0:
            x, x_raw = real.detach().requires_grad_(True), real_raw.detach().requires_grad_(True)
            logits = self._d(x, x_raw, real_c, sigma)
            penalty = dual_r1(logits, x, x_raw)
            self._finite("R1 penalty", penalty, it)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(penalty * (h.r1_gamma / 2) * h.r1_interval + 0.0 * logits.sum())
            opt_d.step()
            logs["r1"] = float(penalty.detach())

        # ---- G: non-saturating loss
        _trainable(self.discriminator, False)
        _trainable(self.generator, True)
        fake, ws, c = self._fake(real_c, self._rng(1))
        g_loss = F.softplus(-self._d(fake.image, fake.image_raw, c, sigma)).mean()
        self._finite("generator loss", g_loss, it)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        logs["g_loss"] = float(g_loss.detach())

        # ---- lazy density regularisation
        if h.density_reg > 0 and it % h.density_reg_interval == 0:
            gen = self._rng(2)
            z = torch.randn(b, self.generator.z_dim, generator=gen, device=gen.device).to(real)
            tv = density_tv(
                self.generator, self.generator.mapping(z, c), gen, h.density_reg_points, h.density_reg_p_dist
            )
            self._finite("density regulariser", tv, it)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(tv * h.density_reg * h.density_reg_interval)
            opt_g.step()
            logs["density_tv"] = float(tv.detach())
        _trainable(self.discriminator, True)

        # ---- EMA and counters
        ema_update(self.generator_ema, self.generator, self._ema_beta(b))
        self.iteration += 1
        logs["iteration"] = float(self.iteration)
        self.log_dict({f"train/{k}": v for k, v in logs.items()}, on_step=True, batch_size=b)
        if h.grid_every and self.iteration % h.grid_every == 0:
            self._log_grid()
        if self.iteration >= h.max_iterations:
            self.trainer.should_stop = True

    def _log_grid(self) -> Path | None:
        """``G_ema`` at fixed yaws (deterministic: no random stream is touched), on rank 0."""
        if self.hparams.sample_dir is None or not self.trainer.is_global_zero:
            return None
        from toonlift.stages.eg3d_gan.grids import log_yaw_grid

        return log_yaw_grid(
            self.generator_ema, self.grid_seeds, self.grid_yaws, Path(self.hparams.sample_dir), self.iteration,
            self.loggers,
        )  # fmt: skip

    def _ema_beta(self, batch: int) -> float:
        """EG3D: ``0.5 ** (batch / ema_nimg)`` with ``ema_nimg = ema_kimg * 1000``, ramped up by images seen."""
        global_batch = batch * self.trainer.world_size
        ema_nimg = (self.hparams.ema_kimg if self.hparams.ema_kimg is not None else global_batch * 10 / 32) * 1000
        if self.hparams.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self._images_seen(batch) * self.hparams.ema_rampup)
        return 0.5 ** (global_batch / max(ema_nimg, 1e-8))

    def on_fit_end(self) -> None:
        """Export ``G_ema`` (safetensors + JSON sidecar) and draw a last grid."""
        if self.hparams.grid_every:
            self._log_grid()
        if self.trainer.is_global_zero and self.hparams.export_path is not None:
            rank_zero_info(
                f"EG3DGANModule: exported G_ema to {save_model(self.generator_ema, self.hparams.export_path)}"
            )


__all__ = ["EG3DGANModule"]
