"""Pairs ``(w, f)`` for StyleFaceUV: style codes of a StyleGAN2 with the head rig's coefficients.

Two sources:

* **Inverted synthetic faces** (:func:`inverted_pairs`): world faces of a held-out seed are projected into the
  generator (Stage 3's :func:`~toonlift.stages.vlda.synthetic_truth.invert_synthetic_faces`), and each ``w``
  carries the face's *true* rig latent (:func:`~toonlift.plugins.head_rig.prior.latent_from_params`). The truth is
  only as good as the inversion, so the per-face residual (mean L1 of ``G(w) - target`` in ``[-1, 1]``) is kept.
* **Random codes labelled by a fit** (:func:`analyser_pairs`): ``w = mapping(z)``, and the face analyser's read-out
  of ``G(w)`` (identity, expression, pose, Lambert light as SH) plays the paper's "fitting tool"; it reads no
  appearance code, so ``albedo`` is NaN there. Cheap (one G and one analyser forward per code): used for the yaw
  boundary, which needs thousands of codes.

Files: safetensors (``w_plus [N, L, D]``, ``latent [N, 53]``, ``residual [N]``) + JSON sidecar, written by
``python -m toonlift.stages.styleuv.pairs`` (chunked and resumable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.shading import lambert_sh_coefficients, reference_light_direction
from toonlift.plugins.head_rig.latent import LATENT_DIM, SLICES
from toonlift.plugins.head_rig.prior import latent_from_params
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.io import load_safetensors, save_safetensors

FORMAT = "toonlift.styleuv.pairs"


@dataclass
class Pairs:
    """Style codes and rig coefficients.

    Attributes:
        w_plus: ``[N, L, D]`` W+ codes (``L`` = the generator's ``num_ws``).
        latent: ``[N, 53]`` rig latents (``toonlift.plugins.head_rig.latent``); NaN where the source cannot tell.
        residual: ``[N]`` inversion residual (mean L1 in ``[-1, 1]``), NaN for codes that were not inverted.
        source: ``"inverted"`` or ``"analyser"``.
        seed: world seed (inverted) or sampling seed (analyser).
    """

    w_plus: Tensor
    latent: Tensor
    residual: Tensor
    source: str
    seed: int

    def __len__(self) -> int:
        return int(self.w_plus.shape[0])


def inverted_pairs(generator: nn.Module, count: int, seed: int, first: int = 0, steps: int = 100) -> Pairs:
    """Invert world faces ``first .. first + count - 1`` of ``seed`` (photo domain) and attach their true latents."""
    from toonlift.stages.vlda.synthetic_truth import invert_synthetic_faces

    targets = invert_synthetic_faces(generator, count, seed, steps=steps, batch_size=min(8, count), first=first)
    latent = latent_from_params(sample_params(seed, targets.indices), "photo")
    w_plus = targets.w[:, None].expand(-1, generator.num_ws, -1).contiguous()
    return Pairs(w_plus, latent.float(), torch.tensor(targets.residual["l1"]), "inverted", seed)


def analyser_latent(analyser: FaceAnalyser, images: Tensor) -> Tensor:
    """Rig latents ``[B, 53]`` read off images by the face analyser (albedo NaN; pose shift/scale 0)."""
    out = analyser(images)
    sh = lambert_sh_coefficients(reference_light_direction(out.light[:, 2:4]), out.light[:, 0], out.light[:, 1])
    lat = images.new_full((images.shape[0], LATENT_DIM), float("nan"))
    lat[:, SLICES["identity"]] = out.identity
    lat[:, SLICES["expression"]] = out.expression
    lat[:, SLICES["light"]] = sh
    lat[:, SLICES["pose"]] = torch.cat([out.pose, torch.zeros_like(out.pose)], 1)
    return lat


@torch.no_grad()
def analyser_pairs(generator: nn.Module, analyser: FaceAnalyser, count: int, seed: int, batch: int = 64) -> Pairs:
    """``count`` random codes ``w = mapping(z)`` labelled by the analyser's read-out of ``G(w)``."""
    gen = torch.Generator().manual_seed(seed)
    ws, lats = [], []
    for lo in range(0, count, batch):
        z = torch.randn(min(batch, count - lo), generator.z_dim, generator=gen)
        w_plus = generator.mapping(z)
        lats.append(analyser_latent(analyser, generator.synthesis(w_plus, noise_mode="const").image))
        ws.append(w_plus)
    w_plus = torch.cat(ws)
    return Pairs(w_plus, torch.cat(lats), torch.full((count,), float("nan")), "analyser", seed)


def save_pairs(path: str | Path, pairs: Pairs, meta: dict | None = None) -> Path:
    """Write ``pairs`` as safetensors + JSON sidecar (atomically)."""
    tensors = {"w_plus": pairs.w_plus.float(), "latent": pairs.latent.float(), "residual": pairs.residual.float()}
    info = {"format": FORMAT, "version": 1, "source": pairs.source, "seed": pairs.seed, "count": len(pairs)}
    save_safetensors(path, tensors, {**info, **(meta or {})})
    return Path(path)


def load_pairs(path: str | Path) -> Pairs:
    """Read a pairs file written by :func:`save_pairs`."""
    tensors, meta = load_safetensors(path, what="StyleFaceUV pairs file")
    if meta.get("format") != FORMAT or not {"w_plus", "latent", "residual"} <= set(tensors):
        raise ConfigError(
            f"'{path}' is not a StyleFaceUV pairs file (format {meta.get('format')!r}); write one with "
            "`python -m toonlift.stages.styleuv.pairs --out FILE`."
        )
    return Pairs(tensors["w_plus"], tensors["latent"], tensors["residual"], str(meta["source"]), int(meta["seed"]))


def concat_pairs(items: list[Pairs]) -> Pairs:
    """One :class:`Pairs` of several of the same source."""
    if not items:
        raise ConfigError("concat_pairs: nothing to concatenate.")
    return Pairs(
        torch.cat([p.w_plus for p in items]),
        torch.cat([p.latent for p in items]),
        torch.cat([p.residual for p in items]),
        items[0].source,
        items[0].seed,
    )


__all__ = ["Pairs", "analyser_latent", "analyser_pairs", "concat_pairs", "inverted_pairs", "load_pairs", "save_pairs"]
