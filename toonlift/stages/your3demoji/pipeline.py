"""Your3dEmoji (seed 001) end to end: one exemplar -> a stylised 2D generator; each input photo -> a 3D avatar.

``prepare(exemplar)``: invert the exemplar into the photo StyleGAN2 (W+, perceptual projector, as e4e stands in),
then fine-tune a copy on it (:func:`.branches.finetune_exemplar`). ``avatar(photo, cond)``: invert the photo into
the 2D generator (``w_2d``) and render it with the stylised copy (the paired set's stylised image); invert the photo
into the 3D generator with its known camera (``w_3d``, :func:`toonlift.plugins.eg3d.inversion.invert`, Eq. 2), tune
the 3D generator to it (PTI, Eq. 3), then run the dual branch (Eq. 5). ``paired_set`` makes the paired set of
random photo latents and their stylised renders.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.oneshot import Distance, lerp_states
from toonlift.plugins.backbones.capabilities import BlockFeatures, require
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.inversion import invert
from toonlift.plugins.stylegan2.projector import project
from toonlift.stages.your3demoji.branches import dual_branch, finetune_exemplar, resize, tune_generator


@dataclass
class Your3dEmojiSettings:
    """Step counts, learning rates and weights (the paper states none; defaults follow JoJoGAN and PTI, scaled).

    Attributes:
        project_steps: 2D projector steps for the exemplar and each input.
        project_lr: its peak learning rate.
        project_w_plus: project into W+ (e4e's space) rather than W (W: 2D stylised inputs 4 % closer to the truth
            on 3 world faces, docs/oneshot.md).
        finetune_steps: JoJoGAN steps (200 in JoJoGAN).
        finetune_lr: JoJoGAN's 2e-3.
        alpha: Eq. 1's exemplar weight on the fine layers.
        first_fine: first mixed W+ layer.
        finetune_batch: mixed latents per step.
        invert_steps: 3D latent inversion steps (PTI: 450).
        invert_lr: its learning rate (PTI: 5e-3; the EG3D projector's 1e-2).
        pti_steps: generator tuning steps (PTI: 350).
        pti_lr: PTI's 3e-4.
        pti_l2: PTI's λ_L2 = 1.
        dual_steps: dual-branch steps.
        dual_lr_3d: learning rate of the 3D branch.
        dual_lr_2d: learning rate of the 2D branch (0 keeps it fixed).
        lambda_exemplar: Eq. 5's λ1.
        lambda_2d: Eq. 5's λ2.
        seed: seed of every random stream.
    """

    project_steps: int = 200
    project_lr: float = 0.1
    project_w_plus: bool = False
    finetune_steps: int = 200
    finetune_lr: float = 2e-3
    alpha: float = 0.0
    first_fine: int = 4
    finetune_batch: int = 4
    invert_steps: int = 150
    invert_lr: float = 0.01
    pti_steps: int = 100
    pti_lr: float = 3e-4
    pti_l2: float = 1.0
    dual_steps: int = 100
    dual_lr_3d: float = 3e-4
    dual_lr_2d: float = 1e-4
    lambda_exemplar: float = 1.0
    lambda_2d: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [f.name for f in dataclasses.fields(self) if f.name.endswith("steps") and getattr(self, f.name) < 0]
        if bad:
            raise ConfigError(f"Your3dEmoji: step counts must be >= 0, got negative {', '.join(bad)}.")


@dataclass
class Avatar:
    """One input's avatar.

    Attributes:
        generator: the stylised 3D generator (after the dual branch).
        photo_generator: the PTI-tuned 3D generator (photo style; style degree 0).
        ws: the input's latent in both ``[1, num_ws, w_dim]``.
        cond: the input's camera ``[1, 25]``.
        stylised_2d: the 2D branch's stylised image of the input ``[1, 3, H, W]``.
        history: losses per phase.
        seconds: wall time per phase.
    """

    generator: EG3DBackbone
    photo_generator: EG3DBackbone
    ws: Tensor
    cond: Tensor
    stylised_2d: Tensor
    history: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def at_degree(self, degree: float) -> EG3DBackbone:
        """The avatar's generator at style degree ``degree`` (0 = photo, 1 = stylised): weights interpolated."""
        g = EG3DBackbone.from_arch(self.generator.arch_args()).to(self.ws.device)
        g.load_state_dict(lerp_states(self.photo_generator.state_dict(), self.generator.state_dict(), degree))
        return g.eval().requires_grad_(False)


class Your3dEmoji:
    """The pipeline over a photo StyleGAN2 (``g2d``, ``d2d``) and an EG3D generator (``g3d``).

    Args:
        g2d: 2D photo generator (StyleGAN2 backbone).
        d2d: its discriminator (``block_features``).
        g3d: the ``eg3d`` generator.
        distance: perceptual distance ``(a, b) -> [B]`` (e.g. ``AnalyserPerceptualLoss.distance``).
        settings: the step counts and weights.
    """

    def __init__(
        self, g2d: nn.Module, d2d: nn.Module, g3d: EG3DBackbone, distance: Distance, settings: Your3dEmojiSettings
    ) -> None:
        if not isinstance(g3d, EG3DBackbone):
            raise ConfigError(f"Your3dEmoji lifts into an EG3D generator ('eg3d'); got {type(g3d).__name__}.")
        require(d2d, BlockFeatures, stage="Your3dEmoji's 2D branch", role="discriminator")
        self.g2d, self.d2d, self.g3d = g2d.eval(), d2d.eval(), g3d.eval()
        self.distance, self.s = distance, settings
        self.g2d_style: nn.Module | None = None
        self.exemplar: Tensor | None = None
        self.seconds: dict[str, float] = {}

    def _project(self, image: Tensor) -> Tensor:
        lp = DistanceAdapter(self.distance)
        gen = torch.Generator().manual_seed(self.s.seed)
        res = project(
            self.g2d,
            image,
            lp,
            steps=max(1, self.s.project_steps),
            lr=self.s.project_lr,
            w_plus=self.s.project_w_plus,
            optimize_noise=False,
            n_mean_latent=2000,
            generator=gen,
        )
        return res.ws

    def prepare(self, exemplar: Tensor) -> nn.Module:
        """Fine-tune the 2D branch on ``exemplar [1, 3, H, W]`` in [-1, 1]; returns the stylised 2D generator."""
        t0 = time.perf_counter()
        self.exemplar = exemplar
        w_e = self._project(resize(exemplar, self.g2d.resolution))
        self.g2d_style, self.finetune_history = finetune_exemplar(
            self.g2d,
            self.d2d,
            exemplar,
            w_e,
            self.s.finetune_steps,
            self.s.finetune_lr,
            self.s.alpha,
            self.s.first_fine,
            self.s.finetune_batch,
            seed=self.s.seed,
        )
        self.seconds["finetune_2d"] = time.perf_counter() - t0
        return self.g2d_style

    def stylise_2d(self, photo: Tensor) -> tuple[Tensor, Tensor]:
        """``(w_2d, stylised image)`` of a photo ``[1, 3, H, W]`` through the 2D branch (``prepare`` first)."""
        if self.g2d_style is None:
            raise ConfigError("Your3dEmoji: call prepare(exemplar) before stylising inputs.")
        w2d = self._project(resize(photo, self.g2d.resolution))
        with torch.no_grad():
            return w2d, self.g2d_style.synthesis(w2d, noise_mode="const").image

    def pti(self, target: Tensor, cond: Tensor) -> tuple[Tensor, EG3DBackbone, dict]:
        """PTI into the 3D generator: ``(ws, tuned generator, histories)`` for ``target`` seen from ``cond``."""
        gen = torch.Generator().manual_seed(self.s.seed)
        inv = invert(
            self.g3d,
            resize(target, self.g3d.resolution),
            cond,
            steps=max(1, self.s.invert_steps),
            lr=self.s.invert_lr,
            lpips=DistanceAdapter(self.distance),
            n_mean_latent=2000,
            generator=gen,
        )
        tuned, hist = tune_generator(
            self.g3d, inv.ws, target, cond, self.distance, self.s.pti_steps, self.s.pti_lr, self.s.pti_l2
        )
        return inv.ws, tuned, {"invert": inv.history, "pti": hist}

    def avatar(self, photo: Tensor, cond: Tensor) -> Avatar:
        """The avatar of one input photo ``[1, 3, H, W]`` with its camera ``[1, 25]``."""
        if self.exemplar is None:
            raise ConfigError("Your3dEmoji: call prepare(exemplar) before making avatars.")
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        w2d, styl = self.stylise_2d(photo)
        seconds["stylise_2d"] = (t1 := time.perf_counter()) - t0
        ws, g_pti, hist = self.pti(photo, cond)
        seconds["pti"] = (t2 := time.perf_counter()) - t1
        g3, _, dual_hist = dual_branch(
            self.g2d_style,
            w2d,
            g_pti,
            ws,
            cond,
            self.exemplar,
            self.distance,
            self.s.dual_steps,
            self.s.dual_lr_3d,
            self.s.dual_lr_2d,
            self.s.lambda_exemplar,
            self.s.lambda_2d,
        )
        seconds["dual"] = time.perf_counter() - t2
        return Avatar(g3, g_pti, ws, cond, styl, {**hist, "dual": dual_hist}, seconds)


class DistanceAdapter(nn.Module):
    """Adapter: a plain distance function as the ``.distance`` module the projectors take."""

    def __init__(self, fn: Distance) -> None:
        super().__init__()
        self.fn = fn

    def distance(self, a: Tensor, b: Tensor) -> Tensor:
        return self.fn(a, b)
