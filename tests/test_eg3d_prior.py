"""The EG3D density prior (``density_prior``, beyond EG3D): its profile, its effect on renders, and its export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.eg3d_helpers import seeded
from toonlift.errors import ConfigError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.shape_prior import EllipsoidPrior
from toonlift.plugins.export import load_model, save_model

# The tiny example architecture sees the origin from 2.7 units through rays 2.25-3.3 (box 1).
PRIOR = {"centre": [0.0, 0.0, 0.0], "radii": [0.25, 0.3, 0.25], "strength": 100.0, "width": 0.25}


def tiny(**over: object) -> EG3DBackbone:
    torch.manual_seed(0)
    return seeded(EG3DBackbone(**{**EG3DBackbone.example_args(Path(".")), **over}), 5).eval()


def test_profile_is_zero_outside_ramps_inside_and_saturates() -> None:
    prior = EllipsoidPrior.from_config(PRIOR)
    x = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.3 * 0.9, 0.0], [0.25, 0.0, 0.0], [0.0, 0.0, 0.4]]])
    sigma = prior(x)[0, :, 0]
    # centre: full strength; 10 % of the radius inside: 0.1 / 0.25 of it; on and beyond the surface: nothing
    torch.testing.assert_close(sigma, torch.tensor([100.0, 40.0, 0.0, 0.0]), atol=1e-4, rtol=0)
    assert EllipsoidPrior.from_config(None) is None
    assert EllipsoidPrior.from_config(prior.as_config()) == prior


@pytest.mark.parametrize(
    "bad",
    [{**PRIOR, "radii": [0.1, 0.0, 0.1]}, {**PRIOR, "strength": -1.0}, {"centre": [0, 0, 0]}, {**PRIOR, "shape": 1}],
)
def test_bad_prior_configs_name_the_fix(bad: dict) -> None:
    with pytest.raises(ConfigError, match="density_prior|density prior"):
        EllipsoidPrior.from_config(bad)


def test_prior_makes_an_opaque_head_that_turns_with_the_camera() -> None:
    g = tiny(density_prior=PRIOR)
    z = torch.randn(1, g.z_dim).expand(3, -1)
    c = g.orbit_cond(torch.tensor([-0.5, 0.0, 0.5]), torch.zeros(3))
    with torch.no_grad():
        out = g.synthesis(g.mapping(z, c), c)
    r = g.neural_resolution
    centre = out.mask[:, 0, r // 2, r // 2]
    assert bool((centre > 0.99).all()), centre
    # the front of the ellipsoid is 0.25 in front of the origin, 2.7 units away (the tiny net's haze in front of it
    # pulls the mean depth a little nearer)
    depth = out.depth[:, 0, r // 2, r // 2]
    assert bool(((depth - (2.7 - 0.25)).abs() < 0.05).all()), depth
    plain = tiny()
    with torch.no_grad():
        bare = plain.synthesis(plain.mapping(z, c), c)
    assert float(bare.mask[:, 0, r // 2, r // 2].max()) < 0.99  # without it, the untrained field is haze
    # corner rays pass outside the ellipsoid, where the prior adds nothing
    torch.testing.assert_close(out.mask[:, 0, 0, 0], bare.mask[:, 0, 0, 0], atol=1e-6, rtol=0)


def test_prior_travels_with_the_export_and_old_architectures_are_unchanged(tmp_path: Path) -> None:
    g = tiny(density_prior=PRIOR)
    assert g.arch_args()["density_prior"] == EllipsoidPrior.from_config(PRIOR).as_config()
    assert "density_prior" not in tiny().arch_args()  # exports made before the option still match
    path = save_model(g, tmp_path / "g.safetensors")
    back = load_model(path)
    z = torch.randn(2, g.z_dim)
    with torch.no_grad():
        a = g.synthesis(g.mapping(z))
        b = back.synthesis(back.mapping(z))
    torch.testing.assert_close(a.image, b.image, atol=0, rtol=0)
    torch.testing.assert_close(a.mask, b.mask, atol=0, rtol=0)
