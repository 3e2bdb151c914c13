"""Stage-3 rendering at the canonical view, pseudo samples, and the per-avatar outputs (meshes re-import)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from tests.vlda_helpers import tiny_stylegan2
from toonlift.export.mesh_export import depth_map_to_mesh
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.ellipsoid import ellipsoid_from_mask
from toonlift.stages.vlda.inputs import box_mask
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.projector import LatentProjector
from toonlift.stages.vlda.vlda_params import PseudoSampling, diffuse_term, shade

S = 32


def _canonical(image: torch.Tensor, renderer: DepthMapRenderer) -> rc.Canonical:
    """A fresh VLDA model whose depth is the ellipsoid prior (what ``init`` fits) and albedo the image."""
    nets = rc.VLDANets(S, style_dim=32, zdim=16, nf=8, enc_nf=8)
    canon = rc.predict_canonical(nets, image, renderer, rc.Ranges())
    canon.depth = ellipsoid_from_mask(box_mask(S, [0.2, 1.0, 0.2, 0.8]))[None]
    canon.normal = renderer.normals(canon.depth)
    canon.texture, canon.shading = shade(canon.albedo, canon.normal, canon.light)
    canon.diffuse = diffuse_term(canon.normal, canon.light.direction)
    return canon


def test_canonical_view_reproduces_the_input_with_the_initial_shape() -> None:
    torch.manual_seed(0)
    renderer = DepthMapRenderer(image_size=S)
    image = torch.rand(1, 3, S, S) * 2 - 1
    canon = _canonical(image, renderer)
    # fresh V and L networks predict the canonical view (zero) and a frontal light
    assert torch.equal(canon.view, torch.zeros(1, 6))
    assert torch.allclose(canon.light.direction, torch.tensor([[0.0, 0.0, -1.0]]))
    recon, mask, recon_depth = rc.render_view(renderer, image, canon.depth, canon.view)
    assert mask.mean() > 0.99  # the whole canonical image is seen
    assert (recon - image).abs().max() < 1e-4
    assert torch.allclose(recon_depth, canon.depth, atol=1e-5)


def test_pseudo_samples_and_projection_shapes() -> None:
    torch.manual_seed(0)
    renderer = DepthMapRenderer(image_size=S)
    image = torch.rand(1, 3, S, S) * 2 - 1
    canon = _canonical(image, renderer)
    sampling = PseudoSampling()
    g = torch.Generator().manual_seed(1)
    views = sampling.sample_views(4, g)
    d, r = sampling.sample_lights(4, g)
    pseudo, mask = rc.pseudo_samples(canon, renderer, views, d, r)
    assert pseudo.shape == (4, 3, S, S) and mask.shape == (4, 1, S, S)
    assert pseudo.abs().max() <= 1 and 0.3 < mask.mean() <= 1
    # a frontal view with r = 0 and a frontal light gives back the canonical texture under the same light
    frontal, _ = rc.pseudo_samples(canon, renderer, torch.zeros(1, 6), torch.tensor([[0.0, 0.0, -1.0]]), torch.zeros(1))
    assert (frontal - canon.texture.clamp(-1, 1)).abs().max() < 1e-4
    gen, disc = tiny_stylegan2()
    projector = LatentProjector(gen, disc, S)
    nets = rc.VLDANets(S, style_dim=32, zdim=16, nf=8, enc_nf=8)
    w = gen.mapping(torch.randn(1, 32))[:, 0]
    code = nets.netE(image)
    proj, offset = projector.project(nets.netE, image, code, w)
    # the input projects onto its own latent (relative encoding): G(w) exactly
    assert torch.allclose(offset, torch.zeros_like(offset), atol=1e-5)
    assert torch.allclose(proj, projector.render(w), atol=1e-5)
    proj, offset = projector.project(nets.netE, pseudo, code, w)
    loss, terms = projector.loss(proj, pseudo, mask, offset)
    loss.backward()
    assert torch.isfinite(loss) and set(terms) == {"l1", "dfeat", "offset_reg"}
    assert all(p.grad is None for p in gen.parameters())  # the generator is frozen
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in nets.netE.parameters())


def test_avatar_outputs_and_meshes_reimport(tmp_path: Path) -> None:
    torch.manual_seed(0)
    renderer = DepthMapRenderer(image_size=S)
    image = torch.rand(1, 3, S, S) * 2 - 1
    canon = _canonical(image, renderer)
    written = write_avatar(tmp_path, canon, image, image, renderer, {"final": {"l1": 0.0}}, gif_frames=6)
    assert all(p.is_file() for p in written)
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"final": {"l1": 0.0}}
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries
    expected = depth_map_to_mesh(canon.depth[0], renderer.K, canon.texture[0])
    obj = trimesh.load(tmp_path / "mesh.obj", process=False, maintain_order=True)
    assert len(obj.vertices) == S * S and np.allclose(obj.vertices, expected.vertices, atol=1e-5)
    assert np.allclose(obj.visual.uv, expected.uv, atol=1e-6)
    glb = next(iter(trimesh.load(tmp_path / "mesh.glb", process=False).geometry.values()))
    assert np.allclose(glb.vertices, expected.vertices, atol=1e-5)
    assert np.allclose(glb.visual.uv, expected.uv, atol=1e-6)
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "rotation.gif", index=None)
    assert frames.shape[0] >= 3 and frames.shape[1:3] == (S, S)
    video = iio.imread(tmp_path / "rotation.mp4", index=None)  # H.264 decodes back to the GIF's frames
    assert video.shape == frames.shape[:3] + (3,)
    err = lambda a, b: np.abs(a.astype(float) - b[..., :3].astype(float)).mean()  # noqa: E731
    # lossy (yuv420p, and the GIF's palette) on a noise texture: ~13/255 apart, yet each frame matches its own
    # GIF frame far better than the neighbouring view (~72/255)
    assert err(video, frames) < 0.4 * err(video, np.roll(frames, 1, 0))


def test_flip_terms_vanish_for_a_symmetric_shape() -> None:
    torch.manual_seed(0)
    renderer = DepthMapRenderer(image_size=S)
    image = torch.rand(1, 3, S, S) * 2 - 1
    image = (image + image.flip(-1)) / 2  # a symmetric input and (below) a symmetric shape
    canon = _canonical(image, renderer)
    canon.albedo = image
    canon.texture, canon.shading = shade(canon.albedo, canon.normal, canon.light)
    plain, terms, _, _ = rc.reconstruction_loss(canon, canon.texture, renderer, None, None)
    both, terms_f, _, _ = rc.reconstruction_loss(canon, canon.texture, renderer, None, None, flip=True)
    assert terms_f["l1_flip"].item() < 1e-3 and both.item() == pytest.approx(2 * plain.item(), abs=1e-3)
    canon.albedo = torch.rand(1, 3, S, S) * 2 - 1  # an asymmetric albedo is penalised by the flip term
    canon.texture, canon.shading = shade(canon.albedo, canon.normal, canon.light)
    _, terms_f, _, _ = rc.reconstruction_loss(canon, canon.texture, renderer, None, None, flip=True)
    assert terms_f["l1_flip"].item() > 0.1
