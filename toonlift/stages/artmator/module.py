"""``ArtmatorModule`` (registry name ``artmator``): 3DArtmator (seed 004) as a LightningModule.

``python cli.py fit --config configs/artmator.yaml`` runs both stages on the exemplar once, then makes one avatar
per input photo (inverted into the original generator, rendered by the stylised copy; see
:mod:`toonlift.stages.stylise.module_base`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.stages.artmator.pipeline import Artmator, ArtmatorSettings
from toonlift.stages.stylise.inputs import View
from toonlift.stages.stylise.module_base import OneShotModule

TINY_SETTINGS = {"anchor_steps": 1, "style_steps": 2, "invert_steps": 1}


class ArtmatorModule(OneShotModule):
    """3DArtmator over an EG3D generator (arguments: :class:`~toonlift.stages.stylise.module_base.OneShotModule`;
    ``settings`` are :class:`~toonlift.stages.artmator.pipeline.ArtmatorSettings` fields)."""

    settings_class = ArtmatorSettings

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        return {
            "generator_3d": EG3DBackbone(**EG3DBackbone.example_args(workdir)),
            "settings": dict(TINY_SETTINGS),
            "out_dir": str(workdir / "artmator"),
            "rotation_frames": 2,
            "mesh_resolution": 8,
            "edit_samples": 20,
        }

    def __init__(
        self,
        generator_3d: EG3DBackbone,
        exemplar: str | None = None,
        exemplar_world: str | None = "0,ink,30",
        exemplar_yaw: float = 0.0,
        settings: dict[str, Any] | None = None,
        out_dir: str = "outputs/artmator",
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
        self.perceptual = AnalyserPerceptualLoss()

    def build_method(self, exemplar: View) -> Artmator:
        method = Artmator(self.generator_3d, self.perceptual.distance, self.settings)
        search = self.hparams.exemplar is not None and self.settings.search_camera
        method.prepare(exemplar.image.to(self.device), None if search else exemplar.cond.to(self.device))
        return method
