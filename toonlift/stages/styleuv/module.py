"""``StyleUVModule``: train StyleFaceUV's UV generator against the user's StyleGAN2 (registry ``styleuv``).

Each iteration (manual optimisation; randomness from per-iteration streams, so a resumed run draws as before):

1. ``z`` -> ``w = mapping(z)`` (W+), ``I = G(w)`` and the rig latent ``f = F_3D(w)``; the symmetric view
   ``w_s = w + F_yaw(w; -yaw) d``, ``I_s = G(w_s)`` and ``f_s`` = ``f`` with the pose and light of ``F_3D(w_s)``.
2. The UV generator gives the diffuse and displacement maps of ``w``; the rig is rendered with them at ``f``
   (pasted over ``I``) and at ``f_s`` (pasted over ``I_s``).
3. G loss (the code's form): ``g + λ_mv g_s + λ_rec (photo + λ_mv photo_s + λ_p (percept + λ_mv percept_s))``
   with the non-saturating ``g``; the photometric term is masked by the render (Eq. 5) and, in the symmetric view,
   by 0.5 on the texels the original view already sees (the paper's mask; here from the rasteriser).
4. Every ``d_every`` iterations (G:D = 5:1) a D step on ``I`` / ``I_s`` against the renders, ``λ_mv`` on the
   symmetric pair; lazy R1 (γ) every ``r1_interval`` D steps.

The frozen parts (``F_3D``, ``d``, ``F_yaw``) come from ``python -m toonlift.stages.styleuv.train_parts``. The UV
generator is exported (safetensors + JSON) every ``export_every`` iterations and at the end of fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor

from toonlift.errors import NonFiniteError
from toonlift.functional.gan_losses import d_logistic_loss, g_nonsaturating_loss, r1_penalty
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.stages.styleuv.assets import load_photo_discriminator, load_photo_generator
from toonlift.stages.styleuv.losses import masked_photometric
from toonlift.stages.styleuv.parts import load_parts
from toonlift.stages.styleuv.uv_generator import UVGenerator, save_uv_generator
from toonlift.stages.styleuv.uv_render import UVRender, UVRigRenderer, texels_at_pixels
from toonlift.stages.styleuv.yaw import move_to_yaw
from toonlift.utils import checks
from toonlift.utils.rng import iteration_generator

YAW = SLICES["pose"].start


def symmetric_latent(latent: Tensor, latent_sym: Tensor) -> Tensor:
    """``latent`` with the pose and light of ``latent_sym`` (the same face seen from the mirrored yaw)."""
    out = latent.clone()
    for name in ("pose", "light"):
        out[:, SLICES[name]] = latent_sym[:, SLICES[name]]
    return out


class StyleUVModule(ToonModule):
    """StyleFaceUV's 3D (UV) generator training.

    Args:
        parts_path: the trained ``F_3D`` / ``d`` / ``F_yaw`` file.
        generator_path: StyleGAN2 export to start from (``None``: the shipped 64-px photo generator).
        discriminator_path: its discriminator (``None``: the shipped one).
        detail: head-rig detail of the renders (``"low"``: 6k vertices).
        displacement_scale: head units per unit of the displacement map.
        batch_size: codes per iteration.
        lambda_rec: weight of the reconstruction term (paper 10).
        lambda_percept: perceptual weight inside it (paper 0.2; analyser features stand in for VGG).
        lambda_mv: weight of the symmetric view (paper 0.75); 0 trains without it.
        r1_gamma: R1 weight (paper 10).
        r1_interval: lazy R1 period in D steps (code 16).
        d_every: G iterations per D step (paper 5).
        gan: train with the adversarial terms (``False``: reconstruction only).
        lr: Adam learning rate of both networks (paper 1e-3).
        betas: Adam betas.
        max_iterations: stop after this many iterations.
        export_every: export the UV generator every this many iterations (0: only at the end).
        seed: base seed of the per-iteration streams.
        export_path: where the UV generator is written.
    """

    own_step_limit = "--model.init_args.max_iterations"

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from toonlift.stages.styleuv.tiny import write_tiny_models

        return {**write_tiny_models(workdir), "batch_size": 2, "max_iterations": 1,
                "export_path": str(workdir / "uv.safetensors")}  # fmt: skip

    def __init__(
        self,
        parts_path: str,
        generator_path: str | None = None,
        discriminator_path: str | None = None,
        detail: str = "low",
        displacement_scale: float = 0.05,
        batch_size: int = 4,
        lambda_rec: float = 10.0,
        lambda_percept: float = 0.2,
        lambda_mv: float = 0.75,
        r1_gamma: float = 10.0,
        r1_interval: int = 16,
        d_every: int = 5,
        gan: bool = True,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.0, 0.99),
        max_iterations: int = 1000,
        export_every: int = 100,
        seed: int = 0,
        export_path: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters()
        owner = "StyleUVModule"
        for name in ("lambda_rec", "lambda_percept", "lambda_mv", "r1_gamma", "displacement_scale"):
            checks.non_negative(owner, name, getattr(self.hparams, name))
        for name in ("batch_size", "r1_interval", "d_every", "max_iterations"):
            checks.at_least(owner, name, getattr(self.hparams, name), 1)
        checks.positive(owner, "lr", lr)
        self.generator = load_photo_generator(generator_path)
        self.discriminator = load_photo_discriminator(discriminator_path).train()
        self.parts = load_parts(parts_path).requires_grad_(False)
        # registered so they follow .to(device); frozen
        self.coeff, self.yaw_step = self.parts.coeff, self.parts.yaw_step
        self.register_buffer("yaw_normal", self.parts.yaw_normal.clone(), persistent=False)
        self.uv_generator = UVGenerator(self.generator)
        size = self.generator.size
        self.uv_renderer = UVRigRenderer(image_size=size, uv_size=size, detail=detail,
                                         displacement_scale=displacement_scale)  # fmt: skip
        self.perceptual = AnalyserPerceptualLoss().requires_grad_(False)
        self.export_path = export_path  # the CLI checks its folder is writable before the run
        self.iteration = 0
        self.d_steps = 0

    # ------------------------------------------------------------------ Lightning plumbing
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        h = self.hparams
        return [
            torch.optim.Adam(self.uv_generator.parameters(), lr=h.lr, betas=tuple(h.betas)),
            torch.optim.Adam(self.discriminator.parameters(), lr=h.lr, betas=tuple(h.betas)),
        ]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["toonlift_styleuv"] = {"iteration": self.iteration, "d_steps": self.d_steps}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("toonlift_styleuv", {})
        self.iteration, self.d_steps = int(state.get("iteration", 0)), int(state.get("d_steps", 0))

    def steps_per_rank(self) -> int:
        """Iterations left (the ``steps`` data module asks this)."""
        return max(1, self.hparams.max_iterations - self.iteration)

    # ------------------------------------------------------------------ the views
    @torch.no_grad()
    def views(self, gen: torch.Generator) -> dict[str, Tensor]:
        """Codes, StyleGAN2 images and rig latents of the original and (if ``lambda_mv > 0``) symmetric views."""
        b = self.hparams.batch_size
        z = torch.randn(b, self.generator.z_dim, generator=gen, device=gen.device).to(self.device)
        w = self.generator.mapping(z)
        out = {"w": w, "image": self.generator.synthesis(w, noise_mode="const").image, "latent": self.coeff(w)}
        if self.hparams.lambda_mv > 0:
            w_s = move_to_yaw(self.yaw_step, w, self.yaw_normal, -out["latent"][:, YAW])
            out["image_sym"] = self.generator.synthesis(w_s, noise_mode="const").image
            out["latent_sym"] = symmetric_latent(out["latent"], self.coeff(w_s))
        return out

    def render(self, v: dict[str, Tensor], maps: tuple[Tensor, Tensor], sym: bool) -> UVRender:
        """Render UV maps ``(diffuse, displacement)`` in the original or the symmetric view, over its image."""
        key = "_sym" if sym else ""
        return self.uv_renderer(v["latent" + key], maps[0], maps[1], background=v["image" + key])

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Any, batch_idx: int) -> None:
        del batch, batch_idx
        h, it = self.hparams, self.iteration
        opt_g, opt_d = self.optimizers()
        gen = iteration_generator(h.seed, self.global_rank, self.trainer.world_size, it, self.device, 0)
        v = self.views(gen)
        sym = h.lambda_mv > 0
        self.discriminator.requires_grad_(False)
        maps = self.uv_generator(v["w"])
        r = self.render(v, maps, sym=False)
        photo = masked_photometric(r.image, v["image"], r.mask)
        percept = self.perceptual.distance(r.image, v["image"]).mean()
        rec = photo + h.lambda_percept * percept
        g_adv = g_nonsaturating_loss(self.discriminator(r.image)) if h.gan else photo.new_zeros(())
        logs = {"photo": float(photo.detach()), "percept": float(percept.detach())}
        r_s = None
        if sym:
            r_s = self.render(v, maps, sym=True)
            weight = r_s.mask * (1 - 0.5 * texels_at_pixels(r.texels, r_s.uv))
            photo_s = masked_photometric(r_s.image, v["image_sym"], weight)
            percept_s = self.perceptual.distance(r_s.image, v["image_sym"]).mean()
            rec = rec + h.lambda_mv * (photo_s + h.lambda_percept * percept_s)
            if h.gan:
                g_adv = g_adv + h.lambda_mv * g_nonsaturating_loss(self.discriminator(r_s.image))
            logs.update(photo_sym=float(photo_s.detach()), percept_sym=float(percept_s.detach()))
        g_loss = g_adv + h.lambda_rec * rec
        self._finite("generator loss", g_loss)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        logs["g_loss"] = float(g_loss.detach())
        if h.gan and it % h.d_every == 0:
            logs.update(self._d_step(opt_d, v, r, r_s))
        self.iteration += 1
        self.log_dict({f"train/{k}": val for k, val in logs.items()}, on_step=True, batch_size=h.batch_size)
        if h.export_every and self.iteration % h.export_every == 0:
            self.export()
        if self.iteration >= h.max_iterations:
            self.trainer.should_stop = True

    def _d_step(self, opt_d: torch.optim.Optimizer, v: dict, r: UVRender, r_s: UVRender | None) -> dict[str, float]:
        h = self.hparams
        self.discriminator.requires_grad_(True)
        d_loss = d_logistic_loss(self.discriminator(v["image"]), self.discriminator(r.image.detach()))
        if r_s is not None:
            real_s, fake_s = self.discriminator(v["image_sym"]), self.discriminator(r_s.image.detach())
            d_loss = d_loss + h.lambda_mv * d_logistic_loss(real_s, fake_s)
        self._finite("discriminator loss", d_loss)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        logs = {"d_loss": float(d_loss.detach())}
        if h.r1_gamma > 0 and self.d_steps % h.r1_interval == 0:
            x = v["image"].detach().requires_grad_(True)
            penalty = r1_penalty(self.discriminator(x), x)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(penalty * h.r1_gamma / 2 * h.r1_interval)
            opt_d.step()
            logs["r1"] = float(penalty.detach())
        self.d_steps += 1
        self.discriminator.requires_grad_(False)
        return logs

    def _finite(self, name: str, value: Tensor) -> None:
        if not torch.isfinite(value).all():
            raise NonFiniteError(
                f"The StyleFaceUV {name} became {value.item()} at iteration {self.iteration}. Lower lr, or resume from "
                "an earlier checkpoint (--ckpt_path)."
            )

    def export(self) -> Path | None:
        """Write the UV generator to ``export_path`` (rank 0 only)."""
        h = self.hparams
        if h.export_path is None or not self.trainer.is_global_zero:
            return None
        meta = {"iteration": self.iteration, "parts_path": h.parts_path, "generator_path": h.generator_path,
                "displacement_scale": h.displacement_scale, "detail": h.detail}  # fmt: skip
        return save_uv_generator(h.export_path, self.uv_generator, meta)

    def on_fit_end(self) -> None:
        path = self.export()
        if path is not None:
            rank_zero_info(f"StyleUVModule: exported the UV generator to {path}")


__all__ = ["StyleUVModule", "symmetric_latent"]
