"""3DArtmator (seed 004) end to end: one artwork -> a stylised copy of the 3D generator; each input -> an avatar.

``prepare(artwork, cond)``: stage 1 (:func:`.anchor.anchor_search`) then stage 2 (:func:`.stylise.
directional_finetune`). ``avatar(photo, cond)``: the photo is inverted into the *original* generator (latent only,
so the stylised copy's sub-space keeps its meaning) and rendered by the stylised copy; the original's edit
directions apply unchanged.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.oneshot import Distance
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.losses.directional import DirectionalLoss
from toonlift.stages.artmator.anchor import AnchorResult, anchor_search
from toonlift.stages.artmator.stylise import directional_finetune
from toonlift.stages.your3demoji.branches import resize
from toonlift.stages.your3demoji.pipeline import Avatar, invert_3d


@dataclass
class ArtmatorSettings:
    """Stage settings (paper: λ1 = λ2 = λ3 = λ4 = 1, stage 1 lr 2e-2, stage 2 lr 1e-5 at 256 px, N = 1 view).

    Attributes:
        anchor_steps, anchor_lr, lambda_perceptual, lambda_l2, anchor_space, search_camera: stage 1.
        style_steps, style_lr, lambda_dir, lambda_spa: stage 2 (the 64-px EG3D-lite needs a larger lr than 1e-5).
        encoder: feature extractor of the directional loss (``synthetic_analyser_stats`` tells ink from cartoon).
        augment_copies: augmented copies per view pair in the encoder.
        dir_min_norm: the directional loss's floor on the difference's norm (fraction of the guide's norm): without
            it the first steps' gradient spike (the copy equals the original) leaves Adam unable to move.
        yaw_range_deg, pitch_range_deg: stage 2's random views.
        invert_steps, invert_lr: inversion of each input into the original generator.
        seed: seed of every random stream.
    """

    anchor_steps: int = 300
    anchor_lr: float = 0.02
    lambda_perceptual: float = 1.0
    lambda_l2: float = 1.0
    anchor_space: str = "w"
    search_camera: bool = False
    style_steps: int = 300
    style_lr: float = 2e-4
    lambda_dir: float = 1.0
    lambda_spa: float = 1.0
    encoder: str = "synthetic_analyser_stats"
    augment_copies: int = 1
    dir_min_norm: float = 0.1
    yaw_range_deg: float = 36.0
    pitch_range_deg: float = 10.0
    invert_steps: int = 150
    invert_lr: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [f.name for f in dataclasses.fields(self) if f.name.endswith("steps") and getattr(self, f.name) < 0]
        if bad:
            raise ConfigError(f"3DArtmator: step counts must be >= 0, got negative {', '.join(bad)}.")


class Artmator:
    """The two stages over an EG3D generator.

    Args:
        g3d: the original ``eg3d`` generator (never changed).
        distance: perceptual distance ``(a, b) -> [B]`` (stage 1's and ``L_spa``'s LPIPS).
        settings: the stage settings.
    """

    def __init__(self, g3d: EG3DBackbone, distance: Distance, settings: ArtmatorSettings) -> None:
        if not isinstance(g3d, EG3DBackbone):
            raise ConfigError(f"3DArtmator stylises an EG3D generator ('eg3d'); got {type(g3d).__name__}.")
        self.g_ori, self.distance, self.s = g3d.eval().requires_grad_(False), distance, settings
        self.directional = DirectionalLoss(
            encoder=settings.encoder,
            augment_copies=settings.augment_copies,
            seed=settings.seed,
            min_norm=settings.dir_min_norm,
        ).to(g3d.mapping_net.w_avg.device)
        self.anchor: AnchorResult | None = None
        self.g_trn: EG3DBackbone | None = None
        self.seconds: dict[str, float] = {}
        self.history: dict[str, list[dict[str, float]]] = {}

    def prepare(self, artwork: Tensor, cond: Tensor | None, anchor: AnchorResult | None = None) -> EG3DBackbone:
        """Stages 1 and 2 for ``artwork [1, 3, H, W]`` seen from ``cond [1, 25]`` (``None``: searched). A given
        ``anchor`` (stage 1 of another run on the same artwork and generator, e.g. the ablations') skips stage 1."""
        s = self.s
        artwork = resize(artwork, self.g_ori.resolution)
        t0 = time.perf_counter()
        self.anchor = (
            anchor
            if anchor is not None
            else anchor_search(
                self.g_ori,
                artwork,
                self.distance,
                cond,
                max(1, s.anchor_steps),
                s.anchor_lr,
                s.lambda_perceptual,
                s.lambda_l2,
                s.anchor_space,
                s.search_camera or cond is None,
                seed=s.seed,
            )
        )
        self.seconds["anchor"] = (t1 := time.perf_counter()) - t0
        self.g_trn, hist = directional_finetune(
            self.g_ori,
            self.anchor.ws,
            self.anchor.cond,
            artwork,
            self.directional if s.lambda_dir > 0 else None,
            self.distance if s.lambda_spa > 0 else None,
            s.style_steps,
            s.style_lr,
            s.lambda_dir,
            s.lambda_spa,
            s.yaw_range_deg,
            s.pitch_range_deg,
            seed=s.seed,
        )
        self.seconds["stylise"] = time.perf_counter() - t1
        self.history = {"anchor": self.anchor.history, "stylise": hist}
        return self.g_trn

    def invert_input(self, photo: Tensor, cond: Tensor) -> tuple[Tensor, list[dict[str, float]]]:
        """An input photo's latent ``[1, num_ws, w_dim]`` in the *original* generator, and the losses (the same
        function as Your3dEmoji's 3D inversion, so equal settings give equal latents)."""
        return invert_3d(self.g_ori, photo, cond, self.distance, self.s.invert_steps, self.s.invert_lr, self.s.seed)

    def avatar(self, photo: Tensor | None, cond: Tensor | None, ws: Tensor | None = None) -> Avatar:
        """The avatar of an input photo ``[1, 3, H, W]`` with camera ``[1, 25]``; ``None`` gives the artwork's own
        (the anchor rendered by the stylised copy). A given ``ws`` (:meth:`invert_input`'s) skips the inversion."""
        if self.g_trn is None or self.anchor is None:
            raise ConfigError("3DArtmator: call prepare(artwork, cond) before making avatars.")
        t0 = time.perf_counter()
        hist: list[dict[str, float]] = []
        if photo is None:
            ws, cond = self.anchor.ws, self.anchor.cond
        elif ws is None:
            ws, hist = self.invert_input(photo, cond)
        with torch.no_grad():
            styl = self.g_trn.synthesis(ws, cond, noise_mode="const").image
        return Avatar(self.g_trn, self.g_ori, ws, cond, styl, {"invert": hist}, {"invert": time.perf_counter() - t0})
