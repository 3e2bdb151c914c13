"""The analyser view prior of Stage 3: the pose-to-view convention and the residual view it gives."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.settings import VLDATraining
from toonlift.stages.vlda.synthetic_truth import render_samples
from toonlift.stages.vlda.view_prior import AnalyserViewPrior, make_view_prior, pose_view
from toonlift.stages.vlda.vlda_params import decode_view
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params

S = 64


def _world_depth(pose: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Depth ``[1, S, S]`` and face mask of world face 0 (seed 7000) rendered with head ``pose`` (degrees)."""
    params = dataclasses.replace(sample_params(7000, [0]), pose=torch.tensor([pose]))
    out = FaceRenderer()(params, "photo", S, ("depth", "mask"))
    return out["depth"][:, 0], out["mask"][:, 0]


@pytest.mark.parametrize("pose", [[14.0, 0.0, 0.0], [0.0, 14.0, 0.0], [0.0, 0.0, 14.0], [-20.0, 8.0, 3.0]])
def test_pose_view_turns_the_frontal_depth_into_the_posed_one(pose: list[float]) -> None:
    # the world's frontal depth, warped by the depth renderer to pose_view(pose), must match the depth of the same
    # face rendered with that pose better than the opposite signs or the yaw/pitch axes swapped
    renderer = DepthMapRenderer(image_size=S)
    front, _ = _world_depth([0.0, 0.0, 0.0])
    truth, mask = _world_depth(pose)

    def err(p: list[float]) -> float:
        warped = renderer.warp_canon_depth(front, pose_view(torch.tensor([p])))
        return float(((warped - truth).abs() * mask).sum() / mask.sum())

    right = err(pose)
    assert right < 5e-3  # depth units; the face spans ~0.08
    assert right < 0.5 * err([-x for x in pose])
    if pose[0] != pose[1]:
        assert right < err([pose[1], pose[0], pose[2]])


def test_analyser_view_prior_reads_the_world_pose() -> None:
    out = render_samples(7000, list(range(8)), "photo", S)
    view = AnalyserViewPrior()(out["image"])
    truth = pose_view(out["pose"])
    assert view.shape == (8, 6) and torch.equal(view[:, 3:], torch.zeros(8, 3))
    # yaw and pitch within 6 degrees (the analyser's accuracy on the world), signs right on every face
    assert (view[:, :2] - truth[:, :2]).abs().max() < torch.deg2rad(torch.tensor(6.0))
    assert torch.all(torch.sign(view[:, :2]) == torch.sign(truth[:, :2]))


def test_view_prior_is_added_to_the_network_view_and_stays_out_of_the_state_dict() -> None:
    torch.manual_seed(0)
    nets = rc.VLDANets(S, style_dim=32, zdim=16, nf=8, enc_nf=8)
    keys = set(nets.state_dict())
    nets.view_prior = make_view_prior("analyser")
    assert set(nets.state_dict()) == keys  # checkpoints are the paper's networks
    images = render_samples(7000, [0, 1], "photo", S)["image"]
    ranges = rc.Ranges()
    plain = decode_view(nets.netV(images), ranges.rotation_deg, ranges.xy_translation, ranges.z_translation)
    view = rc.predict_view(nets, images, ranges)
    assert torch.allclose(view, plain + nets.view_prior(images), atol=1e-6)
    # V still trains: the residual view carries its gradient
    view.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in nets.netV.parameters())


def test_view_prior_settings() -> None:
    assert VLDATraining().view_prior == "none" and make_view_prior("none") is None
    with pytest.raises(ConfigError, match="view_prior"):
        VLDATraining(view_prior="landmarks")
    with pytest.raises(ConfigError):
        VLDATraining(view_prior="analyser", view_prior_scale=-1.0)
