"""Stage 3, VLDA (registry name ``vlda``): 3D reconstruction of GAN images, GAN2Shape's schedule in Lightning.

Per image (a W latent of the Stage-1 generator): fit the depth network to the ellipsoid prior, then ``num_stages``
stages of (1) albedo on the input, (2) offset encoder projecting random renders into W, (3) V, L, D, A jointly on the
projected samples. One training step = one iteration of the current phase; the state machine
(:mod:`toonlift.stages.vlda.schedule`) and the optimiser states are in every checkpoint, so a killed run resumes.

Several images under DDP: rank ``r`` of ``R`` reconstructs images ``r, r + R, ...`` with its own networks; gradient
synchronisation is limited to a zero-valued anchor parameter (each rank's model is independent) and idle ranks step
without work until all are done. Run
``python cli.py fit --config configs/vlda.yaml --trainer.strategy ddp --trainer.devices 4``.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from toonlift.datamodules.steps import ticks_loader
from toonlift.errors import CheckpointError, ConfigError, NonFiniteError
from toonlift.functional.seeds import latents_from_seeds
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.losses.base import Loss
from toonlift.plugins.losses.smoothness import SmoothnessLoss
from toonlift.plugins.parsers.base import FaceParser
from toonlift.plugins.renderers.base import Renderer
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.evaluation import depth_metrics, evaluate
from toonlift.stages.vlda.inputs import load_ground_truth, load_latents, prepare_image
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.projector import LatentProjector
from toonlift.stages.vlda.schedule import Schedule, ScheduleState
from toonlift.stages.vlda.variants import load_variants, write_variants
from toonlift.stages.vlda.vlda_params import PseudoSampling, rescale_depth

_OPTIMIZERS = ("init", "step1", "step2", "step3")
_FROZEN = ("projector", "perceptual", "face_parser")


def _seed_of(*parts: object) -> int:
    """A seed that depends only on ``parts`` (Python's ``hash`` of strings changes between processes)."""
    return zlib.crc32(repr(parts).encode())


class VLDAModule(ToonModule):
    """GAN2Shape-style reconstruction of depth, albedo, view and light for each given latent.

    Args:
        generator: the Stage-1 generator (``class_path: stylegan2`` with its checkpoint).
        discriminator: its discriminator (``class_path: stylegan2``; features of its first blocks).
        perceptual: the perceptual loss plugin; its ``weight`` is lambda_perc (GAN2Shape: LPIPS-VGG, 0.5).
        renderer: a depth-map renderer (default ``DepthMapRenderer(image_size)``: fov 10, depth 0.9-1.1).
        face_parser: face-region parser for the ellipsoid prior; else the generator's mask, else ``face_box``.
        seeds: seeds of the images (``z`` from ``torch.Generator(seed)``, mapped to W); ignored if ``latents``.
        latents: file of W latents ``[N, w_dim]`` (``.safetensors`` or ``.pt``).
        truncation: truncation psi applied when mapping seeds.
        ground_truth: optional safetensors with ``depth``/``mask`` ``[N, S, S]`` for SIDE/MAD (a generator that
            returns depth, like the synthetic world, is used automatically).
        variants: optional safetensors with ``w`` ``[N, V, w_dim]`` (sidecar ``names``): after image i is
            reconstructed, its trained networks reconstruct each variant (e.g. Stage-2 expressions) by a forward
            pass into ``avatar_NNNN/<name>/`` (``toonlift.stages.vlda.variants``).
        image_size: side of the reconstruction (128 in GAN2Shape; the generator output is resized).
        first: iterations of step 1/2/3 in stage 0.
        later: iterations of step 1/2/3 in later stages.
        num_stages: stages per image.
        init_iters: iterations fitting the depth network to the ellipsoid.
        batch_size: pseudo/projected samples per iteration.
        collect_batches: batches of projected samples collected after step 2 (x batch_size samples).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        lam_regular: weight of ``mean(offset^2)`` in step 2.
        lam_smooth: weight of the second-order smoothness of depth and diffuse shading.
        tail_layers: mapping layers after the encoder's hidden space (``F1_d``).
        disc_blocks: discriminator blocks in the step-2 feature loss.
        yaw_deg: pseudo-view yaw range before ``view_scale`` (degrees).
        pitch_deg: pseudo-view pitch range.
        roll_deg: pseudo-view roll range.
        xy_translation: pseudo-view translation range.
        view_scale: yaw multiplier (1.2).
        view_distribution: ``uniform`` or ``gaussian`` (std = range / 2).
        face_box: relative ``[min_y, max_y, min_x, max_x]`` face box when no mask is available.
        prior_category: box adjustment of the prior (``face``, ``synface``, ``none``).
        net_width: base width of D, A, V, L (``None``: ``max(4096 // image_size, 16)``).
        zdim: bottleneck of D and A.
        enc_width: base width of the offset encoder.
        flip_stages: per stage, whether step 3 adds the mirrored-shape (symmetry) terms; stages beyond the list
            have none (GAN2Shape CelebA: ``[true, false, false, false]``).
        out_dir: where each avatar's folder is written.
        gif_frames: frames of each avatar's rotation GIF.
        seed: seed of the networks' initialisation and of the pseudo samples.
    """

    def __init__(
        self,
        generator: Backbone,
        discriminator: Discriminator,
        perceptual: Loss | None = None,
        renderer: Renderer | None = None,
        face_parser: FaceParser | None = None,
        seeds: list[int] | None = None,
        latents: str | None = None,
        truncation: float = 1.0,
        ground_truth: str | None = None,
        variants: str | None = None,
        image_size: int = 128,
        first: tuple[int, int, int] = (600, 600, 400),
        later: tuple[int, int, int] = (200, 500, 300),
        num_stages: int = 4,
        init_iters: int = 1000,
        batch_size: int = 16,
        collect_batches: int = 100,
        lr: float = 1e-4,
        weight_decay: float = 5e-4,
        lam_regular: float = 0.01,
        lam_smooth: float = 0.01,
        tail_layers: int = 2,
        disc_blocks: int = 4,
        yaw_deg: float = 45.0,
        pitch_deg: float = 15.0,
        roll_deg: float = 5.0,
        xy_translation: float = 0.0,
        view_scale: float = 1.2,
        view_distribution: str = "uniform",
        face_box: tuple[float, float, float, float] = (0.2, 1.0, 0.2, 0.8),
        prior_category: str = "face",
        net_width: int | None = None,
        zdim: int = 256,
        enc_width: int = 32,
        flip_stages: tuple[bool, ...] = (True, False, False, False),
        out_dir: str = "outputs/vlda",
        gif_frames: int = 24,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["generator", "discriminator", "perceptual", "renderer", "face_parser"])
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints leave out the frozen parts (see on_save_checkpoint)
        if seeds is None and latents is None:
            raise ConfigError("VLDAModule needs the images to reconstruct: give `seeds` or a `latents` file.")
        if batch_size < 1 or collect_batches < 1 or lr <= 0:
            raise ConfigError(
                f"VLDAModule: batch_size, collect_batches and lr must be positive ({batch_size}, "
                f"{collect_batches}, {lr})."
            )
        self.schedule = Schedule(tuple(first), tuple(later), num_stages, init_iters)
        self.sampling = PseudoSampling(yaw_deg, pitch_deg, roll_deg, xy_translation, view_scale, view_distribution)
        self.image_size = image_size
        self.renderer = renderer if renderer is not None else DepthMapRenderer(image_size=image_size)
        if self.renderer.image_size != image_size:
            raise ConfigError(f"renderer.image_size ({self.renderer.image_size}) must equal image_size ({image_size}).")
        self.ranges = rc.Ranges(self.renderer.min_depth, self.renderer.max_depth)
        self.projector = LatentProjector(generator, discriminator, image_size, tail_layers, disc_blocks)
        self.perceptual = perceptual
        self.smoothness = SmoothnessLoss(lam_smooth)
        self.face_parser = face_parser.eval().requires_grad_(False) if face_parser is not None else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same initial networks for every image and every resume
            self.nets = rc.VLDANets(image_size, generator.w_dim, zdim, net_width, enc_width)
        self._initial = {k: v.detach().clone() for k, v in self.nets.state_dict().items()}
        self.state = ScheduleState()
        self.state.skip_empty(self.schedule)
        self.latents = load_latents(latents, generator.w_dim) if latents is not None else None
        self.variants = load_variants(variants, len(self._all_latents()), generator.w_dim) if variants else None
        self.out_dir = Path(out_dir)
        self._image_ready: int | None = None
        self._proj: tuple[Tensor, Tensor] | None = None
        self._canon_cache: rc.Canonical | None = None
        self._metrics: dict = {}
        self._history: dict[str, list[float]] = {}
        self._restored_metrics: dict = {}
        self.ddp_anchor = torch.nn.Parameter(torch.zeros(()))  # see setup()

    # ------------------------------------------------------------------ images of this rank
    def _all_latents(self) -> Tensor:
        if self.latents is None:
            z = latents_from_seeds(torch.tensor(self.hparams.seeds), self.projector.generator.z_dim, self.device)
            gen = self.projector.generator
            with torch.no_grad():
                self.latents = gen.mapping(z, truncation=self.hparams.truncation)[:, 0].cpu()
        return self.latents

    def _my_images(self) -> list[int]:
        world = self.trainer.world_size if self._trainer is not None else 1
        rank = self.trainer.global_rank if self._trainer is not None else 0
        return list(range(len(self._all_latents())))[rank::world]

    def steps_per_rank(self) -> int:
        """Training steps every rank runs: the schedule of the busiest rank (idle ranks step without work)."""
        return math.ceil(len(self._all_latents()) / self.trainer.world_size) * self.schedule.iterations_per_image()

    def train_dataloader(self) -> DataLoader:
        """Used without a data module (``data: {class_path: steps}`` in configs does the same)."""
        return ticks_loader(self.steps_per_rank(), self.trainer.world_size)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams  # one Adam per phase, as GAN2Shape's per-mode optimisers
        return [
            torch.optim.Adam(self.nets.phase_parameters(k), lr=hp.lr, betas=(0.9, 0.999), weight_decay=hp.weight_decay)
            for k in _OPTIMIZERS
        ]

    def setup(self, stage: str) -> None:
        from torch.nn.parallel import DistributedDataParallel

        # one independent model per rank: DDP must neither average gradients nor broadcast states, so it sees only
        # the zero-valued anchor (every step of every rank, idle or not, backpropagates through it: no hang)
        ignore = [n for n, _ in self.named_parameters() if n != "ddp_anchor"] + [n for n, _ in self.named_buffers()]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(self, ignore)

    # ------------------------------------------------------------------ per-image preparation
    @torch.no_grad()
    def _prepare(self, local: int) -> None:
        index = self._my_images()[local]
        self.index = index
        gt = None
        if self.hparams.ground_truth is not None:
            depth, mask = load_ground_truth(self.hparams.ground_truth, len(self._all_latents()), self.image_size)
            gt = (depth[index : index + 1], mask[index : index + 1])
        w = self._all_latents()[index : index + 1].to(self.device)
        hp = self.hparams
        p = prepare_image(
            self.projector.generator, w, self.image_size, self.face_parser, hp.face_box, hp.prior_category, gt
        )
        self.input_w, self.input_image, self.ellipsoid = p.w, p.image, p.ellipsoid
        self.gt_depth, self.gt_mask = p.gt_depth, p.gt_mask
        self._image_ready = local
        restored = self._restored_metrics if self._restored_metrics.get("index") == index else {}
        self._metrics = {**restored, "index": index}
        self._restored_metrics = {}
        if self.gt_depth is not None:
            zero = torch.zeros(1, 6, device=self.device)  # the prior is scored in the canonical view
            self._metrics["prior"] = depth_metrics(self.renderer, self.ellipsoid, zero, self.gt_depth, self.gt_mask)

    def _reset_networks(self) -> None:
        self.nets.load_state_dict(self._initial)
        for opt in self.optimizers():
            opt.optimizer.state.clear()

    def _evaluate(self, key: str) -> None:
        entry = evaluate(
            self.nets, self.input_image, self.renderer, self.ranges, self.perceptual, self.gt_depth, self.gt_mask
        )
        self._metrics[key] = entry
        for k, v in entry.items():
            self.log(f"eval/{key}_{k}", v)

    # ------------------------------------------------------------------ the three steps
    def _generator(self) -> torch.Generator:
        st = self.state  # reproducible and resumable: a function of (seed, image, stage, phase, iteration)
        return torch.Generator().manual_seed(_seed_of(self.hparams.seed, self.index, st.stage, st.phase, st.iteration))

    def _pseudo_batch(self, canon: rc.Canonical, g: torch.Generator) -> tuple[Tensor, Tensor]:
        views = self.sampling.sample_views(self.hparams.batch_size, g).to(self.device)
        d, r = (t.to(self.device) for t in self.sampling.sample_lights(self.hparams.batch_size, g))
        return rc.pseudo_samples(canon, self.renderer, views, d, r, self.sampling.ambient_shift)

    @property
    def _loss_parts(self) -> tuple:
        return self.renderer, self.perceptual, self.smoothness

    def _loss_init(self) -> tuple[Tensor, dict]:
        depth = rescale_depth(self.nets.netD(self.input_image), self.ranges.min_depth, self.ranges.max_depth, 0)
        loss = F.mse_loss(depth, self.ellipsoid)
        return loss, {"mse": loss}

    def _loss_step1(self) -> tuple[Tensor, dict]:
        canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        loss, terms, _, _ = rc.reconstruction_loss(canon, self.input_image, *self._loss_parts)
        return loss, terms

    def _loss_step2(self) -> tuple[Tensor, dict]:
        if self._canon_cache is None:
            with torch.no_grad():
                self._canon_cache = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        pseudo, mask = self._pseudo_batch(self._canon_cache, self._generator())
        code = self.nets.netE(self.input_image)
        proj, offset = self.projector.project(self.nets.netE, pseudo, code, self.input_w)
        return self.projector.loss(proj, pseudo, mask, offset, self.hparams.lam_regular)

    @torch.no_grad()
    def _collect(self) -> None:
        """GAN2Shape ``step2_collect``: ``collect_batches x batch_size`` projected samples, kept on the CPU."""
        canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        code = self.nets.netE(self.input_image)
        images, masks = [], []
        for i in range(self.hparams.collect_batches):
            g = torch.Generator().manual_seed(_seed_of(self.hparams.seed, self.index, self.state.stage, "collect", i))
            pseudo, mask = self._pseudo_batch(canon, g)
            proj, _ = self.projector.project(self.nets.netE, pseudo, code, self.input_w)
            images.append(proj.cpu())
            masks.append(mask.cpu())
        self._proj = (torch.cat(images), torch.cat(masks))

    def _loss_step3(self) -> tuple[Tensor, dict]:
        if self._proj is None:  # resumed inside step 3: collect again from the restored encoder
            self._collect()
        images, masks = self._proj
        g = self._generator()
        idx = torch.randperm(images.shape[0], generator=g)[: self.hparams.batch_size]
        proj, mask = images[idx].to(self.device), masks[idx].to(self.device)
        canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        stages = self.hparams.flip_stages
        flip = bool(stages[self.state.stage]) if self.state.stage < len(stages) else False
        loss, terms, _, _ = rc.reconstruction_loss(canon, self.input_image, *self._loss_parts, flip)
        proj_loss, proj_terms = rc.projected_loss(
            self.nets, canon, proj, mask, self.renderer, self.perceptual, self.ranges, flip
        )
        return loss + proj_loss, {**terms, **proj_terms}

    # ------------------------------------------------------------------ one iteration
    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        del batch, batch_idx
        st = self.state
        if st.phase == "done" or st.image >= len(self._my_images()):
            if self.trainer.world_size == 1:
                self.trainer.should_stop = True
            else:  # idle rank: keep DDP's per-step gradient exchange (of the anchor only) in step with the others
                self.manual_backward(self.ddp_anchor * 0.0)
            return None
        if self._image_ready != st.image:
            self._prepare(st.image)
        phase = st.phase
        self.nets.set_trainable(phase)
        loss, terms = getattr(self, f"_loss_{phase}")()
        if not torch.isfinite(loss):
            raise NonFiniteError(
                f"VLDA {phase} loss became {loss.item()} (image {self.index}, stage {st.stage}, "
                f"iteration {st.iteration}); lower lr or check the generator checkpoint."
            )
        opt = self.optimizers()[_OPTIMIZERS.index(phase)]
        opt.zero_grad()
        self.manual_backward(loss + self.ddp_anchor * 0.0)
        opt.step()
        self.log(f"{phase}/loss", loss.detach(), prog_bar=True)
        for k, v in terms.items():
            self.log(f"{phase}/{k}", v.detach())
        self._history.setdefault(f"{phase}_stage{st.stage}", []).append(float(loss.detach()))
        for event in st.advance(self.schedule, len(self._my_images())):
            self._on_event(event)
        return None

    def _on_event(self, event: str) -> None:
        if event.startswith("enter:"):
            # GAN2Shape re-creates the optimiser at every mode switch: fresh Adam state
            self.optimizers()[_OPTIMIZERS.index(event[6:])].optimizer.state.clear()
            self._canon_cache = None
        elif event == "collect":
            self._collect()
        elif event == "stage_done":
            done_stage = self.state.stage - 1 if self.state.stage > 0 else self.schedule.num_stages - 1
            if done_stage == 0:
                self._evaluate("stage1")
            self._proj = None
        elif event == "image_done":
            self._finish_image()

    def _finish_image(self) -> None:
        self._evaluate("final")
        self._metrics["loss_history"] = {k: [v[0], v[-1], len(v)] for k, v in self._history.items()}
        with torch.no_grad():
            canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
            recon, _, _ = rc.render_view(self.renderer, canon.texture, canon.depth, canon.view)
            folder = self.out_dir / f"avatar_{self.index:04d}"
            frames = self.hparams.gif_frames
            write_avatar(folder, canon, self.input_image, recon, self.renderer, self._metrics, gif_frames=frames)
            if self.variants is not None:
                ws, names = self.variants[0][self.index].to(self.device), self.variants[1]
                g, size = self.projector.generator, self.image_size
                write_variants(self.nets, g, ws, names, size, self.renderer, self.ranges, folder, frames)
        self._log_images(folder)
        self._history = {}
        self._image_ready = None
        self._reset_networks()

    def _log_images(self, folder: Path) -> None:
        """Send the avatar's main images to loggers that take images (W&B's ``log_image``)."""
        logger = self.logger
        if logger is None or not hasattr(logger, "log_image"):
            return
        names = ["input", "reconstruction", "depth", "normal", "albedo", "rotation_grid", "relight_grid"]
        logger.log_image(
            key=f"vlda/avatar_{self.index:04d}", images=[str(folder / f"{n}.png") for n in names], caption=names
        )

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # frozen parts (generator, discriminator, perceptual and parser networks) are rebuilt from their own files
        state = checkpoint.get("state_dict", {})
        for key in [k for k in state if k.split(".")[0] in _FROZEN]:
            del state[key]
        checkpoint["vlda_state"] = self.state.state_dict()
        checkpoint["vlda_metrics"] = self._metrics
        checkpoint["vlda_history"] = self._history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        missing = [k for k in self.state_dict() if k.startswith("nets.") and k not in checkpoint.get("state_dict", {})]
        if missing:
            raise CheckpointError(
                f"The checkpoint lacks {len(missing)} VLDA network weights (e.g. {missing[:3]}); it is not a VLDA "
                "checkpoint of this configuration (check image_size and the network widths)."
            )
        if "vlda_state" in checkpoint:
            self.state = ScheduleState.from_state_dict(checkpoint["vlda_state"])
            self._image_ready = None
            self._proj = None
            self._restored_metrics = dict(checkpoint.get("vlda_metrics", {}))
            self._history = {k: list(v) for k, v in checkpoint.get("vlda_history", {}).items()}
