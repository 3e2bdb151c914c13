"""Draw images from any backbone, one PNG per seed (``toonlift predict``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.functional.seeds import latents_from_seeds
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import CameraConditioned, has
from toonlift.utils.images import save_image


class SampleModule(ToonModule):
    """Render one image per seed with a backbone and write ``{out_dir}/seed{NNNN}.png``.

    Args:
        backbone: the generator (e.g. ``class_path: stylegan2``).
        out_dir: folder for the images.
        truncation: truncation psi (1 = none) toward the mean of ``truncation_samples`` mapped codes.
        truncation_samples: codes averaged for the mean latent.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from toonlift.plugins.stylegan2 import StyleGAN2Backbone

        args = StyleGAN2Backbone.example_args(workdir)
        return {"backbone": StyleGAN2Backbone(**args), "out_dir": str(workdir / "samples")}

    def __init__(
        self,
        backbone: Backbone,
        out_dir: str = "outputs/samples",
        truncation: float = 1.0,
        truncation_samples: int = 4096,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.out_dir = Path(out_dir)
        self.truncation = truncation
        self.truncation_samples = truncation_samples
        self._mean_latent: Tensor | None = None
        self.camera = has(backbone, CameraConditioned) and backbone.cond_dim > 0

    @torch.no_grad()
    def _truncation_latent(self) -> Tensor | None:
        if self.truncation >= 1.0:
            return None
        if self._mean_latent is None:
            cond = self.backbone.default_cond(1, device=self.device) if self.camera else None
            gen = torch.Generator().manual_seed(0)
            self._mean_latent = self.backbone.mean_latent(self.truncation_samples, generator=gen, cond=cond)
        return self._mean_latent

    @torch.no_grad()
    def predict_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        z = latents_from_seeds(batch, self.backbone.z_dim, self.device)
        # a camera-conditioned backbone draws every seed from its canonical (frontal) camera
        cond = self.backbone.default_cond(len(z), device=self.device) if self.camera else None
        out = self.backbone(z, cond, truncation=self.truncation, truncation_latent=self._truncation_latent())
        # under DDP each rank gets a distinct shard of seeds, so every rank writes its own files
        for seed, img in zip(batch.tolist(), out.image):
            save_image(img, self.out_dir / f"seed{seed:04d}.png")
        return out.image
