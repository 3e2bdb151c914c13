"""``AnalyserModule``: trains the synthetic face analyser on rendered faces with known factors."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.lightning_modules.base import ToonModule
from toonlift.synthetic import layout as L
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.utils import checks

TARGETS = ("identity", "expression", "pose", "light")


def r2_score(pred: Tensor, target: Tensor) -> Tensor:
    """Coefficient of determination per column ``[D]`` of ``[N, D]`` predictions (1 = perfect, 0 = the mean)."""
    ss_res = (pred - target).pow(2).sum(0)
    ss_tot = (target - target.mean(0)).pow(2).sum(0).clamp_min(1e-12)
    return 1 - ss_res / ss_tot


def face_mask_target(parts: Tensor, size: int) -> Tensor:
    """Soft face-region mask ``[B, 1, size, size]`` from label maps ``[B, H, W]`` (area-averaged)."""
    face = torch.isin(parts, parts.new_tensor(L.FACE_PARTS)).float().unsqueeze(1)
    return F.adaptive_avg_pool2d(face, size)


class AnalyserModule(ToonModule):
    """Regress identity, expression, pose, light and the face mask (registry name ``analyser``).

    The data module must return ``image``, ``identity``, ``expression``, ``pose``, ``light`` and ``parts``
    (``synthetic_faces`` with those ``outputs``).

    Args:
        width: first-stage channels of :class:`~toonlift.synthetic.analyser.FaceAnalyser`.
        lr: peak AdamW learning rate (one-cycle schedule over ``trainer.max_steps``).
        weight_decay: AdamW weight decay.
        mask_weight: weight of the face-mask BCE next to the regression MSEs.
        expression_weight: weight of the expression MSE (weights live in ``[0, 1]``, so it needs a larger weight).
        export_path: where to write the trained analyser (safetensors + JSON sidecar) when fitting ends.
        init_weights: analyser safetensors file to start from (fine-tuning); its width overrides ``width``.
    """

    def __init__(
        self,
        width: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        mask_weight: float = 0.5,
        expression_weight: float = 4.0,
        export_path: str | None = None,
        init_weights: str | None = None,
    ) -> None:
        super().__init__()
        owner = "AnalyserModule"
        checks.at_least(owner, "width", width, 1)
        checks.positive(owner, "lr", lr)
        for name, value in (("weight_decay", weight_decay), ("mask_weight", mask_weight)):
            checks.non_negative(owner, name, value)
        checks.non_negative(owner, "expression_weight", expression_weight)
        self.save_hyperparameters()
        self.analyser = FaceAnalyser.load(init_weights).train() if init_weights else FaceAnalyser(width)
        self._history = self._read_history(init_weights)
        self.export_path = export_path
        self._val: dict[str, list[Tensor]] = {}
        self._t0 = time.time()

    def _losses(self, batch: dict[str, Tensor]) -> tuple[dict[str, Tensor], object]:
        out = self.analyser(batch["image"])
        net = self.analyser
        losses = {
            "identity": F.mse_loss(out.identity, batch["identity"]),
            "expression": F.mse_loss(out.expression, batch["expression"]) * self.hparams.expression_weight,
            "pose": F.mse_loss(out.pose / net.pose_scale, batch["pose"] / net.pose_scale),
            "light": F.mse_loss(
                (out.light - net.light_offset) / net.light_scale, (batch["light"] - net.light_offset) / net.light_scale
            ),
            "mask": F.binary_cross_entropy_with_logits(
                out.mask_logits, face_mask_target(batch["parts"], out.mask_logits.shape[-1])
            ),
        }
        return losses, out

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        losses, _ = self._losses(batch)
        total = sum(v for k, v in losses.items() if k != "mask") + self.hparams.mask_weight * losses["mask"]
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=False)
        self.log("train/loss", total, prog_bar=True)
        return total

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        _, out = self._losses(batch)
        for k in TARGETS:
            self._val.setdefault(f"{k}_pred", []).append(getattr(out, k).detach())
            self._val.setdefault(f"{k}_true", []).append(batch[k])

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        for k in TARGETS:
            pred, true = torch.cat(self._val[f"{k}_pred"]), torch.cat(self._val[f"{k}_true"])
            self.log(f"val/r2_{k}", r2_score(pred, true).mean(), prog_bar=k in ("identity", "pose"))
            self.log(f"val/mae_{k}", (pred - true).abs().mean())
        self._val.clear()

    def configure_optimizers(self):  # noqa: ANN201 - Lightning's union of return types
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = self.trainer.max_steps if self.trainer and self.trainer.max_steps > 0 else 1000
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.hparams.lr, total_steps=total, pct_start=0.15)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    @staticmethod
    def _read_history(init_weights: str | None) -> list[dict]:
        """Training record of the starting weights (their sidecar), so an exported file lists every run."""
        if not init_weights:
            return []
        from toonlift.utils.io import load_safetensors

        _, meta = load_safetensors(init_weights, what="analyser weights to fine-tune")
        return list(meta.get("history", [])) or [{k: meta[k] for k in ("trained_steps", "wall_time_s") if k in meta}]

    def on_fit_end(self) -> None:
        if self.export_path and self.trainer.is_global_zero:
            run = {"trained_steps": int(self.global_step), "wall_time_s": round(time.time() - self._t0, 1)}
            history = [
                *self._history,
                {**run, "lr": self.hparams.lr, "expression_weight": self.hparams.expression_weight},
            ]
            meta = {
                "trained_steps": sum(int(h.get("trained_steps", 0)) for h in history),
                "wall_time_s": round(sum(float(h.get("wall_time_s", 0)) for h in history), 1),
                "history": history,
                "training_data": "synthetic_faces photo 64 px, seed 0 (rendered on the fly)",
            }
            self.analyser.save(self.export_path, meta)
