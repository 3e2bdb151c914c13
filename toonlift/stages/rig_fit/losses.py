"""The coarse stage's loss (seed 002, Eq. 3-6) and the optional supervised coefficient term, with units stated.

* ``L_lan`` (Eq. 4): ``(1/N) sum_n w_n || q_n - Pi(R p_n + t) ||^2``: squared landmark distance in pixels of a
  224-px image (the paper's input size; distances at other sizes are scaled by ``224 / S``), ``w_n = 1`` unless given.
* ``L_photo`` (Eq. 5): ``(1/|A|) sum_{pixels in A} || I_render - I_in ||_2``: the per-pixel RGB distance (colours in
  ``[0, 1]``) averaged over the mask ``A`` (Deep3DFaceRecon's form of the masked photometric term).
* ``L_reg`` (Eq. 6): ``w_id ||a_id||^2 + w_exp ||a_exp||^2 + w_tex ||a_tex||^2`` in prior units: identity
  coefficients as they are (unit spread), expression weights as they are (``[0, 1]``), the appearance code minus its
  prior mean over its prior spread.
* supervised (not in the paper, an option): mean squared error of the latent against the true one, in prior units.
"""

from __future__ import annotations

from torch import Tensor

from toonlift.plugins.head_rig.latent import SLICES

PAPER_INPUT = 224  # the paper's (and Deep3DFaceRecon's) input side in pixels


def landmark_loss(pred: Tensor, target: Tensor, image_size: int, weights: Tensor | None = None) -> Tensor:
    """Eq. 4 on ``[B, 68, 2]`` pixel landmarks at ``image_size``: mean weighted squared distance in 224-px pixels."""
    d2 = (pred - target).pow(2).sum(-1) * (PAPER_INPUT / image_size) ** 2  # [B, 68]
    if weights is not None:
        d2 = d2 * weights
    return d2.mean()


def photometric_loss(render: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """Eq. 5: per-pixel RGB distance between ``render`` and ``image`` ``[B, 3, H, W]`` in ``[-1, 1]`` (compared in
    ``[0, 1]``), averaged over ``mask`` ``[B, 1, H, W]``."""
    dist = ((render - image) / 2).pow(2).sum(1, keepdim=True).add(1e-8).sqrt()  # [B, 1, H, W]
    return (dist * mask).sum() / mask.sum().clamp_min(1.0)


def regulariser(
    latent: Tensor, prior_mean: Tensor, prior_std: Tensor, w_id: float, w_exp: float, w_tex: float
) -> Tensor:
    """Eq. 6 on latents ``[B, 53]``: squared norms per face, averaged over the batch."""
    ident = latent[:, SLICES["identity"]].pow(2).sum(1)
    expr = latent[:, SLICES["expression"]].pow(2).sum(1)
    a = SLICES["albedo"]
    tex = ((latent[:, a] - prior_mean[a]) / prior_std[a]).pow(2).sum(1)
    return (w_id * ident + w_exp * expr + w_tex * tex).mean()


def supervised_loss(latent: Tensor, target: Tensor, prior_std: Tensor, groups: tuple[str, ...]) -> Tensor:
    """Mean squared error of the ``groups`` of ``latent`` against ``target`` ``[B, 53]``, in prior-spread units."""
    terms = []
    for g in groups:
        s = SLICES[g]
        terms.append(((latent[:, s] - target[:, s]) / prior_std[s]).pow(2).mean())
    return sum(terms) / len(terms)
