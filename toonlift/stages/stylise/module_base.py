"""The LightningModule side shared by ``your3demoji`` and ``artmator``: prepare once, one avatar per input.

``on_fit_start`` builds the method and prepares it on the exemplar (a file or a world render); each training batch
holds input photos (``image [B, 3, H, W]`` with ``cond [B, 25]``, or the synthetic world's ``pose [B, 3]``, converted
exactly) and every photo becomes an avatar written to ``out_dir/avatar_<index>`` (``stylise/outputs.py``). Every
optimisation runs inside the method with its own Adam, so ``configure_optimizers`` returns nothing (as Stage 2).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError, DataError
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.world_camera import synthetic_cond
from toonlift.stages.stylise.edits import fit_edit_normals
from toonlift.stages.stylise.inputs import View, image_view, world_view
from toonlift.stages.stylise.outputs import write_avatar


class OneShotModule(ToonModule):
    """Abstract base of the one-shot stylisation modules (not registered itself): a subclass sets ``settings_class``
    and implements :meth:`build_method`; the class cannot be built without it (``ToonModule`` is an ``abc.ABC``).

    Args:
        generator_3d: the ``eg3d`` generator.
        exemplar: exemplar image file, or ``None`` for ``exemplar_world``.
        exemplar_world: ``FACE,DOMAIN,YAW`` world render (used when ``exemplar`` is ``None``).
        exemplar_yaw: orbit yaw of an exemplar file (degrees).
        settings: the method's settings as a plain mapping (fields of its settings dataclass).
        out_dir: where the avatars go.
        rotation_frames: frames of each rotation GIF (0: none).
        mesh_resolution: marching-cubes grid of each mesh (0: none).
        edit_samples: latents for the expression directions (0: no edits).
    """

    settings_class: type = object

    def __init__(
        self,
        generator_3d: EG3DBackbone,
        exemplar: str | None = None,
        exemplar_world: str | None = "0,ink,30",
        exemplar_yaw: float = 0.0,
        settings: dict[str, Any] | None = None,
        out_dir: str = "outputs/stylise",
        rotation_frames: int = 24,
        mesh_resolution: int = 64,
        edit_samples: int = 200,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters(ignore=["generator_3d", "generator_2d", "discriminator_2d"])
        if not isinstance(generator_3d, EG3DBackbone):
            raise ConfigError(f"{type(self).__name__} needs the 'eg3d' generator, got {type(generator_3d).__name__}.")
        if exemplar is None and exemplar_world is None:
            raise ConfigError(
                f"{type(self).__name__}: give exemplar (an image file) or exemplar_world (FACE,DOMAIN,YAW)."
            )
        try:
            self.settings = self.settings_class(**(settings or {}))
        except TypeError as err:
            raise ConfigError(
                f"{type(self).__name__}: unknown setting ({err}); see {self.settings_class.__name__}."
            ) from err
        self.generator_3d = generator_3d
        self.method: Any = None
        self.normals: dict[str, Tensor] = {}

    def exemplar_view(self) -> View:
        """The exemplar with its camera."""
        h, g = self.hparams, self.generator_3d
        return image_view(h.exemplar, g, h.exemplar_yaw) if h.exemplar else world_view(h.exemplar_world, g.resolution)

    @abstractmethod
    def build_method(self, exemplar: View) -> Any:
        """Build the method and prepare it on the exemplar; it must offer ``avatar(image, cond)`` and ``seconds``."""

    def configure_optimizers(self) -> None:
        return None  # each avatar runs its own optimisers inside the method

    def on_fit_start(self) -> None:
        self.generator_3d.eval()
        self.method = self.build_method(self.exemplar_view())
        if self.hparams.edit_samples > 0:
            self.normals, _ = fit_edit_normals(self.generator_3d, num=self.hparams.edit_samples)

    def _conds(self, batch: dict[str, Tensor]) -> Tensor:
        if "cond" in batch:
            return batch["cond"]
        if "pose" in batch:
            return synthetic_cond(batch["pose"], batch["image"].shape[-1]).to(batch["image"])
        raise DataError(
            f"{type(self).__name__} needs each input's camera: batches with 'cond' [B, 25] or the world's 'pose' "
            f"[B, 3]; got keys {sorted(batch)}. With synthetic_faces add outputs: [image, pose]."
        )

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        images, conds = batch["image"], self._conds(batch)
        index = batch.get("index", torch.arange(images.shape[0]) + batch_idx * images.shape[0])
        for i in range(images.shape[0]):
            avatar = self.method.avatar(images[i : i + 1], conds[i : i + 1])
            avatar.seconds = {**self.method.seconds, **avatar.seconds}
            out = Path(self.hparams.out_dir) / f"avatar_{int(index[i]):05d}"
            out.mkdir(parents=True, exist_ok=True)
            with torch.no_grad():
                write_avatar(
                    avatar, out, self.hparams.rotation_frames, self.hparams.mesh_resolution, 10.0, self.normals
                )
            self.log("seconds_per_avatar", sum(avatar.seconds.values()), batch_size=1)
