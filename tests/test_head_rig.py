"""The ``head_rig`` backbone: latent layout, geometry equal to the synthetic world's, UVs and the asset export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.head_rig.backbone import HeadRigBackbone
from toonlift.plugins.head_rig.export import export_rig_assets, load_rig_assets
from toonlift.plugins.head_rig.latent import LATENT_DIM, LATENT_NAMES, SLICES, join_latent, split_latent
from toonlift.plugins.head_rig.prior import latent_from_params, prior_moments, sample_latent
from toonlift.plugins.head_rig.uv import seam_faces, template_uv
from toonlift.synthetic.head_model import build_head_model
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params


def test_latent_layout_is_53_named_values() -> None:
    assert LATENT_DIM == 53 == len(LATENT_NAMES)
    assert [SLICES[k].stop - SLICES[k].start for k in ("identity", "expression", "albedo", "light", "pose")] == [
        17,
        12,
        9,
        9,
        6,
    ]
    lat = torch.randn(3, 53)
    torch.testing.assert_close(join_latent(split_latent(lat)), lat)
    with pytest.raises(ConfigError, match="53"):
        split_latent(torch.zeros(2, 50))


def test_prior_matches_the_world() -> None:
    p = sample_params(5, range(3))
    lat = split_latent(latent_from_params(p, "photo"))
    torch.testing.assert_close(lat.identity, p.identity)
    torch.testing.assert_close(lat.pose[:, :3], p.pose)
    assert (lat.pose[:, 3:] == 0).all()
    toon = split_latent(sample_latent(5, range(3), "cartoon"))
    assert not torch.allclose(toon.identity, p.identity)  # the toon transform
    mean, std = prior_moments("photo")
    assert mean.shape == std.shape == (53,) and (std > 0).all()


@pytest.mark.parametrize("domain", ["photo", "cartoon", "toon+"])
def test_geometry_agrees_with_the_world_renderer(domain: str) -> None:
    params = sample_params(11, range(3))
    rig = HeadRigBackbone(image_size=48, detail="high")
    out = rig.synthesis(latent_from_params(params, domain))
    world = FaceRenderer(model=build_head_model("high"))(params, domain, 48)
    both = (out.mask > 0) & (world["mask"] > 0)
    # coverage of a pixel centre lying on a silhouette edge may round differently in the two rasterisers
    assert ((out.mask > 0) != (world["mask"] > 0)).sum() <= 2
    assert (out.depth - world["depth"]).abs()[both].max() < 1e-4
    assert (out.landmarks - world["landmarks"]).abs().max() < 1e-4


def test_mapping_gives_the_prior_and_truncation_shrinks() -> None:
    rig = HeadRigBackbone(image_size=16, detail="low")
    z = rig.sample_z(4096, generator=torch.Generator().manual_seed(0))
    w = rig.mapping(z)[:, 0].detach()
    mean, std = prior_moments("photo")
    assert (w.mean(0) - mean).abs().max() < 0.1 * std.max()
    half = rig.mapping(z[:8], truncation=0.5)[:, 0]
    torch.testing.assert_close(half, mean + 0.5 * (w[:8] - mean), atol=1e-5, rtol=1e-5)
    out = rig.synthesis(rig.mapping(z[:2]))
    assert out.landmarks.shape == (2, 68, 2) and out.vertices.shape[0] == 2
    assert out.uv.shape == (rig.mean.shape[0], 2)


def test_uv_unwrap_puts_the_face_in_the_middle() -> None:
    m = build_head_model("low")
    uv = template_uv(m.mean)
    assert uv.min() >= 0 and uv.max() <= 1
    lm = uv[m.landmarks]
    assert (lm[:, 0] - 0.5).abs().max() < 0.25  # every landmark is on the front half of the texture
    seam = seam_faces(uv, m.faces)
    assert 0 < seam.sum() < 0.05 * len(seam)
    front = m.mean[m.faces[seam]].mean(1)[:, 2]
    assert (front < 0.1).all()  # the seam is at the back


def test_assets_round_trip(tmp_path: Path) -> None:
    path = export_rig_assets(tmp_path / "rig", detail="low")
    model, uv, meta = load_rig_assets(path)
    ref = build_head_model("low")
    for name in ("mean", "identity_basis", "expression_basis", "faces", "landmarks", "vertex_parts"):
        torch.testing.assert_close(getattr(model, name), getattr(ref, name), rtol=0, atol=0)
    torch.testing.assert_close(uv, template_uv(ref.mean))
    assert meta["counts"]["landmarks"] == 68 and meta["latent_layout"]["pose"] == [47, 53]
    sidecar = path.with_suffix(".json")
    sidecar.write_text(sidecar.read_text().replace('"version": 1', '"version": 99'))
    with pytest.raises(CheckpointError, match="export_rig_assets"):
        load_rig_assets(path)
