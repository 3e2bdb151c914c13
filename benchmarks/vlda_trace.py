"""Where VLDA's depth goes wrong: SIDE/MAD and the depth's relief at every phase boundary and inside step 3.

``benchmarks/vlda_synthetic.py --trace N`` adds :class:`DepthTrace` to its trainer: before every phase (so after the
previous one: ``init`` -> the depth fitted to the prior; ``step1`` -> the albedo; ``step2`` -> the projected samples)
and every ``N`` iterations of step 3 (and at its last iteration), the current canonical depth is scored against the
ground truth in its predicted view, and its relief is measured as the standard deviation of the depth seen in the
input view inside the true face mask, beside the truth's and the prior's. The rows are printed as they come and
written to ``trace.json`` next to ``results.json``.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from torch import Tensor

from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.evaluation import depth_metrics


def masked_std(depth: Tensor, mask: Tensor) -> float:
    """Standard deviation of ``depth`` ``[1, H, W]`` over the pixels where ``mask`` ``[1, H, W]`` is set."""
    values = depth[mask > 0.5]
    return float(values.std()) if values.numel() > 1 else 0.0


class DepthTrace(pl.Callback):
    """Scores the canonical depth at phase boundaries and every ``every`` step-3 iterations (see the module doc).

    Args:
        every: step-3 interval of the scores (0: phase boundaries only).
    """

    def __init__(self, every: int = 20) -> None:
        self.every = every
        self.rows: list[dict] = []
        self._last: tuple | None = None

    @torch.no_grad()
    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: object, idx: int) -> None:
        st = module.state
        if st.phase == "done" or module._image_ready != st.image or module.gt_depth is None:
            return
        key = (st.image, st.phase, st.stage)
        last_iter = st.phase == "step3" and st.iteration == module.schedule.length("step3", st.stage) - 1
        periodic = st.phase == "step3" and self.every > 0 and st.iteration > 0 and st.iteration % self.every == 0
        if key != self._last or last_iter or periodic:
            self._last = key
            self.rows.append(self.score(module, f"{st.phase} s{st.stage} it{st.iteration}"))
            r = self.rows[-1]
            print(
                f"[trace] face {r['index']} {r['at']:<16} SIDE {r['side'] * 100:.3f}e-2 MAD {r['mad']:.1f} "
                f"relief {r['relief']:.4f} (truth {r['relief_truth']:.4f}, prior {r['relief_prior']:.4f}) "
                f"view yaw {r['yaw']:.1f} pitch {r['pitch']:.1f} deg",
                flush=True,
            )

    @staticmethod
    def score(module: pl.LightningModule, at: str) -> dict:
        """One row: depth scores, reliefs (truth, prior, current) and the predicted view of the input."""
        canon = rc.predict_canonical(module.nets, module.input_image, module.renderer, module.ranges)
        view = canon.view
        scores = depth_metrics(module.renderer, canon.depth, view, module.gt_depth, module.gt_mask)
        recon = module.renderer.warp_canon_depth(canon.depth, view)
        prior = module.renderer.warp_canon_depth(module.ellipsoid, torch.zeros_like(view))
        mask = module.gt_mask
        return {
            "index": module.index,
            "at": at,
            "side": scores["side"],
            "mad": scores["mad"],
            "relief": masked_std(recon, mask),
            "relief_truth": masked_std(module.gt_depth, mask),
            "relief_prior": masked_std(prior, mask),
            "yaw": math.degrees(float(view[0, 1])),
            "pitch": math.degrees(float(view[0, 0])),
        }
