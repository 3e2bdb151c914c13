"""Your3dEmoji (seed 001) end to end: one exemplar -> a stylised 2D generator; each input photo -> a 3D avatar.

``prepare(exemplar)``: invert the exemplar into the photo StyleGAN2 (W+, perceptual projector, as e4e stands in),
then fine-tune a copy on it (:func:`.branches.finetune_exemplar`). ``avatar(photo, cond)``: invert the photo into
the 2D generator (``w_2d``) and render it with the stylised copy (the paired set's stylised image); invert the photo
into the 3D generator with its known camera (``w_3d``, :func:`toonlift.plugins.eg3d.inversion.invert`, Eq. 2), tune
the 3D generator to it (PTI, Eq. 3), then run the dual branch (Eq. 5). ``paired_set`` makes the paired set of
random photo latents and their stylised renders.

Everything done to an input before the dual branch (its 2D projection, its 3D inversion, the PTI tuning) does not
depend on the exemplar: :meth:`Your3dEmoji.invert_input` returns it as an :class:`InputInversion` that ``avatar``
takes, so one inversion serves several exemplars (the benchmark's ink and cartoon) and several λ settings.
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


@dataclass
class InputInversion:
    """An input photo inverted into both generators (exemplar-independent; :meth:`Your3dEmoji.invert_input`).

    Attributes:
        w2d: its W+ in the 2D photo generator ``[1, L2, D2]``.
        ws: its latent in the 3D generator ``[1, num_ws, w_dim]``.
        photo_generator: the 3D generator PTI-tuned to it.
        cond: its camera ``[1, 25]``.
        history: losses of the inversion and the tuning.
        seconds: wall time of the 2D projection (``project_2d``) and of the 3D inversion + tuning (``pti``).
    """

    w2d: Tensor
    ws: Tensor
    photo_generator: EG3DBackbone
    cond: Tensor
    history: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def invert_3d(
    g: EG3DBackbone, photo: Tensor, cond: Tensor, distance: Distance, steps: int, lr: float, seed: int
) -> tuple[Tensor, list[dict[str, float]]]:
    """An input's latent in the frozen 3D generator ``g`` (Your3dEmoji's Eq. 2 and 3DArtmator's input inversion: one
    function, so both methods invert an input identically when their settings agree). Returns ``(ws, history)``."""
    inv = invert(
        g,
        resize(photo, g.resolution),
        cond,
        steps=max(1, steps),
        lr=lr,
        lpips=DistanceAdapter(distance),
        n_mean_latent=2000,
        generator=torch.Generator().manual_seed(seed),
    )
    return inv.ws, inv.history


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

    def project_2d(self, photos: Tensor) -> Tensor:
        """W+ ``[B, L, D]`` of photos ``[B, 3, H, W]`` in the 2D photo generator (exemplar-independent). A batch is
        one optimisation of ``B`` independent latents (the projector's loss is a sum over images)."""
        return self._project(resize(photos, self.g2d.resolution))

    def stylise_2d(self, photo: Tensor, w2d: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(w_2d, stylised images)`` of photos ``[B, 3, H, W]`` through the 2D branch (``prepare`` first); a
        given ``w2d [B, L, D]`` (from :meth:`project_2d`) skips the projection."""
        if self.g2d_style is None:
            raise ConfigError("Your3dEmoji: call prepare(exemplar) before stylising inputs.")
        if w2d is None:
            w2d = self.project_2d(photo)
        with torch.no_grad():
            return w2d, self.g2d_style.synthesis(w2d, noise_mode="const").image

    def paired_set(self, num: int, batch: int = 16, seed: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Your3dEmoji's paired set (its Fig. 5 ablation trains on it): ``num`` random photo latents rendered by the
        photo generator and by the stylised copy (``prepare`` first).

        Returns:
            ``(ws [num, L, D], photos [num, 3, S, S], stylised [num, 3, S, S])``, pairs row by row.
        """
        if self.g2d_style is None:
            raise ConfigError("Your3dEmoji: call prepare(exemplar) before making the paired set.")
        if num < 1 or batch < 1:
            raise ConfigError(f"paired_set: needs num >= 1 and batch >= 1, got {num} and {batch}.")
        gen = torch.Generator().manual_seed(self.s.seed + 1 if seed is None else seed)
        device = next(self.g2d.parameters()).device
        ws, photos, styled = [], [], []
        with torch.no_grad():
            for start in range(0, num, batch):
                n = min(batch, num - start)
                w = self.g2d.mapping(self.g2d.sample_z(n, generator=gen, device="cpu").to(device))
                ws.append(w)
                photos.append(self.g2d.synthesis(w, noise_mode="const").image)
                styled.append(self.g2d_style.synthesis(w, noise_mode="const").image)
        return torch.cat(ws), torch.cat(photos), torch.cat(styled)

    def tune(self, ws: Tensor, target: Tensor, cond: Tensor) -> tuple[EG3DBackbone, list[dict[str, float]]]:
        """PTI's second step with these settings: a copy of the 3D generator tuned so that ``ws`` renders ``target``
        from ``cond``; returns ``(tuned generator, history)``."""
        return tune_generator(self.g3d, ws, target, cond, self.distance, self.s.pti_steps, self.s.pti_lr, self.s.pti_l2)

    def pti(self, target: Tensor, cond: Tensor) -> tuple[Tensor, EG3DBackbone, dict]:
        """PTI into the 3D generator: ``(ws, tuned generator, histories)`` for ``target`` seen from ``cond``."""
        ws, inv_hist = invert_3d(
            self.g3d, target, cond, self.distance, self.s.invert_steps, self.s.invert_lr, self.s.seed
        )
        tuned, hist = self.tune(ws, target, cond)
        return ws, tuned, {"invert": inv_hist, "pti": hist}

    def invert_input(self, photo: Tensor, cond: Tensor, w2d: Tensor | None = None) -> InputInversion:
        """The exemplar-independent part of an avatar: the photo ``[1, 3, H, W]`` (camera ``[1, 25]``) projected
        into the 2D generator (skipped when ``w2d`` is given) and PTI-inverted into the 3D generator."""
        t0 = time.perf_counter()
        if w2d is None:
            w2d = self.project_2d(photo)
        t1 = time.perf_counter()
        ws, g_pti, hist = self.pti(photo, cond)
        return InputInversion(w2d, ws, g_pti, cond, hist, {"project_2d": t1 - t0, "pti": time.perf_counter() - t1})

    def avatar(
        self,
        photo: Tensor,
        cond: Tensor,
        inversion: InputInversion | None = None,
        lambda_exemplar: float | None = None,
        lambda_2d: float | None = None,
    ) -> Avatar:
        """The avatar of one input photo ``[1, 3, H, W]`` with its camera ``[1, 25]``.

        Args:
            photo, cond: the input and its camera.
            inversion: :meth:`invert_input`'s answer for this input (computed here when ``None``).
            lambda_exemplar, lambda_2d: Eq. 5's λ1, λ2 for this avatar (``None``: the settings').
        """
        if self.exemplar is None or self.g2d_style is None:
            raise ConfigError("Your3dEmoji: call prepare(exemplar) before making avatars.")
        if inversion is None:
            inversion = self.invert_input(photo, cond)
        t0 = time.perf_counter()
        with torch.no_grad():
            styl = self.g2d_style.synthesis(inversion.w2d, noise_mode="const").image
        seconds = {"stylise_2d": inversion.seconds.get("project_2d", 0.0) + time.perf_counter() - t0}
        seconds["pti"] = inversion.seconds.get("pti", 0.0)
        t2 = time.perf_counter()
        g3, _, dual_hist = dual_branch(
            self.g2d_style,
            inversion.w2d,
            inversion.photo_generator,
            inversion.ws,
            cond,
            self.exemplar,
            self.distance,
            self.s.dual_steps,
            self.s.dual_lr_3d,
            self.s.dual_lr_2d,
            self.s.lambda_exemplar if lambda_exemplar is None else lambda_exemplar,
            self.s.lambda_2d if lambda_2d is None else lambda_2d,
        )
        seconds["dual"] = time.perf_counter() - t2
        hist = {**inversion.history, "dual": dual_hist}
        return Avatar(g3, inversion.photo_generator, inversion.ws, cond, styl, hist, seconds)


class DistanceAdapter(nn.Module):
    """Adapter: a plain distance function as the ``.distance`` module the projectors take."""

    def __init__(self, fn: Distance) -> None:
        super().__init__()
        self.fn = fn

    def distance(self, a: Tensor, b: Tensor) -> Tensor:
        return self.fn(a, b)
