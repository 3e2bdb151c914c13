"""Stage 2 as a LightningModule: identity-preserving expression offsets for batches of latents.

``python cli.py fit --config configs/offsets.yaml``: every training batch is one complete offset search (10 Adam
steps by default) for its latents, followed by the outputs: per latent a safetensors file with the offsets and the
edited latents plus JSON metadata, and per batch a grid human / cartoon at ``-``, ``0``, ``+``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError, DataError
from toonlift.functional.seeds import latents_from_seeds
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import FeatureTaps, StyleModulation, require
from toonlift.plugins.features.base import FeatureExtractor
from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.plugins.parsers.base import FaceParser
from toonlift.stages.offsets.directions import initial_offsets, load_directions, pick_direction, sefa_directions
from toonlift.stages.offsets.offset_optimizer import OffsetOptimizer, OffsetResult
from toonlift.utils import checks
from toonlift.utils.hashing import state_dict_hash
from toonlift.utils.images import make_grid, save_image
from toonlift.utils.io import atomic_write_json, save_safetensors


class OffsetModule(ToonModule):
    """Find ``w*`` per latent: start at ``alpha * n*`` (SeFa direction ``n*``), optimise ``L_m`` through ``G_base``.

    Args:
        generator: ``G_base``, the human generator (e.g. ``class_path: stylegan2`` with the FFHQ checkpoint).
        identity_encoder: ``f`` (e.g. ``arcface_ir_se50``, ``dlib_resnet`` or the synthetic world's analyser).
        low_level: the network whose ``low_level`` features give ``f_low`` (``None``: the identity encoder's).
        face_parser: face-region mask for ``L_low`` (e.g. ``bisenet``; ``None``: the whole image).
        cartoon_generators: Stage-1 generators the edited latents are shown through (grid columns).
        cartoon_names: a name per cartoon generator, for files and logs (default ``cartoon0``, ``cartoon1``...).
        swap_feature: feed ``G_base``'s feature of this block into each cartoon generator (the authors' feature-level
            swap, ``"block_16"``); ``None`` renders the cartoon generators on their own.
        cartoon_swap: per cartoon generator, whether it gets the feature swap (default: all of them when
            ``swap_feature`` is set), e.g. ``[true, false]`` for a fine-tuned G plus a weight-blended Stage-1 G.
        direction_index: which SeFa direction (0 = strongest).
        alpha: initial step along the direction, ``w* = alpha * n*``.
        directions_file: a saved factorisation (rosinality ``factor.pt`` or ``.safetensors`` with ``eigvec``)
            instead of computing SeFa on ``generator``.
        sefa_convention: ``"rosinality"`` or ``"genforce"`` (see ``toonlift.stages.offsets.directions``).
        per_layer: one offset per W+ layer (``[L, D]``) instead of one shared by the edited layers.
        edit_layers: W+ indices the offset moves (``None``: all, as the authors do).
        num_steps: Adam steps (10).
        lr: peak learning rate (0.1) of the projector ramp.
        rampdown: fraction of the steps ramping the learning rate down (the StyleGAN2 projector's 0.25).
        rampup: fraction of the steps ramping it up (0.05).
        noise_mode: generator noise during the search (``"const"``: every step sees the same image noise).
        objective: ``"paper"`` (``L_id - lambda_low L_low``) or ``"log"`` (the authors' code).
        lambda_low: low-level weight (0.2 paper; 0.1 with ``log`` in the authors' code).
        keep: feature extractor whose read-out the edit must not change (``synthetic_pose_light``: head pose and
            lighting); beyond the paper, off by default.
        lambda_keep: weight of the keep term (0: the paper's objective).
        both_signs: optimise on ``w + w*`` and ``w - w*``.
        truncation: truncation psi for latents drawn from seeds (0.7 as the authors; the offset is added after it).
        truncation_samples: codes averaged for the truncation centre.
        out_dir: output folder.
        save_grids: write (and log) the image grids.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
        from toonlift.plugins.stylegan2 import StyleGAN2Backbone

        g = StyleGAN2Backbone(**StyleGAN2Backbone.example_args(workdir))
        return {"generator": g, "identity_encoder": SyntheticAnalyserIdentityEncoder(), "num_steps": 2,
                "truncation_samples": 64, "out_dir": str(workdir / "offsets")}  # fmt: skip

    def __init__(
        self,
        generator: Backbone,
        identity_encoder: IdentityEncoder,
        low_level: IdentityEncoder | None = None,
        face_parser: FaceParser | None = None,
        cartoon_generators: list[Backbone] | None = None,
        cartoon_names: list[str] | None = None,
        swap_feature: str | None = "block_16",
        cartoon_swap: list[bool] | None = None,
        direction_index: int = 0,
        alpha: float = 5.0,
        directions_file: str | None = None,
        sefa_convention: str = "rosinality",
        per_layer: bool = False,
        edit_layers: list[int] | None = None,
        num_steps: int = 10,
        lr: float = 0.1,
        rampdown: float = 0.25,
        rampup: float = 0.05,
        noise_mode: str = "const",
        objective: str = "paper",
        lambda_low: float = 0.2,
        keep: FeatureExtractor | None = None,
        lambda_keep: float = 0.0,
        both_signs: bool = True,
        truncation: float = 0.7,
        truncation_samples: int = 4096,
        out_dir: str = "outputs/offsets",
        save_grids: bool = True,
    ) -> None:
        owner = "OffsetModule"
        checks.at_least(owner, "direction_index", direction_index, 0)
        checks.finite_number(owner, "alpha", alpha)
        checks.unit_interval(owner, "truncation", truncation)
        checks.at_least(owner, "truncation_samples", truncation_samples, 1)
        checks.positive(owner, "lr", lr)
        checks.non_negative(owner, "lambda_low", lambda_low)
        super().__init__()
        self.automatic_optimization = False  # each batch runs its own Adam over the offsets
        self.search = OffsetOptimizer(
            generator,
            identity_encoder,
            low_level=low_level,
            face_parser=face_parser,
            num_steps=num_steps,
            lr=lr,
            rampdown=rampdown,
            rampup=rampup,
            objective=objective,
            lambda_low=lambda_low,
            keep=keep,
            lambda_keep=lambda_keep,
            both_signs=both_signs,
            edit_layers=edit_layers,
            noise_mode=noise_mode,
        )
        stage = "Stage 2 (OffsetModule)"
        if directions_file is None:
            require(generator, StyleModulation, stage=f"{stage}: SeFa directions (or give a directions_file)")
        self.cartoon_generators = torch.nn.ModuleList(cartoon_generators or [])
        for g in self.cartoon_generators:
            g.eval().requires_grad_(False)
        names = cartoon_names or [f"cartoon{i}" for i in range(len(self.cartoon_generators))]
        if len(names) != len(self.cartoon_generators):
            raise ConfigError(f"cartoon_names has {len(names)} names for {len(self.cartoon_generators)} generators.")
        self.cartoon_names = list(names)
        swaps = [swap_feature is not None] * len(names) if cartoon_swap is None else list(cartoon_swap)
        if len(swaps) != len(names) or (any(swaps) and swap_feature is None):
            raise ConfigError(
                f"cartoon_swap needs one flag per cartoon generator ({len(names)}) and a swap_feature to swap."
            )
        for g, swap in zip(self.cartoon_generators, swaps):
            if swap:
                require(g, FeatureTaps, stage=f"{stage}: the feature swap into a cartoon generator")
        self.cartoon_swap = swaps
        self.swap_feature = swap_feature
        self.direction_index, self.alpha = direction_index, alpha
        self.directions_file, self.sefa_convention = directions_file, sefa_convention
        self.per_layer = per_layer
        self.truncation, self.truncation_samples = truncation, truncation_samples
        self.out_dir = Path(out_dir)
        self.save_grids = save_grids
        self._direction: Tensor | None = None
        self._mean_latent: Tensor | None = None
        self._generator_hash: str | None = None

    def train(self, mode: bool = True) -> OffsetModule:
        # every network here is frozen: keep eval mode (batch-norm statistics) whatever the Trainer asks
        return super().train(False)

    @property
    def generator(self) -> Backbone:
        """``G_base``."""
        return self.search.generator

    def configure_optimizers(self) -> None:
        # the offsets are per batch, made and optimised inside training_step
        return None

    # ------------------------------------------------------------------ parts
    def direction(self) -> Tensor:
        """The unit direction ``n*`` ``[D]`` (computed once)."""
        if self._direction is None:
            if self.directions_file is not None:
                directions = load_directions(self.directions_file)
            else:
                directions = sefa_directions(self.generator, self.sefa_convention)
            if directions.shape[0] != self.generator.w_dim:
                raise ConfigError(
                    f"the directions have size {directions.shape[0]}, the generator's latents {self.generator.w_dim}."
                )
            self._direction = pick_direction(directions, self.direction_index).to(self.device)
        return self._direction

    def generator_hash(self) -> str:
        """Content hash of ``G_base``'s weights (recorded in every output)."""
        if self._generator_hash is None:
            self._generator_hash = state_dict_hash(self.generator)
        return self._generator_hash

    @torch.no_grad()
    def latents(self, batch: Tensor | dict) -> tuple[list[str], Tensor]:
        """Names and W+ latents ``[B, L, D]`` of a batch of seeds (``seeds`` data) or of files (``latents`` data)."""
        g = self.generator
        if isinstance(batch, dict):
            ws = batch["ws"].to(self.device)
            if ws.shape[-1] != g.w_dim or (ws.dim() == 3 and ws.shape[1] != g.num_ws):
                raise DataError(
                    f"latents of shape {tuple(ws.shape[1:])} do not fit the generator ([{g.w_dim}] or "
                    f"[{g.num_ws}, {g.w_dim}]); were they projected with the same generator?"
                )
            return list(batch["name"]), g.broadcast_ws(ws)
        z = latents_from_seeds(batch, g.z_dim, self.device)
        centre = None
        if self.truncation < 1.0:
            if self._mean_latent is None:
                gen = torch.Generator(device=self.device).manual_seed(0)
                self._mean_latent = g.mean_latent(self.truncation_samples, generator=gen)
            centre = self._mean_latent
        ws = g.mapping(z, truncation=self.truncation, truncation_latent=centre)
        return [f"seed{int(s):04d}" for s in batch.tolist()], ws

    def initial_offsets(self, batch_size: int) -> Tensor:
        """``alpha * n*`` for a batch: ``[B, D]``, or ``[B, L, D]`` with ``per_layer``."""
        return initial_offsets(
            self.direction(), self.alpha, batch_size, self.generator.num_ws if self.per_layer else None
        )

    # ------------------------------------------------------------------ step
    def training_step(self, batch: Tensor | dict, batch_idx: int) -> None:
        names, ws = self.latents(batch)
        result = self.search.run(ws, self.initial_offsets(ws.shape[0]))
        for key in ("id", "low", "total"):
            self.log(f"offsets/{key}_init", result.losses_init[key].mean(), batch_size=len(names))
            self.log(f"offsets/{key}", result.losses_final[key].mean(), prog_bar=key == "total", batch_size=len(names))
        self.write_outputs(names, ws, result)
        if self.save_grids:
            self.write_grid(batch_idx, ws, result)
        # no optimizer steps here (each batch runs its own Adam), so Lightning's step counter never moves and
        # --trainer.max_steps would be ignored: honour it as "batches of latents"
        max_steps = self.trainer.max_steps if self._trainer is not None else -1
        if max_steps is not None and max_steps >= 0 and batch_idx + 1 >= max_steps:
            self.trainer.should_stop = True

    # ------------------------------------------------------------------ outputs
    def write_outputs(self, names: list[str], ws: Tensor, result: OffsetResult) -> None:
        """Per latent: ``{out_dir}/{name}.safetensors`` (offsets, original and edited latents) + ``{name}.json``."""
        search = self.search
        for i, name in enumerate(names):
            tensors = {
                "ws": ws[i],
                "offset": result.offset[i],
                "offset_init": result.offset_init[i],
                "ws_plus": search.edit(ws[i : i + 1], result.offset[i : i + 1], 1.0)[0],
                "ws_minus": search.edit(ws[i : i + 1], result.offset[i : i + 1], -1.0)[0],
            }
            meta = {
                "name": name,
                "generator_hash": self.generator_hash(),
                "direction_index": self.direction_index,
                "directions_file": self.directions_file,
                "sefa_convention": self.sefa_convention,
                "alpha": self.alpha,
                "per_layer": self.per_layer,
                "edit_layers": search.edit_layers,
                "objective": search.objective,
                "lambda_low": search.lambda_low,
                "lambda_keep": search.lambda_keep,
                "num_steps": search.num_steps,
                "lr": search.lr,
                "signs": list(search.signs),
                "truncation": self.truncation,
                "losses_init": {k: float(v[i]) for k, v in result.losses_init.items()},
                "losses": {k: float(v[i]) for k, v in result.losses_final.items()},
                "offset_norm_init": float(result.offset_init[i].norm()),
                "offset_norm": float(result.offset[i].norm()),
            }
            save_safetensors(self.out_dir / f"{name}.safetensors", tensors, meta)
        atomic_write_json(self.out_dir / "run.json", {"generator_hash": self.generator_hash(), "names_last": names})

    @torch.no_grad()
    def render_columns(self, ws: Tensor, offset: Tensor, offset_init: Tensor) -> tuple[list[Tensor], list[str]]:
        """Images ``[B, 3, H, W]`` per grid column and the column labels.

        Columns: human SeFa ``-``/``+``; human optimised ``-``, ``0``, ``+``; each cartoon generator ``-``, ``0``,
        ``+`` (through the feature-level swap where ``cartoon_swap`` says so).
        """
        search, g = self.search, self.generator
        cols, labels = [], []
        for sign in (-1.0, 1.0):
            cols.append(g.synthesis(search.edit(ws, offset_init, sign), noise_mode="const").image)
            labels.append(f"human_sefa{'+' if sign > 0 else '-'}")
        for sign in (-1.0, 0.0, 1.0):
            edited = search.edit(ws, offset, sign)
            feats = (self.swap_feature,) if any(self.cartoon_swap) else ()
            human = g.synthesis(edited, noise_mode="const", return_features=feats)
            cols.append(human.image)
            labels.append(f"human{'+' if sign > 0 else '-' if sign < 0 else '0'}")
            for name, cartoon, swapped in zip(self.cartoon_names, self.cartoon_generators, self.cartoon_swap):
                if swapped:
                    swap = {self.swap_feature: human.features[self.swap_feature]}
                    img = cartoon.synthesis(edited, noise_mode="const", swap_features=swap).image
                else:
                    img = cartoon.synthesis(edited, noise_mode="const").image
                cols.append(torch.nn.functional.interpolate(img, size=human.image.shape[-2:], mode="bilinear"))
                labels.append(f"{name}{'+' if sign > 0 else '-' if sign < 0 else '0'}")
        return cols, labels

    def write_grid(self, batch_idx: int, ws: Tensor, result: OffsetResult) -> Path:
        """One PNG per batch (rows = latents, columns = :meth:`render_columns`), also sent to W&B if configured."""
        cols, labels = self.render_columns(ws, result.offset, result.offset_init)
        tiles = torch.stack(cols, dim=1).flatten(0, 1)  # [B * C, 3, H, W], row-major: one latent per row
        path = save_image(make_grid(tiles, nrow=len(cols)), self.out_dir / f"grid_{batch_idx:04d}.png")
        atomic_write_json(self.out_dir / "grid_columns.json", labels)
        from pytorch_lightning.loggers import WandbLogger

        for logger in self.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="offsets/grid", images=[str(path)], caption=[" | ".join(labels)])
        return path
