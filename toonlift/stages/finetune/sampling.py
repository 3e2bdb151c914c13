"""The random draws of one :class:`FinetuneModule` iteration: latents, style mixing, cameras, noise maps, synthesis.

Mixed into the module so the training step (:mod:`toonlift.stages.finetune.module`) and the evaluation
(:mod:`toonlift.stages.finetune.evaluation`) draw the same way. Every draw comes from the iteration's own generator
(:func:`toonlift.utils.rng.iteration_generator`), never from the global RNG, so runs are reproducible, resumable
mid-stream, and every DDP rank draws different latents.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.plugins.backbones.base import Backbone
from toonlift.utils.rng import iteration_generator


class FinetuneSampling:
    """Adds the per-iteration random stream and the codes, cameras, noise and images drawn from it."""

    # set by FinetuneModule.__init__ (declared here for readers); ``device``, ``global_rank`` and ``trainer`` are
    # Lightning's
    generator: Backbone
    seed: int
    iteration: int
    style_mixing: float
    shared_noise: bool
    camera: bool

    def _rng(self, stream: int = 0) -> torch.Generator:
        return iteration_generator(
            self.seed, self.global_rank, self.trainer.world_size, self.iteration, self.device, stream
        )

    def _codes(self, batch: int, gen: torch.Generator) -> tuple[Tensor, Tensor | None, int]:
        """``(z1, z2 or None, inject_index)``: two codes with probability ``style_mixing``."""
        z_dim, num_ws = self.generator.z_dim, self.generator.num_ws
        z1 = torch.randn(batch, z_dim, generator=gen, device=self.device)
        mix = float(torch.rand((), generator=gen, device=self.device)) < self.style_mixing and num_ws > 1
        z2 = torch.randn(batch, z_dim, generator=gen, device=self.device) if mix else None
        inject = int(torch.randint(1, max(num_ws, 2), (), generator=gen, device=self.device)) if mix else num_ws
        return z1, z2, inject

    def _cond(self, batch: int, gen: torch.Generator) -> Tensor | None:
        """``[batch, cond_dim]`` cameras from the generator's training distribution, or None (no camera)."""
        return self.generator.sample_cond(batch, generator=gen, device=self.device) if self.camera else None

    def _default_cond(self, batch: int) -> Tensor | None:
        """``[batch, cond_dim]`` canonical cameras for the fixed sample grids, or None (no camera)."""
        return self.generator.default_cond(batch, device=self.device) if self.camera else None

    @staticmethod
    def _ws(g: Backbone, z1: Tensor, z2: Tensor | None, inject: int, cond: Tensor | None = None) -> Tensor:
        """W+ ``[B, num_ws, w_dim]`` of ``g``'s own mapping, mixed at ``inject``."""
        ws = g.mapping(z1, cond)
        if z2 is None:
            return ws
        return torch.cat([ws[:, :inject], g.mapping(z2, cond)[:, inject:]], dim=1)

    def _noise(self, batch: int, gen: torch.Generator) -> list[Tensor] | None:
        return self.generator.make_noise(batch, generator=gen, device=self.device) if self.shared_noise else None

    def _synth(
        self,
        g: Backbone,
        ws: Tensor,
        noise: list[Tensor] | None,
        features: tuple[str, ...] = (),
        cond: Tensor | None = None,
    ):
        if noise is None:
            return g.synthesis(ws, cond, noise_mode="random", return_features=features)
        return g.synthesis(ws, cond, noise=noise, return_features=features)
