"""``Your3dEmojiModule`` (registry name ``your3demoji``): Your3dEmoji (seed 001) as a LightningModule.

``python cli.py fit --config configs/your3demoji.yaml`` fine-tunes the 2D branch on the exemplar once, then makes
one avatar per input photo of the data module (see :mod:`toonlift.stages.stylise.module_base`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toonlift.plugins.backbones.capabilities import BlockFeatures, require
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.stylise.inputs import View
from toonlift.stages.stylise.module_base import OneShotModule
from toonlift.stages.your3demoji.pipeline import Your3dEmoji, Your3dEmojiSettings

TINY_SETTINGS = {"project_steps": 1, "finetune_steps": 1, "invert_steps": 1, "pti_steps": 1, "dual_steps": 2}


class Your3dEmojiModule(OneShotModule):
    """Your3dEmoji over a photo StyleGAN2 and an EG3D generator.

    Args:
        generator_2d: the photo StyleGAN2 generator (the 2D branch starts from it).
        discriminator_2d: its discriminator (JoJoGAN's feature loss).
        generator_3d, exemplar, exemplar_world, exemplar_yaw, settings, out_dir, rotation_frames,
            mesh_resolution, edit_samples: see :class:`~toonlift.stages.stylise.module_base.OneShotModule`;
            ``settings`` are :class:`~toonlift.stages.your3demoji.pipeline.Your3dEmojiSettings` fields.
    """

    settings_class = Your3dEmojiSettings

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        return {
            "generator_2d": StyleGAN2Backbone(**StyleGAN2Backbone.example_args(workdir)),
            "discriminator_2d": StyleGAN2Discriminator(**StyleGAN2Discriminator.example_args(workdir)),
            "generator_3d": EG3DBackbone(**EG3DBackbone.example_args(workdir)),
            "settings": dict(TINY_SETTINGS),
            "out_dir": str(workdir / "your3demoji"),
            "rotation_frames": 2,
            "mesh_resolution": 8,
            "edit_samples": 20,
        }

    def __init__(
        self,
        generator_2d: StyleGAN2Backbone,
        discriminator_2d: StyleGAN2Discriminator,
        generator_3d: EG3DBackbone,
        exemplar: str | None = None,
        exemplar_world: str | None = "0,ink,30",
        exemplar_yaw: float = 0.0,
        settings: dict[str, Any] | None = None,
        out_dir: str = "outputs/your3demoji",
        rotation_frames: int = 24,
        mesh_resolution: int = 64,
        edit_samples: int = 200,
    ) -> None:
        super().__init__(
            generator_3d,
            exemplar,
            exemplar_world,
            exemplar_yaw,
            settings,
            out_dir,
            rotation_frames,
            mesh_resolution,
            edit_samples,
        )
        require(discriminator_2d, BlockFeatures, stage="Your3dEmoji's 2D branch", role="discriminator")
        self.generator_2d, self.discriminator_2d = generator_2d, discriminator_2d
        self.perceptual = AnalyserPerceptualLoss()

    def build_method(self, exemplar: View) -> Your3dEmoji:
        method = Your3dEmoji(
            self.generator_2d, self.discriminator_2d, self.generator_3d, self.perceptual.distance, self.settings
        )
        method.prepare(exemplar.image.to(self.device))
        return method
