"""Stage 3's depth-anchor options: the bounded depth, the anchor penalty and the init phase in the input's view."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from toonlift.datamodules.steps import StepsDataModule
from toonlift.errors import ConfigError
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.depth_anchor import anchor_loss, bound_depth, init_loss, smooth_map
from toonlift.stages.vlda.module import VLDAModule
from toonlift.stages.vlda.schedule import Schedule
from toonlift.stages.vlda.settings import VLDATraining
from toonlift.stages.vlda.view_prior import pose_view
from toonlift.stages.vlda.vlda_params import rescale_depth

S = 32


def test_bound_depth_stays_within_the_bound_and_is_identity_near_the_anchor() -> None:
    g = torch.Generator().manual_seed(0)
    anchor = 1.0 + 0.02 * torch.rand(1, S, S, generator=g)
    far = anchor + 0.2 * torch.randn(2, S, S, generator=g)  # far outside a 0.01 bound
    out = bound_depth(far, anchor, 0.01)
    assert (out - anchor).abs().max() <= 0.01 + 1e-7
    assert (out - anchor).abs().max() > 0.009  # saturates towards the bound, not at zero
    near = (anchor + 1e-4 * torch.randn(1, S, S, generator=g)).requires_grad_(True)
    bounded = bound_depth(near, anchor, 0.01)
    assert torch.allclose(bounded, near, atol=1e-6)
    bounded.sum().backward()
    assert torch.allclose(near.grad, torch.ones_like(near), atol=1e-2)  # the gradient passes unchanged
    assert torch.equal(bound_depth(far, anchor, 0.0), far)  # 0: off (the paper)


def test_smoothed_bound_removes_pixel_ripple_and_keeps_a_broad_change() -> None:
    anchor = torch.ones(1, S, S)
    ys, xs = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    ripple = 0.004 * ((xs + ys) % 2 * 2 - 1).float()[None]  # checkerboard of ± 0.004 (the MAD-ruining ripple)
    broad = 0.004 * torch.cos(torch.pi * xs / (S - 1)).float()[None]  # one slow bend across the image
    out = bound_depth(anchor + ripple + broad, anchor, 0.01, smooth=3) - anchor
    assert (out - broad).abs().mean() < 0.15 * ripple.abs().mean()  # the ripple is gone, the bend stays
    rough = bound_depth(anchor + ripple + broad, anchor, 0.01, smooth=0) - anchor
    assert (rough - broad).abs().mean() > 0.8 * ripple.abs().mean()  # without smoothing it stays
    assert smooth_map(broad, 5).shape == broad.shape and torch.equal(smooth_map(broad, 1), broad)


def test_anchor_loss_is_the_mean_absolute_difference() -> None:
    anchor = torch.ones(1, 4, 4)
    depth = anchor.clone()
    depth[0, 0, :2] += 0.016  # 2 of 16 pixels off by 0.016 -> mean 0.002
    assert anchor_loss(depth, anchor).item() == pytest.approx(0.002, rel=1e-5)
    assert anchor_loss(anchor, anchor).item() == 0.0


def test_predict_canonical_holds_the_depth_near_the_anchor() -> None:
    torch.manual_seed(0)
    nets = rc.VLDANets(S, style_dim=16, zdim=8, nf=8, enc_nf=8)
    renderer, ranges = DepthMapRenderer(image_size=S), rc.Ranges()
    image = torch.rand(1, 3, S, S) * 2 - 1
    free = rc.predict_canonical(nets, image, renderer, ranges).depth
    anchor = torch.full((1, S, S), 1.0)
    assert (free - anchor).abs().max() > 0.02  # the untrained net's depth is far from a plane at 1.0
    nets.depth_anchor, nets.depth_bound = anchor, 0.005
    held = rc.predict_canonical(nets, image, renderer, ranges).depth
    assert (held - anchor).abs().max() <= 0.005 + 1e-6
    assert "depth_anchor" not in str(list(nets.state_dict()))  # checkpoints keep the paper's networks only


def _face(size: int = S) -> torch.Tensor:
    """A canonical face-like depth ``[1, S, S]``: a cap of relief 0.06 with a nose bump, on a plane at 1.02."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    cap = (1 - (xs / 0.55) ** 2 - (ys / 0.7) ** 2).clamp_min(0)
    nose = torch.exp(-(xs**2 + (ys - 0.1) ** 2) / 0.02) * (cap > 0)
    return (1.02 - 0.06 * cap.sqrt() - 0.03 * nose)[None]


def test_init_loss_in_the_input_view_accepts_the_frontal_shape_of_a_turned_face() -> None:
    # the prior is measured in the input image, here the canonical face seen turned by (yaw 20, pitch 10): compared
    # in the input's view the canonical face explains it, while GAN2Shape's canonical comparison (the prior taken as
    # the frontal depth) and the opposite turn do not
    renderer = DepthMapRenderer(image_size=S)
    front = _face()
    view = pose_view(torch.tensor([[20.0, 10.0, 0.0]]))
    prior = renderer.warp_canon_depth(front, view)
    in_view = init_loss(front, prior, view, renderer).item()
    assert in_view < 1e-6  # depth units squared
    assert in_view < 0.05 * init_loss(front, prior, None, renderer).item()
    assert in_view < 0.05 * init_loss(front, prior, -view, renderer).item()
    # the zero view is GAN2Shape's comparison (the rasteriser reproduces the canonical depth)
    zero = torch.zeros(1, 6)
    assert init_loss(front, prior, zero, renderer).item() == pytest.approx(
        init_loss(front, prior, None, renderer).item(), rel=1e-3
    )
    # and fitting a free depth with the input-view loss turns the prior back to the frontal face
    depth = torch.full_like(front, 1.0).requires_grad_(True)
    opt = torch.optim.Adam([depth], lr=2e-3)
    for _ in range(150):
        opt.zero_grad()
        init_loss(depth, prior, view, renderer).backward()
        opt.step()
    inner = _face() < 1.0  # the face, away from its silhouette
    err_fit = (depth.detach() - front)[inner].abs().mean()
    err_prior = (prior - front)[inner].abs().mean()
    assert err_fit < 0.5 * err_prior


def test_anchor_settings() -> None:
    tc = VLDATraining()
    assert (tc.init_view, tc.depth_bound, tc.lam_anchor) == ("canonical", 0.0, 0.0)  # the paper's behaviour
    with pytest.raises(ConfigError, match="init_view"):
        VLDATraining(init_view="frontal")
    with pytest.raises(ConfigError, match="depth_bound"):
        VLDATraining(depth_bound=-0.01)
    with pytest.raises(ConfigError, match="depth_smooth"):
        VLDATraining(depth_smooth=-1)
    with pytest.raises(ConfigError, match="lam_anchor"):
        VLDATraining(lam_anchor=float("nan"))


class _AnchorProbe(pl.Callback):
    """Records, before each step-1/step-3 iteration, the anchor and the largest departure of the depth from it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    @torch.no_grad()
    def on_train_batch_start(self, trainer: pl.Trainer, module: VLDAModule, batch: object, idx: int) -> None:
        if module.state.phase not in ("step1", "step3") or module.nets.depth_anchor is None:
            return
        depth = rc.predict_canonical(module.nets, module.input_image, module.renderer, module.ranges).depth
        free = rescale_depth(module.nets.netD(module.input_image), 0.9, 1.1, module.ranges.border)
        anchor = module.nets.depth_anchor
        self.rows.append((module.state.phase, float((depth - anchor).abs().max()), float((free - anchor).abs().max())))


def test_module_sets_the_anchor_after_init_bounds_step3_and_checkpoints_it(tmp_path: Path) -> None:
    args = VLDAModule.example_args(tmp_path)
    # step 1 twice: the anchor is taken at its first iteration, the probe sees the second (D is not trained there)
    args["schedule"] = Schedule((2, 1, 6), (1, 1, 1), num_stages=1, init_iters=3)
    args["training"] = dataclasses.replace(args["training"], lr=1e-2, init_view="input", depth_bound=0.002)
    module = VLDAModule(**args)
    probe = _AnchorProbe()
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[probe])  # fmt: skip
    trainer.fit(module, datamodule=StepsDataModule())
    phases = [r[0] for r in probe.rows]
    assert phases[0] == "step1" and phases.count("step3") == 6
    assert probe.rows[0][1] < 1e-6  # the anchor is the depth the init phase ended with
    assert all(r[1] <= 0.002 + 1e-6 for r in probe.rows)  # held within the bound...
    assert max(r[2] for r in probe.rows) > 0.002  # ...while the unbounded depth net moved further (lr 1e-2)
    assert module.nets.depth_anchor is None  # reset for the next image

    anchor = torch.rand(1, 16, 16)
    module.nets.depth_anchor = anchor
    ckpt = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(ckpt)
    fresh = VLDAModule(**args)
    fresh.on_load_checkpoint(ckpt)
    assert torch.equal(fresh.nets.depth_anchor, anchor) and fresh.nets.depth_bound == 0.002
