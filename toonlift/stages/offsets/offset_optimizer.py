"""Stage 2's offset search: start every latent's offset at ``alpha * n*`` and optimise it for identity.

The search runs through the *human* generator ``G_base`` as the paper does (seed 000 §III-C): the edited images
``G(w + w*)`` and ``G(w - w*)`` are compared with ``G(w)`` by an identity encoder ``f`` (``L_id``, to keep small) and by
low-level features of the face region (``L_low``, to keep large). All offsets of a batch are one tensor optimised by
one Adam; because the objective is a sum of per-sample terms and Adam is element-wise, each latent follows exactly
the trajectory it would follow alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.lr_schedule import get_lr
from toonlift.functional.offsets import OBJECTIVES, edit_latents, offset_objective
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.plugins.parsers.base import FaceParser


@dataclass
class OffsetResult:
    """What one search returns (per-sample tensors are ``[B]``).

    Attributes:
        offset_init: ``[B, D]`` or ``[B, L, D]`` the starting offsets ``alpha * n*``.
        offset: the optimised offsets, same shape.
        losses_init: ``{"id", "low", "keep", "total"}`` at the start.
        losses_final: the same after the last step.
        history: the batch-mean objective before each step.
    """

    offset_init: Tensor
    offset: Tensor
    losses_init: dict[str, Tensor]
    losses_final: dict[str, Tensor]
    history: list[float] = field(default_factory=list)


class OffsetOptimizer(nn.Module):
    """Holds the frozen parts (``G_base``, ``f``, ``f_low``, parser) and runs the batched offset search.

    Args:
        generator: ``G_base``, the human generator the losses are computed on.
        identity_encoder: ``f``: images to identity embeddings.
        low_level: module whose ``low_level(image)`` gives ``f_low`` (``None``: the identity encoder's).
        face_parser: face-region mask of an image (``None``: the whole image counts as face).
        num_steps: Adam steps (10 in the paper; the first has learning rate 0, see ``get_lr``).
        lr: peak learning rate of the projector ramp (0.1).
        rampdown: fraction of the steps ramping down.
        rampup: fraction of the steps ramping up.
        objective: ``"paper"`` (``L_id - lambda_low L_low``) or ``"log"`` (``L_id + lambda_low (-log L_low)``).
        lambda_low: weight of the low-level term (0.2 for ``paper``; the authors' code uses 0.1 with ``log``).
        both_signs: optimise on ``w + w*`` and ``w - w*`` (else ``w + w*`` only).
        edit_layers: W+ indices the offset moves (``None``: all).
        noise_mode: generator noise, ``"const"`` so every step sees the same image noise.
        keep: read-out of what the edit must not change (e.g. ``synthetic_pose_light``: head pose and lighting),
            ``[N, R]`` per image; ``None``: the paper's objective.
        lambda_keep: weight of ``L_keep = sum over signs of |keep(G(w ± w*)) - keep(G(w))|^2`` (beyond the paper:
            ``L_id`` alone lets the edit turn the head and move the light, which independent identity networks
            count as a new person; see docs/stage2.md).
    """

    def __init__(
        self,
        generator: Backbone,
        identity_encoder: IdentityEncoder,
        low_level: IdentityEncoder | None = None,
        face_parser: FaceParser | None = None,
        num_steps: int = 10,
        lr: float = 0.1,
        rampdown: float = 0.25,
        rampup: float = 0.05,
        objective: str = "paper",
        lambda_low: float = 0.2,
        both_signs: bool = True,
        edit_layers: Sequence[int] | None = None,
        noise_mode: str = "const",
        keep: nn.Module | None = None,
        lambda_keep: float = 0.0,
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        if num_steps < 1 or not lr > 0 or not math.isfinite(lr):
            raise ConfigError(f"num_steps must be >= 1 and lr a finite number > 0, got {num_steps} and {lr}")
        if lambda_low < 0:
            raise ConfigError(f"lambda_low must be >= 0, got {lambda_low}")
        if not (0 < rampdown <= 1 and 0 < rampup <= 1):
            raise ConfigError(f"rampdown and rampup are fractions of the steps in (0, 1], got {rampdown} and {rampup}")
        if not (math.isfinite(lambda_keep) and lambda_keep >= 0):
            raise ConfigError(f"lambda_keep must be a finite number >= 0, got {lambda_keep}")
        if lambda_keep > 0 and keep is None:
            raise ConfigError("lambda_keep > 0 needs a keep read-out (e.g. feature extractor synthetic_pose_light).")
        if noise_mode not in ("const", "random", "none"):
            raise ConfigError(f"noise_mode must be one of const, random, none; got {noise_mode!r}")
        if edit_layers is not None:
            bad = [i for i in edit_layers if not 0 <= i < generator.num_ws]
            if bad or not edit_layers:
                raise ConfigError(f"edit_layers must be non-empty W+ indices in [0, {generator.num_ws}), got {bad}")
        self.generator = generator
        self.identity_encoder = identity_encoder
        self.low_level_net = low_level
        self.face_parser = face_parser
        self.keep = keep if lambda_keep > 0 else None
        self.lambda_keep = lambda_keep
        for part in (generator, identity_encoder, low_level, face_parser, self.keep):
            if part is not None:
                part.eval().requires_grad_(False)
        self.num_steps, self.lr, self.rampdown, self.rampup = num_steps, lr, rampdown, rampup
        self.objective, self.lambda_low = objective, lambda_low
        self.signs = (1, -1) if both_signs else (1,)
        self.edit_layers = list(edit_layers) if edit_layers is not None else None
        self.noise_mode = noise_mode

    def train(self, mode: bool = True) -> OffsetOptimizer:
        # the frozen networks stay in eval mode (batch-norm statistics, dropout) whatever Lightning asks
        return super().train(False)

    def edit(self, ws: Tensor, offset: Tensor, sign: float) -> Tensor:
        """``ws ± offset`` on this search's layers (W+ ``[B, L, D]``)."""
        return edit_latents(ws, offset, sign, self.edit_layers)

    def analyse(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Identity embeddings ``[N, E]``, low-level features of the face region and the keep read-out ``[N, R]``
        (None without one) of images ``[N, 3, H, W]``."""
        emb = self.identity_encoder(images)
        kept = self.keep(images) if self.keep is not None else None
        if self.face_parser is not None:
            with torch.no_grad():
                mask = self.face_parser(images).to(images.dtype)  # [N, 1, H, W], a constant of the search
            images = images * mask
        low_net = self.low_level_net if self.low_level_net is not None else self.identity_encoder
        return emb, low_net.low_level(images), kept

    def _render(self, ws: Tensor) -> Tensor:
        return self.generator.synthesis(ws, noise_mode=self.noise_mode).image

    def losses(self, ws: Tensor, offset: Tensor, base: tuple[Tensor, Tensor, Tensor | None]) -> dict[str, Tensor]:
        """Per-sample ``{"id", "low", "keep", "total"}`` of ``offset`` around latents ``ws``; ``base`` = analysed
        ``G(ws)``."""
        edited = torch.cat([self.edit(ws, offset, s) for s in self.signs])  # [S*B, L, D]
        emb, low, kept = self.analyse(self._render(edited))
        b = ws.shape[0]
        embeddings = {0: base[0]} | {s: emb[i * b : (i + 1) * b] for i, s in enumerate(self.signs)}
        lows = {0: base[1]} | {s: low[i * b : (i + 1) * b] for i, s in enumerate(self.signs)}
        out = offset_objective(embeddings, lows, self.objective, self.lambda_low)
        if kept is None:
            out["keep"] = torch.zeros_like(out["total"])
            return out
        # [S, B, R] read-out change of every signed edit from the unedited face, squared and summed over R and S
        change = kept.reshape(len(self.signs), b, -1) - base[2].unsqueeze(0)
        out["keep"] = change.pow(2).sum(dim=(0, 2))
        out["total"] = out["total"] + self.lambda_keep * out["keep"]
        return out

    def run(self, ws: Tensor, offset_init: Tensor) -> OffsetResult:
        """Optimise ``offset_init`` (``[B, D]`` shared or ``[B, L, D]`` per layer) around W+ latents ``ws``.

        Raises:
            NonFiniteError: the objective became NaN or infinite.
        """
        ws = self.generator.broadcast_ws(ws).detach()
        with torch.no_grad():
            base = tuple(t.detach() if t is not None else None for t in self.analyse(self._render(ws)))
        offset = offset_init.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([offset], lr=self.lr)
        history: list[float] = []
        losses_init: dict[str, Tensor] = {}
        with torch.enable_grad():
            for step in range(self.num_steps):
                for group in opt.param_groups:
                    group["lr"] = get_lr(step / self.num_steps, self.lr, self.rampdown, self.rampup)
                losses = self.losses(ws, offset, base)
                total = losses["total"].sum()
                if not torch.isfinite(total):
                    raise NonFiniteError(
                        f"Stage-2 objective is {total.item()} at step {step}; lower alpha or lr, or use "
                        "objective='log'."
                    )
                if step == 0:
                    losses_init = {k: v.detach() for k, v in losses.items()}
                history.append(total.item() / ws.shape[0])
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()
        with torch.no_grad():
            losses_final = {k: v.detach() for k, v in self.losses(ws, offset, base).items()}
        return OffsetResult(offset_init.detach().clone(), offset.detach(), losses_init, losses_final, history)
