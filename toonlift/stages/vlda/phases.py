"""The loss of each phase of VLDA's schedule (GAN2Shape's init, step 1, step 2, step 3), mixed into ``VLDAModule``.

Kept apart from the Lightning plumbing of :mod:`toonlift.stages.vlda.module` (state machine, optimisers, checkpoints,
outputs) so each file holds one idea. Every loss reads the current image's tensors that ``VLDAModule._prepare`` set
(``input_image`` ``[1, 3, S, S]``, ``input_w`` ``[1, w_dim]``, ``ellipsoid`` ``[1, S, S]``) and returns
``(loss, terms)``: a scalar to backpropagate and the named parts to log.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.plugins.losses.base import Loss
from toonlift.plugins.losses.smoothness import SmoothnessLoss
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.depth_anchor import anchor_loss, attach_anchor, init_loss
from toonlift.stages.vlda.projector import LatentProjector
from toonlift.stages.vlda.schedule import ScheduleState
from toonlift.stages.vlda.settings import VLDATraining
from toonlift.stages.vlda.vlda_params import PseudoSampling, rescale_depth
from toonlift.utils.rng import derive_seed


class VLDAPhases:
    """Adds the four phase losses, step 2's sample collection and their random streams to :class:`VLDAModule`."""

    # set by VLDAModule.__init__ and _prepare (declared here for readers); ``device`` is Lightning's
    nets: rc.VLDANets
    projector: LatentProjector
    renderer: DepthMapRenderer
    perceptual: Loss | None
    smoothness: SmoothnessLoss
    ranges: rc.Ranges
    sampling: PseudoSampling
    train_cfg: VLDATraining
    state: ScheduleState
    seed: int
    index: int
    input_w: Tensor
    input_image: Tensor
    ellipsoid: Tensor
    _canon_cache: rc.Canonical | None
    _proj: tuple[Tensor, Tensor] | None

    def _generator(self) -> torch.Generator:
        st = self.state  # reproducible and resumable: a function of (seed, image, stage, phase, iteration)
        return torch.Generator().manual_seed(derive_seed(self.seed, self.index, st.stage, st.phase, st.iteration))

    def _pseudo_batch(self, canon: rc.Canonical, g: torch.Generator) -> tuple[Tensor, Tensor]:
        views = self.sampling.sample_views(self.train_cfg.batch_size, g).to(self.device)
        d, r = (t.to(self.device) for t in self.sampling.sample_lights(self.train_cfg.batch_size, g))
        return rc.pseudo_samples(canon, self.renderer, views, d, r, self.sampling.ambient_shift)

    @property
    def _loss_parts(self) -> tuple:
        return self.renderer, self.perceptual, self.smoothness

    def _loss_init(self) -> tuple[Tensor, dict]:
        depth = rescale_depth(self.nets.netD(self.input_image), self.ranges.min_depth, self.ranges.max_depth, 0)
        view = None
        if self.train_cfg.init_view == "input":
            with torch.no_grad():
                view = rc.predict_view(self.nets, self.input_image, self.ranges)
        loss = init_loss(depth, self.ellipsoid, view, self.renderer)
        return loss, {"mse": loss}

    @torch.no_grad()
    def _set_anchor(self) -> None:
        """Keep the depth the init phase ended with as the anchor of ``depth_bound`` and ``lam_anchor``."""
        tc = self.train_cfg
        if tc.depth_bound > 0 or tc.lam_anchor > 0:
            canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
            attach_anchor(self.nets, canon.depth.detach(), tc.depth_bound, tc.depth_smooth)

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
        return self.projector.loss(proj, pseudo, mask, offset, self.train_cfg.lam_regular)

    @torch.no_grad()
    def _collect(self) -> None:
        """GAN2Shape ``step2_collect``: ``collect_batches x batch_size`` projected samples, kept on the CPU."""
        canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        code = self.nets.netE(self.input_image)
        images, masks = [], []
        for i in range(self.train_cfg.collect_batches):
            g = torch.Generator().manual_seed(derive_seed(self.seed, self.index, self.state.stage, "collect", i))
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
        idx = torch.randperm(images.shape[0], generator=g)[: self.train_cfg.batch_size]
        proj, mask = images[idx].to(self.device), masks[idx].to(self.device)
        canon = rc.predict_canonical(self.nets, self.input_image, self.renderer, self.ranges)
        stages = self.train_cfg.flip_stages
        flip = bool(stages[self.state.stage]) if self.state.stage < len(stages) else False
        loss, terms, _, _ = rc.reconstruction_loss(canon, self.input_image, *self._loss_parts, flip)
        proj_loss, proj_terms = rc.projected_loss(
            self.nets, canon, proj, mask, self.renderer, self.perceptual, self.ranges, flip
        )
        if self.train_cfg.lam_anchor > 0 and self.nets.depth_anchor is not None:
            terms["anchor"] = anchor_loss(canon.depth, self.nets.depth_anchor)
            loss = loss + self.train_cfg.lam_anchor * terms["anchor"]
        return loss + proj_loss, {**terms, **proj_terms}
