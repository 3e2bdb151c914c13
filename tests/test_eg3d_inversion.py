"""Inverting an EG3D render with its known camera recovers the image (a random generator's depth and raw render are
not checked: untrained, it need not tie them to the image)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.eg3d_helpers import seeded
from toonlift.errors import ConfigError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.inversion import invert


@pytest.mark.parametrize("w_plus", [False, True])
def test_inversion_recovers_a_render(w_plus: bool) -> None:
    torch.manual_seed(0)
    g = seeded(EG3DBackbone(**EG3DBackbone.example_args(Path("."))), 5)
    gen = torch.Generator().manual_seed(1)
    c = g.orbit_cond(torch.tensor([0.3]), torch.tensor([0.1]))
    with torch.no_grad():
        truth = g.synthesis(g.mapping(g.sample_z(1, generator=gen), g.default_cond(1)), c)
    start = None

    def first(step: int, stats: dict[str, float]) -> None:
        nonlocal start
        start = stats["mse"] if step == 0 else start

    res = invert(
        g,
        truth.image,
        c,
        steps=60,
        lr=0.05,
        raw_mse=1.0,
        w_plus=w_plus,
        n_mean_latent=256,
        generator=gen,
        callback=first,
    )
    final = float((res.image - truth.image).square().mean())
    assert final < 0.2 * start, (start, final)
    torch.testing.assert_close(g.synthesis(res.ws, c).image, res.image)  # deterministic: re-renders exactly
    assert res.ws.shape == (1, g.num_ws, g.w_dim) and (res.ws[:, 0] == res.ws[:, -1]).all() != w_plus
    with pytest.raises(ConfigError, match="target must be images"):
        invert(g, torch.zeros(1, 3, 8, 8), c, steps=1)
