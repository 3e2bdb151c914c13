"""Procedural albedo: per-part colours from the sampled appearance, plus skin and hair texture for the photo domain.

Colours are linear RGB in ``[0, 1]``. The photo albedo carries low-frequency blotches, per-vertex pore noise, cheek
blush and hair strands; the cartoon albedo is flat, brighter and more saturated per part.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from toonlift.synthetic import layout as L
from toonlift.synthetic.head_model import HeadModel
from toonlift.synthetic.sampler import SKIN_TONES, FaceParams


def skin_colour(tone: Tensor, red: Tensor) -> Tensor:
    """Skin albedo ``[B, 3]`` from a tone in ``[0, 1]`` (light to dark) and a redness offset."""
    tones = torch.as_tensor(SKIN_TONES, dtype=tone.dtype, device=tone.device)
    pos = tone.clamp(0, 1) * (len(tones) - 1)
    i0 = pos.floor().long().clamp(max=len(tones) - 2)
    t = (pos - i0).unsqueeze(1)
    c = tones[i0] * (1 - t) + tones[i0 + 1] * t
    return (c + red.unsqueeze(1) * c.new_tensor([1.0, -0.3, -0.4])).clamp(0.02, 1)


def part_colours(params: FaceParams) -> Tensor:
    """Albedo of every part ``[B, P, 3]`` (index = part label; the background row is unused)."""
    a = params.appearance
    b = a.shape[0]
    skin = skin_colour(a[:, 0], a[:, 1])
    hair = a[:, 2:5].clamp(0, 1)
    iris = a[:, 5:8].clamp(0, 1)
    lip_red = a.new_tensor([0.72, 0.25, 0.28]).expand(b, 3)
    lips = skin * (0.55 - 0.1 * a[:, 8:9]) + lip_red * (0.45 + 0.1 * a[:, 8:9])
    cols = a.new_zeros(b, len(L.PART_NAMES), 3)
    cols[:, L.PART["skin"]] = skin
    cols[:, L.PART["nose"]] = skin * a.new_tensor([1.02, 0.97, 0.95])
    cols[:, L.PART["brows"]] = hair * 0.75 + 0.02
    cols[:, L.PART["sclera"]] = a.new_tensor([0.9, 0.88, 0.84])
    cols[:, L.PART["iris"]] = iris
    cols[:, L.PART["pupil"]] = a.new_tensor([0.02, 0.02, 0.02])
    cols[:, L.PART["lips"]] = lips
    cols[:, L.PART["mouth"]] = a.new_tensor([0.3, 0.06, 0.07])
    cols[:, L.PART["hair"]] = hair
    cols[:, L.PART["ears"]] = skin * 0.98
    cols[:, L.PART["neck"]] = skin * 0.92
    return cols


_BANK_SIZE = 64


_BANKS: dict[tuple[int, str], tuple[Tensor, Tensor]] = {}


def _noise_bank(model: HeadModel) -> tuple[Tensor, Tensor]:
    """Fixed banks of per-vertex noise on the mean shape: smooth blotches and fine pores, ``[64, V]`` each.

    Samples pick and mix bank rows (cheap gathers) instead of generating fresh noise per vertex per sample.
    """
    key = (model.num_vertices, str(model.mean.device))
    if key in _BANKS:
        return _BANKS[key]
    num_vertices = model.num_vertices
    pos = model.mean.double().cpu()
    g = np.random.default_rng(20261121)
    freq = torch.from_numpy(g.normal(0, 4.0, (_BANK_SIZE, 6, 3)))
    phase = torch.from_numpy(g.uniform(0, 2 * np.pi, (_BANK_SIZE, 6)))
    smooth = torch.sin(torch.einsum("vc,nkc->nvk", pos, freq) + phase[:, None]).mean(-1) * 2.0
    fine = torch.from_numpy(g.standard_normal((_BANK_SIZE, num_vertices)))
    _BANKS[key] = (smooth.float().to(model.mean.device), fine.float().to(model.mean.device))
    return _BANKS[key]


def _texture_noise(model: HeadModel, seeds: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample, per-vertex noise: smooth blotches ``[B, V]`` and fine pore noise ``[B, V]`` (both ~unit scale)."""
    smooth_bank, fine_bank = _noise_bank(model)
    s = seeds.to(model.mean.device)
    i, j, k = s % _BANK_SIZE, (s // _BANK_SIZE) % _BANK_SIZE, (s // _BANK_SIZE**2) % _BANK_SIZE
    smooth = 0.8 * smooth_bank[i] + 0.6 * smooth_bank[j]
    fine = 0.8 * fine_bank[k] + 0.6 * fine_bank[i]
    return smooth, fine


def vertex_albedo(model: HeadModel, params: FaceParams, domain: str) -> Tensor:
    """Per-vertex albedo ``[B, V, 3]`` for ``domain`` ``"photo"`` (textured) or a stylised one (flat colours)."""
    cols = part_colours(params).to(model.mean.device)
    b = cols.shape[0]
    albedo = cols[torch.arange(b, device=cols.device)[:, None], model.vertex_parts[None]]  # [B, V, 3]
    if domain != "photo":
        grey = albedo.mean(-1, keepdim=True)
        return (grey + 1.45 * (albedo - grey)).mul(1.12).clamp(0, 1)  # flat, saturated, brighter
    smooth, fine = _texture_noise(model, params.noise_seed)
    parts = model.vertex_parts
    is_skin = torch.isin(parts, parts.new_tensor([L.PART[n] for n in ("skin", "nose", "ears", "neck", "lips")]))
    is_hair = torch.isin(parts, parts.new_tensor([L.PART["hair"], L.PART["brows"]]))
    mean = model.mean
    blush = torch.exp(-(((mean[:, 0].abs() - 0.42) / 0.14) ** 2 + ((mean[:, 1] + 0.22) / 0.14) ** 2))
    blush = blush * (mean[:, 2] > 0) * is_skin
    az = torch.atan2(mean[:, 0], mean[:, 2])
    strands = torch.sin(70 * az + 9 * mean[:, 1]) * is_hair  # hair strands run from the crown down
    gain = 1 + 0.05 * smooth * is_skin + 0.03 * fine * is_skin + 0.12 * strands + 0.05 * fine * is_hair
    albedo = albedo * gain.unsqueeze(-1)
    albedo = albedo + blush.unsqueeze(-1) * albedo.new_tensor([0.06, -0.02, -0.02])
    return albedo.clamp(0, 1)
