"""Capabilities instead of probes: each stage checks what it needs from a backbone at construction, and a backbone
that lacks a capability is refused with one message naming the capability, the stage and who has it."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import Backbone, BackboneOutput
from toonlift.plugins.backbones.capabilities import (
    CAPABILITIES,
    BlockFeatures,
    CameraConditioned,
    Exportable,
    FeatureTaps,
    FreezableBlocks,
    MappingSplit,
    NoiseInputs,
    StyleModulation,
    has,
    require,
)
from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, StyleGAN2Discriminator


class PlainBackbone(Backbone):
    """The smallest honest backbone: a linear map from z to a flat grey image; it offers no capability."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(8, 3)

    resolution = property(lambda self: 16)
    z_dim = property(lambda self: 8)
    w_dim = property(lambda self: 8)
    num_ws = property(lambda self: 1)

    def mapping(self, z: Tensor, cond=None, truncation=1.0, truncation_latent=None) -> Tensor:  # noqa: ANN001
        return z.unsqueeze(1)

    def synthesis(self, ws: Tensor, cond=None, noise_mode="const", return_features=()) -> BackboneOutput:  # noqa: ANN001
        colour = torch.tanh(self.linear(self.broadcast_ws(ws)[:, 0]))  # [B, 3]
        return BackboneOutput(image=colour[:, :, None, None].expand(-1, -1, 16, 16), ws=ws)


def test_stylegan2_offers_its_capabilities() -> None:
    g, d = StyleGAN2Backbone, StyleGAN2Discriminator
    for cap in (NoiseInputs, FeatureTaps, MappingSplit, StyleModulation, Exportable):
        assert has(g, cap) and has(g(**g.example_args(None)), cap), cap.__name__
    assert not has(g, CameraConditioned)
    for cap in (BlockFeatures, FreezableBlocks, Exportable):
        assert has(d, cap), cap.__name__
    assert not any(has(PlainBackbone, c) for c in CAPABILITIES.values())


def test_require_names_capability_stage_and_who_has_it() -> None:
    with pytest.raises(ConfigError) as err:
        require(PlainBackbone(), MappingSplit, stage="Stage 3 (VLDA)")
    message = str(err.value)
    assert "Stage 3 (VLDA)" in message and "MappingSplit" in message and "split_mapping" in message
    assert "PlainBackbone" in message and "stylegan2" in message
    assert "\n" not in message  # one paragraph
    require(StyleGAN2Backbone(**StyleGAN2Backbone.example_args(None)), MappingSplit, stage="Stage 3")


def test_stages_refuse_a_backbone_without_what_they_need() -> None:
    from toonlift.stages.finetune.module import FinetuneModule
    from toonlift.stages.offsets.module import OffsetModule
    from toonlift.stages.vlda.module import VLDAModule
    from toonlift.stages.vlda.settings import VLDAImages

    d = StyleGAN2Discriminator(**StyleGAN2Discriminator.example_args(None))
    with pytest.raises(ConfigError, match="Exportable"):
        FinetuneModule(PlainBackbone(), d)
    with pytest.raises(ConfigError, match="StyleModulation"):
        OffsetModule(PlainBackbone(), SyntheticAnalyserIdentityEncoder())
    with pytest.raises(ConfigError, match="MappingSplit"):
        VLDAModule(PlainBackbone(), d, images=VLDAImages(seeds=(0,)), image_size=16)
    g = StyleGAN2Backbone(**StyleGAN2Backbone.example_args(None))
    with pytest.raises(ConfigError, match="freeze_d"):
        FinetuneModule(g, d, freeze_d=99)


def test_plain_backbone_trains_stage1_from_scratch_without_feature_taps() -> None:
    """FeatureTaps is needed only by the structure loss: with it off, a backbone without taps is accepted."""
    from toonlift.plugins.losses.structure import StructureLoss
    from toonlift.stages.finetune.module import FinetuneModule

    class ExportablePlain(PlainBackbone):
        def arch_args(self) -> dict:
            return {}

    d = StyleGAN2Discriminator(size=16, channel_max=16)
    module = FinetuneModule(ExportablePlain(), d, structure=StructureLoss(weight=0.0), keep_base=False)
    assert module.structure_names == [] and module.blend_feature is None and not module.shared_noise
