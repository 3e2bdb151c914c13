"""``RigFitModule``: trains the coarse 3DMM regressor on rendered faces with seed 002's loss (registry ``rig_fit``).

Each step: image -> :class:`~.regressor.CoarseRegressor` -> latent -> ``head_rig`` render (image, mask, 68
landmarks) -> ``w_l L_lan + w_p L_photo + w_r L_reg`` (:mod:`.losses`, paper weights by default) plus, when
``supervised_weight > 0``, the coefficient error against the world's true latent (identity, expression, light as
SH, pose). The data module must return ``image``, ``landmarks``, ``mask``, ``identity``, ``expression``, ``pose``
and ``light`` (``synthetic_faces`` with those ``outputs``) rendered in ``domain``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.shading import lambert_sh_coefficients, reference_light_direction
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.head_rig.backbone import HeadRigBackbone
from toonlift.plugins.head_rig.latent import LATENT_DIM, SLICES
from toonlift.stages.rig_fit.losses import landmark_loss, photometric_loss, regulariser, supervised_loss
from toonlift.stages.rig_fit.regressor import CoarseRegressor
from toonlift.synthetic.dataset import split_domains
from toonlift.synthetic.toon import domain_identity
from toonlift.utils.io import save_safetensors

SUPERVISED_GROUPS = ("identity", "expression", "light", "pose")
NEEDED = ("image", "landmarks", "mask", "identity", "expression", "pose", "light")


def true_latent(batch: dict[str, Tensor], domain: str) -> Tensor:
    """The world's latent ``[B, 53]`` of a batch (appearance, unknown to the batch, left at 0: never supervised).

    ``domain`` is one world domain or a comma-separated mixture, whose batches carry ``domain_index`` ``[B]``.
    """
    names = split_domains(domain)
    if len(names) == 1:
        ident = domain_identity(batch["identity"], domain)
    else:
        which = batch["domain_index"]
        ident = torch.stack([domain_identity(batch["identity"], d) for d in names])  # [D, B, K]
        ident = ident[which, torch.arange(len(which))]
    light = batch["light"]
    out = ident.new_zeros(ident.shape[0], LATENT_DIM)
    out[:, SLICES["identity"]] = ident
    out[:, SLICES["expression"]] = batch["expression"]
    out[:, SLICES["light"]] = lambert_sh_coefficients(
        reference_light_direction(light[:, 2:4]), light[:, 0], light[:, 1]
    )
    out[:, SLICES["pose"].start : SLICES["pose"].start + 3] = batch["pose"]
    return out


def pooled_r2(pred: Tensor, target: Tensor) -> Tensor:
    """R^2 of ``[N, D]`` predictions pooled over the columns: ``1 - sum(residual^2) / sum(deviation^2)`` (a column
    that never varies in a small batch, e.g. an unused blendshape, cannot blow it up)."""
    ss_res = (pred - target).pow(2).sum()
    ss_tot = (target - target.mean(0)).pow(2).sum().clamp_min(1e-12)
    return 1 - ss_res / ss_tot


class RigFitModule(ToonModule):
    """Coarse reconstruction: regress the ``head_rig`` latent from an image (seed 002's CoarseRecon).

    Args:
        domain: the world domain of the training images (``"cartoon"`` and ``"ink"`` supervise toon identities,
            ``"toon+"`` the stronger toon+ ones), or a comma-separated mixture (``"photo,cartoon,toon+"``); the
            regressor's output units pool the priors of these domains.
        image_size: side of the training images and of the rig's render.
        detail: head-model detail of the render (``"low"`` is enough at <= 64 px).
        width: first-stage channels of the regressor.
        lr: AdamW learning rate.
        w_lan: ``w_l``, weight of the landmark term (paper 2e-3; squared 224-px pixels).
        w_photo: ``w_p``, weight of the photometric term (paper 2.0; RGB in ``[0, 1]``).
        w_reg: ``w_r``, weight of the coefficient prior (paper 3e-4).
        w_id: ``w_id`` inside the prior (paper 1.2).
        w_exp: ``w_exp`` inside the prior (paper 1.0).
        w_tex: ``w_tex`` inside the prior (paper 1.2e-3).
        supervised_weight: weight of the supervised coefficient term (0 = the paper's self-supervised loss).
        export_path: where to write the regressor (safetensors + JSON sidecar) when fitting ends.
        trunk: ``"scratch"`` or ``"analyser"`` (start from the shipped synthetic face analyser; see
            :mod:`.regressor`).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"image_size": 32, "width": 8}

    def __init__(
        self,
        domain: str = "photo",
        image_size: int = 64,
        detail: str = "low",
        width: int = 32,
        lr: float = 1e-3,
        w_lan: float = 2e-3,
        w_photo: float = 2.0,
        w_reg: float = 3e-4,
        w_id: float = 1.2,
        w_exp: float = 1.0,
        w_tex: float = 1.2e-3,
        supervised_weight: float = 0.0,
        export_path: str | None = None,
        trunk: str = "scratch",
    ) -> None:
        super().__init__()
        domains = split_domains(domain)
        if min(w_lan, w_photo, w_reg, w_id, w_exp, w_tex, supervised_weight) < 0:
            raise ConfigError("RigFitModule loss weights must be >= 0.")
        self.save_hyperparameters()
        prior = ",".join(domains)
        self.regressor = CoarseRegressor(width, prior_domain=prior, trunk=trunk)
        self.rig = HeadRigBackbone(image_size=image_size, detail=detail, prior_domain=domains[0], background=(0, 0, 0))
        self.rig.requires_grad_(False)  # only synthesis is used (its mapping, hence its prior, plays no part)
        self._val: dict[str, list[Tensor]] = {}
        self._t0 = time.time()

    def forward(self, image: Tensor) -> Tensor:
        """Latents ``[B, 53]`` of images ``[B, 3, S, S]`` in ``[-1, 1]``."""
        return self.regressor(image)

    def losses(self, batch: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor, Any]:
        """The named loss terms, the predicted latent and the rig's render of it."""
        missing = [k for k in NEEDED if k not in batch]
        if missing:
            raise ConfigError(
                f"RigFitModule needs batch entries {', '.join(NEEDED)}; missing {', '.join(missing)}. Use the "
                "synthetic_faces data module with outputs [image, landmarks, mask, identity, expression, pose, light]."
            )
        h = self.hparams
        latent = self.regressor(batch["image"])
        out = self.rig.synthesis(latent)
        mask = out.mask * batch["mask"]
        terms = {
            "lan": landmark_loss(out.landmarks, batch["landmarks"], h.image_size),
            "photo": photometric_loss(out.image, batch["image"], mask),
            "reg": regulariser(latent, self.regressor.prior_mean, self.regressor.prior_std, h.w_id, h.w_exp, h.w_tex),
        }
        if h.supervised_weight > 0:
            target = true_latent(batch, h.domain)
            terms["sup"] = supervised_loss(latent, target, self.regressor.prior_std, SUPERVISED_GROUPS)
        return terms, latent, out

    def total(self, terms: dict[str, Tensor]) -> Tensor:
        """``w_l L_lan + w_p L_photo + w_r L_reg (+ w_s L_sup)``."""
        h = self.hparams
        total = h.w_lan * terms["lan"] + h.w_photo * terms["photo"] + h.w_reg * terms["reg"]
        return total + h.supervised_weight * terms["sup"] if "sup" in terms else total

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        terms, _, _ = self.losses(batch)
        loss = self.total(terms)
        self.log_dict({f"train/{k}": v for k, v in terms.items()})
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        terms, latent, out = self.losses(batch)
        self.log("val/loss", self.total(terms))
        err = (out.landmarks - batch["landmarks"]).norm(dim=-1).mean(1) * (256 / self.hparams.image_size)
        self._val.setdefault("lm_px256", []).append(err.detach())
        self._val.setdefault("pred", []).append(latent.detach())
        self._val.setdefault("true", []).append(true_latent(batch, self.hparams.domain))

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        self.log("val/landmark_px256", torch.cat(self._val["lm_px256"]).mean(), prog_bar=True)
        pred, true = torch.cat(self._val["pred"]), torch.cat(self._val["true"])
        for g in ("identity", "expression"):
            self.log(f"val/r2_{g}", pooled_r2(pred[:, SLICES[g]], true[:, SLICES[g]]))
        p = SLICES["pose"]
        self.log("val/r2_pose", pooled_r2(pred[:, p.start : p.start + 3], true[:, p.start : p.start + 3]))
        self._val.clear()

    def configure_optimizers(self):  # noqa: ANN201 - Lightning's union of return types
        return torch.optim.AdamW(self.regressor.parameters(), lr=self.hparams.lr, weight_decay=1e-4)

    def on_fit_end(self) -> None:
        if self.hparams.export_path and self.trainer.is_global_zero:
            meta = {
                "arch": {
                    "width": self.hparams.width,
                    "prior_domain": ",".join(split_domains(self.hparams.domain)),
                    "trunk": self.hparams.trunk,
                },
                "trained_steps": int(self.global_step),
                "wall_time_s": round(time.time() - self._t0, 1),
                "hparams": {k: v for k, v in self.hparams.items() if k != "export_path"},
            }
            save_safetensors(self.hparams.export_path, self.regressor.state_dict(), meta)
