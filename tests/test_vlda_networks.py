"""Shapes and sizes of the Stage-3 networks (GAN2Shape sizing)."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.stages.vlda.networks import EDDeconv, Encoder, ResEncoder, count_parameters, default_width


@pytest.mark.parametrize("size", [64, 128])
def test_shapes(size: int) -> None:
    x = torch.randn(2, 3, size, size)
    assert EDDeconv(3, 1, size).eval()(x).shape == (2, 1, size, size)
    albedo = EDDeconv(3, 3, size, activation="tanh").eval()(x)
    assert albedo.shape == (2, 3, size, size) and albedo.abs().max() <= 1
    assert Encoder(3, 6, size)(x).shape == (2, 6)
    assert Encoder(3, 4, size)(x).shape == (2, 4)
    assert ResEncoder(3, 512, size)(x).shape == (2, 512)


def test_parameter_counts_match_reference_at_128() -> None:
    # GAN2Shape at 128 px: D 12.95 M, V 6.98 M, Enc 13.79 M (pipeline-facts §2.2); Unsup3d's D at 64 px 12.98 M
    assert default_width(128) == 32 and default_width(64) == 64
    assert count_parameters(EDDeconv(3, 1, 128)) / 1e6 == pytest.approx(12.95, abs=0.01)
    assert count_parameters(Encoder(3, 6, 128)) / 1e6 == pytest.approx(6.98, abs=0.01)
    assert count_parameters(ResEncoder(3, 512, 128)) / 1e6 == pytest.approx(13.79, abs=0.01)
    assert count_parameters(EDDeconv(3, 1, 64)) / 1e6 == pytest.approx(12.98, abs=0.01)


def test_small_sizes_and_fresh_encoder_is_canonical() -> None:
    x = torch.randn(3, 3, 32, 32)
    assert EDDeconv(3, 1, 32, zdim=16, nf=8, group_base=4)(x).shape == (3, 1, 32, 32)
    # zero-initialised last layer: a fresh view/light encoder predicts the canonical view and light
    assert torch.equal(Encoder(3, 6, 32, nf=8)(x), torch.zeros(3, 6))
    assert ResEncoder(3, 16, 32, nf=8)(x).shape == (3, 16)


def test_bad_size_raises() -> None:
    with pytest.raises(ConfigError, match="power-of-two"):
        EDDeconv(3, 1, 96)
