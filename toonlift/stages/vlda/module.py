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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import CheckpointError, ConfigError, NonFiniteError
from toonlift.functional.seeds import latents_from_seeds
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.losses.base import Loss
from toonlift.plugins.losses.smoothness import SmoothnessLoss
from toonlift.plugins.parsers.base import FaceParser
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.depth_anchor import attach_anchor
from toonlift.stages.vlda.evaluation import depth_metrics, evaluate
from toonlift.stages.vlda.inputs import load_ground_truth, load_latents, prepare_image
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.phases import VLDAPhases
from toonlift.stages.vlda.projector import LatentProjector
from toonlift.stages.vlda.schedule import Schedule, ScheduleState
from toonlift.stages.vlda.settings import AvatarOutput, FacePrior, VLDAImages, VLDANetworks, VLDATraining
from toonlift.stages.vlda.variants import load_variants, write_variants
from toonlift.stages.vlda.view_prior import make_view_prior
from toonlift.stages.vlda.vlda_params import PseudoSampling

_OPTIMIZERS = ("init", "step1", "step2", "step3")
_FROZEN = ("projector", "perceptual", "face_parser")


class VLDAModule(VLDAPhases, ToonModule):
    """GAN2Shape-style reconstruction of depth, albedo, view and light for each given latent.

    Args:
        generator: the Stage-1 generator (``class_path: stylegan2`` with its checkpoint); needs ``MappingSplit``.
        discriminator: its discriminator (``class_path: stylegan2``); needs ``BlockFeatures``.
        perceptual: the perceptual loss plugin; its ``weight`` is lambda_perc (GAN2Shape: LPIPS-VGG, 0.5).
        renderer: a depth-map renderer (default ``DepthMapRenderer(image_size)``: fov 10, depth 0.9-1.1).
        face_parser: face-region parser for the ellipsoid prior; else the generator's mask, else the prior's box.
        images: which faces (seeds or a latents file) and their optional ground truth and variants.
        image_size: side of the reconstruction (128 in GAN2Shape; the generator output is resized).
        schedule: iterations of the init phase and of each stage's three steps, and the number of stages.
        sampling: ranges of step 2's random views and lights.
        training: optimiser settings, batch sizes and loss weights.
        networks: widths of the reconstruction networks.
        prior: the ellipsoid prior's face box when no mask is available.
        output: where each avatar's folder is written, and its GIF length.
        seed: seed of the networks' initialisation and of the pseudo samples.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from toonlift.plugins.stylegan2 import StyleGAN2Backbone, StyleGAN2Discriminator

        g, d = StyleGAN2Backbone, StyleGAN2Discriminator
        return {"generator": g(**g.example_args(workdir)), "discriminator": d(**d.example_args(workdir)),
                "images": VLDAImages(seeds=(0,)), "image_size": 16,
                "schedule": Schedule((1, 1, 1), (1, 1, 1), num_stages=1, init_iters=1),
                "training": VLDATraining(batch_size=2, collect_batches=1, disc_blocks=2),
                "networks": VLDANetworks(8, 16, 8),
                "output": AvatarOutput(str(workdir / "vlda"), gif_frames=2)}  # fmt: skip

    def __init__(
        self,
        generator: Backbone,
        discriminator: Discriminator,
        perceptual: Loss | None = None,
        renderer: DepthMapRenderer | None = None,
        face_parser: FaceParser | None = None,
        images: VLDAImages | None = None,
        image_size: int = 128,
        schedule: Schedule | None = None,
        sampling: PseudoSampling | None = None,
        training: VLDATraining | None = None,
        networks: VLDANetworks | None = None,
        prior: FacePrior | None = None,
        output: AvatarOutput | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if images is None:
            raise ConfigError(
                "VLDAModule needs the images to reconstruct: give images.seeds or an images.latents file."
            )
        self.images = images
        self.schedule = schedule if schedule is not None else Schedule()
        self.sampling = sampling if sampling is not None else PseudoSampling()
        self.train_cfg = training if training is not None else VLDATraining()
        self.networks = networks if networks is not None else VLDANetworks()
        self.prior = prior if prior is not None else FacePrior()
        self.output = output if output is not None else AvatarOutput()
        self.seed = seed
        # plain values only (checkpoints are read back with weights_only=True, which refuses pickled dataclasses);
        # loggers show them, checkpoints keep them under "vlda_settings" (see on_save_checkpoint)
        groups = {"images": images, "schedule": self.schedule, "sampling": self.sampling, "training": self.train_cfg,
                  "networks": self.networks, "prior": self.prior, "output": self.output}  # fmt: skip
        self.save_hyperparameters({"image_size": image_size, "seed": seed, **{k: asdict(v) for k, v in groups.items()}})
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints leave out the frozen parts (see on_save_checkpoint)
        self.image_size = image_size
        self.renderer = renderer if renderer is not None else DepthMapRenderer(image_size=image_size)
        if self.renderer.image_size != image_size:
            raise ConfigError(f"renderer.image_size ({self.renderer.image_size}) must equal image_size ({image_size}).")
        self.ranges = rc.Ranges(self.renderer.min_depth, self.renderer.max_depth)
        tc = self.train_cfg
        self.projector = LatentProjector(generator, discriminator, image_size, tc.tail_layers, tc.disc_blocks)
        self.perceptual = perceptual
        self.smoothness = SmoothnessLoss(tc.lam_smooth)
        self.face_parser = face_parser.eval().requires_grad_(False) if face_parser is not None else None
        nw = self.networks
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same initial networks for every image and every resume
            self.nets = rc.VLDANets(image_size, generator.w_dim, nw.zdim, nw.net_width, nw.enc_width)
        self.nets.view_prior = make_view_prior(tc.view_prior, tc.view_prior_scale)
        self._initial = {k: v.detach().clone() for k, v in self.nets.state_dict().items()}
        self.state = ScheduleState()
        self.state.skip_empty(self.schedule)
        self.latents = load_latents(images.latents, generator.w_dim) if images.latents is not None else None
        n_images = len(self._all_latents())
        self.variants = load_variants(images.variants, n_images, generator.w_dim) if images.variants else None
        self.out_dir = Path(self.output.out_dir)
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
            z = latents_from_seeds(torch.tensor(self.images.seeds), self.projector.generator.z_dim, self.device)
            gen = self.projector.generator
            with torch.no_grad():
                self.latents = gen.mapping(z, truncation=self.images.truncation)[:, 0].cpu()
        return self.latents

    def _my_images(self) -> list[int]:
        world = self.trainer.world_size if self._trainer is not None else 1
        rank = self.trainer.global_rank if self._trainer is not None else 0
        return list(range(len(self._all_latents())))[rank::world]

    def steps_per_rank(self) -> int:
        """Training steps every rank runs: the schedule of the busiest rank (idle ranks step without work)."""
        return math.ceil(len(self._all_latents()) / self.trainer.world_size) * self.schedule.iterations_per_image()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        tc = self.train_cfg  # one Adam per phase, as GAN2Shape's per-mode optimisers
        return [
            torch.optim.Adam(self.nets.phase_parameters(k), lr=tc.lr, betas=(0.9, 0.999), weight_decay=tc.weight_decay)
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
        if self.images.ground_truth is not None:
            depth, mask = load_ground_truth(self.images.ground_truth, len(self._all_latents()), self.image_size)
            gt = (depth[index : index + 1], mask[index : index + 1])
        w = self._all_latents()[index : index + 1].to(self.device)
        pr = self.prior
        g = self.projector.generator
        p = prepare_image(g, w, self.image_size, self.face_parser, pr.face_box, pr.category, gt, pr.relief)
        self.input_w, self.input_image, self.ellipsoid = p.w, p.image, p.ellipsoid
        self.gt_depth, self.gt_mask = p.gt_depth, p.gt_mask
        self._image_ready = local
        restored = self._restored_metrics if self._restored_metrics.get("index") == index else {}
        self._metrics = {**restored, "index": index}
        self._restored_metrics = {}
        if self.gt_depth is not None:
            zero = torch.zeros(1, 6, device=self.device)  # the prior is scored in the canonical view
            self._metrics["prior"] = depth_metrics(self.renderer, self.ellipsoid, zero, self.gt_depth, self.gt_mask)
            # the no-shape baseline: a reconstruction is only 3D where it beats a flat plane (depth 1) on the same truth
            flat = torch.ones_like(self.ellipsoid)
            self._metrics["flat"] = depth_metrics(self.renderer, flat, zero, self.gt_depth, self.gt_mask)

    def _reset_networks(self) -> None:
        self.nets.depth_anchor = None
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
        if st.phase != "init" and self.nets.depth_anchor is None:
            self._set_anchor()  # once per image, when the init phase is over (a no-op unless an anchor option is on)
        phase = st.phase
        self.nets.set_trainable(phase)
        losses = {"init": self._loss_init, "step1": self._loss_step1,
                  "step2": self._loss_step2, "step3": self._loss_step3}  # fmt: skip
        loss, terms = losses[phase]()
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
            frames = self.output.gif_frames
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
        # the grouped settings are not the constructor's flat arguments, so LightningCLI must not re-apply them as a
        # config on resume (the run's own config is given again with --ckpt_path): keep them as a record only
        checkpoint["vlda_settings"] = checkpoint.pop("hyper_parameters", {})
        checkpoint["vlda_state"] = self.state.state_dict()
        checkpoint["vlda_metrics"] = self._metrics
        checkpoint["vlda_history"] = self._history
        if self.nets.depth_anchor is not None:
            checkpoint["vlda_depth_anchor"] = self.nets.depth_anchor.cpu()

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
            anchor = checkpoint.get("vlda_depth_anchor")
            anchor = anchor.to(self.device) if anchor is not None else None
            attach_anchor(self.nets, anchor, self.train_cfg.depth_bound, self.train_cfg.depth_smooth)
