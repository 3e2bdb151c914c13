"""Numeric settings are refused at construction with one ConfigError naming the owner, setting and value."""

from __future__ import annotations

import math

import pytest

from toonlift.errors import ConfigError
from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, StyleGAN2Discriminator
from toonlift.stages.finetune.module import FinetuneModule
from toonlift.stages.offsets.module import OffsetModule
from toonlift.stages.vlda.settings import AvatarOutput, FacePrior, VLDANetworks, VLDATraining
from toonlift.utils import checks


def test_checks_refuse_nan_bools_and_out_of_range() -> None:
    checks.positive("X", "lr", 1e-3)
    checks.unit_interval("X", "p", 1.0)
    for bad in (0.0, -1.0, math.nan, math.inf, True, "0.1"):
        with pytest.raises(ConfigError, match="X: lr"):
            checks.positive("X", "lr", bad)
    with pytest.raises(ConfigError, match=r"in \[0, 1\)"):
        checks.unit_interval("X", "decay", 1.0, closed_right=False)
    with pytest.raises(ConfigError, match="integer >= 1"):
        checks.at_least("X", "steps", 0, 1)


def _g_d() -> tuple[StyleGAN2Backbone, StyleGAN2Discriminator]:
    return StyleGAN2Backbone(size=16, style_dim=16, n_mlp=2, channel_max=16), StyleGAN2Discriminator(16, channel_max=16)


@pytest.mark.parametrize(
    ("setting", "value", "match"),
    [
        ("lr", -0.1, "lr must be > 0"),
        ("lr", math.nan, "lr must be a finite number"),
        ("ema_decay", 1.5, r"ema_decay must be in \[0, 1\)"),
        ("betas", (0.0, 1.0), r"betas\[1\] must be in \[0, 1\)"),
        ("style_mixing", 2.0, "style_mixing"),
        ("num_grid_samples", -1, "num_grid_samples"),
    ],
)
def test_finetune_settings_are_validated(setting: str, value: object, match: str) -> None:
    g, d = _g_d()
    with pytest.raises(ConfigError, match=match):
        FinetuneModule(g, d, **{setting: value})


def test_offset_and_vlda_settings_are_validated() -> None:
    g, _ = _g_d()
    with pytest.raises(ConfigError, match="lr must be"):
        OffsetModule(g, SyntheticAnalyserIdentityEncoder(), lr=math.nan)
    with pytest.raises(ConfigError, match="truncation"):
        OffsetModule(g, SyntheticAnalyserIdentityEncoder(), truncation=1.5)
    with pytest.raises(ConfigError, match="rampdown"):
        OffsetModule(g, SyntheticAnalyserIdentityEncoder(), rampdown=0.0)
    with pytest.raises(ConfigError, match="batch_size"):
        VLDATraining(batch_size=0)
    with pytest.raises(ConfigError, match="lr must be a finite"):
        VLDATraining(lr=math.inf)
    with pytest.raises(ConfigError, match="net_width"):
        VLDANetworks(net_width=0)
    with pytest.raises(ConfigError, match="gif_frames"):
        AvatarOutput(gif_frames=1)
    with pytest.raises(ConfigError, match="category"):
        FacePrior(category="oval")
