"""Distribution scores of the rendered avatars (the seed paper's Table I protocol): FID/KID of N renders.

The paper samples 256 images rendered from the reconstructed 3D shapes and measures their FID against a photo data
set (FFHQ). Here each avatar folder written by VLDA (``maps.safetensors``: canonical depth, albedo, shading and the
input view) is re-rendered from random views and the renders are scored, in any feature space, against a stream of
real images. Renders are composited on white, as the rotation grids and the GIF are.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from toonlift.errors import DataError
from toonlift.metrics.generative import GenerativeMetrics, scores_x1e3
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.vlda.outputs import MAPS_FORMAT, RENDERER_KEYS
from toonlift.stages.vlda.reconstructor import render_view
from toonlift.stages.vlda.vlda_params import shaded_texture
from toonlift.utils.io import load_safetensors


@dataclass
class AvatarMaps:
    """One reconstructed avatar: canonical ``texture`` ``[1, 3, H, W]`` in ``[-1, 1]``, ``depth`` ``[1, H, W]``,
    input ``view`` ``[1, 6]`` and the renderer geometry it was reconstructed with."""

    folder: Path
    texture: Tensor
    depth: Tensor
    view: Tensor
    renderer_args: dict


def find_avatars(root: str | Path) -> list[Path]:
    """The avatar folders under ``root``: ``root`` itself if it holds ``maps.safetensors``, else its sub-folders that
    do (one level: a VLDA output folder's ``avatar_*``; expression variants inside them are not counted).

    Raises:
        DataError: no such folder, or no avatar in it.
    """
    p = Path(root).expanduser()
    if not p.is_dir():
        raise DataError(f"The avatar folder '{p}' does not exist. Pass a VLDA output folder (holding avatar_*/).")
    if (p / "maps.safetensors").is_file():
        return [p]
    found = sorted(d for d in p.iterdir() if d.is_dir() and (d / "maps.safetensors").is_file())
    if not found:
        raise DataError(
            f"'{p}' holds no avatar (no maps.safetensors in it or its sub-folders). Run VLDA first "
            "(`python cli.py fit --config configs/vlda.yaml`) and pass its `out_dir`."
        )
    return found


def load_avatar(folder: str | Path) -> AvatarMaps:
    """Read an avatar's ``maps.safetensors`` and rebuild its canonical texture ``(A/2 + 1/2)·shading·2 − 1``.

    Raises:
        DataError: the maps are not VLDA's, are malformed, or hold NaN/inf.
    """
    folder = Path(folder)
    path = folder / "maps.safetensors"
    tensors, meta = load_safetensors(path, what="avatar maps file")
    if meta.get("format") != MAPS_FORMAT or not {"depth", "albedo", "shading"} <= tensors.keys():
        raise DataError(f"'{path}' is not a VLDA maps file (format {meta.get('format')!r}); re-run VLDA to write it.")
    depth, albedo, shading = tensors["depth"].float(), tensors["albedo"].float(), tensors["shading"].float()
    size = depth.shape[-1]
    if depth.shape != (size, size) or albedo.shape != (3, size, size) or shading.shape != (1, size, size):
        raise DataError(
            f"'{path}' has inconsistent map shapes (depth {tuple(depth.shape)}, albedo {tuple(albedo.shape)}, "
            f"shading {tuple(shading.shape)}); re-run VLDA to write it."
        )
    try:
        view = torch.tensor(meta.get("view", [0.0] * 6), dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        view = torch.empty(0)
    if view.shape != (6,):
        raise DataError(f"'{path}' has a view that is not 6 numbers ({meta.get('view')!r}); re-run VLDA to write it.")
    for name, t in (("depth", depth), ("albedo", albedo), ("shading", shading), ("view", view)):
        if not torch.isfinite(t).all():
            raise DataError(f"'{path}' holds NaN or inf in its {name}; that reconstruction diverged, re-run it.")
    geometry = meta.get("renderer", {})  # absent in files written before it was recorded: GAN2Shape's defaults
    if not isinstance(geometry, dict) or not all(isinstance(geometry.get(k, 0.0), (int, float)) for k in RENDERER_KEYS):
        raise DataError(f"'{path}' has an unreadable renderer entry {geometry!r}; re-run VLDA to write it.")
    args = {k: float(geometry[k]) for k in RENDERER_KEYS if k in geometry}
    return AvatarMaps(folder, shaded_texture(albedo, shading)[None], depth[None], view[None], args)


def renderer_for(avatar: AvatarMaps) -> DepthMapRenderer:
    """A depth-map renderer with the avatar's geometry (GAN2Shape's fov 10, depth 0.9-1.1 for older files)."""
    return DepthMapRenderer(image_size=avatar.depth.shape[-1], **avatar.renderer_args)


def random_views(count: int, generator: torch.Generator, yaw_deg: float, pitch_deg: float) -> Tensor:
    """``[count, 6]`` views (pitch, yaw in radians, no roll or translation), each angle uniform in ``±range``."""
    u = torch.rand(count, 2, generator=generator) * 2 - 1
    views = torch.zeros(count, 6)
    views[:, 0] = u[:, 0] * math.radians(pitch_deg)
    views[:, 1] = u[:, 1] * math.radians(yaw_deg)
    return views


@torch.no_grad()
def render_avatar(avatar: AvatarMaps, views: Tensor, renderer: nn.Module | None = None) -> Tensor:
    """Renders ``[N, 3, H, W]`` of ``avatar`` from ``views`` ``[N, 6]`` (relative to its canonical frame), on white."""
    renderer = renderer if renderer is not None else renderer_for(avatar)
    image, mask, _ = render_view(renderer, avatar.texture, avatar.depth, views)
    return image * mask + (1 - mask)


def render_set(
    avatars: list[AvatarMaps],
    count: int,
    seed: int = 0,
    yaw_deg: float = 30.0,
    pitch_deg: float = 10.0,
    batch: int = 32,
) -> Iterator[Tensor]:
    """``count`` renders spread evenly over ``avatars`` (the first ``count % len`` get one more), in batches of at
    most ``batch`` renders of one avatar; views are drawn from one seeded generator, so the set is reproducible."""
    gen = torch.Generator().manual_seed(seed)
    base, extra = divmod(count, len(avatars))
    for i, avatar in enumerate(avatars):
        views = random_views(base + (1 if i < extra else 0), gen, yaw_deg, pitch_deg)
        renderer = renderer_for(avatar)
        for chunk in views.split(batch):
            yield render_avatar(avatar, chunk, renderer)


@torch.no_grad()
def fid_kid(
    fake: Iterable[Tensor], real: Iterable[Tensor], features: nn.Module, device: torch.device | str = "cpu"
) -> dict[str, float]:
    """FID and KID (x1e3) between two streams of ``[B, 3, H, W]`` batches in ``[-1, 1]``, in ``features``' space.

    Real images are resized to the renders' size if they differ. KID uses 50 seeded subsets of half the smaller set.
    """
    device = torch.device(device)
    features = features.to(device).eval()
    fake_feats, size = [], None
    for b in fake:
        size = size or b.shape[-1]
        fake_feats.append(features(b.to(device)))
    n_fake = sum(f.shape[0] for f in fake_feats)
    real_feats = []
    for b in real:
        b = b.to(device)
        if size is not None and b.shape[-1] != size:
            b = nn.functional.interpolate(b, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        real_feats.append(features(b))
    n_real = sum(f.shape[0] for f in real_feats)
    if n_fake < 2 or n_real < 2:
        raise DataError(f"FID/KID need at least 2 images on each side, got {n_fake} renders and {n_real} real images.")
    with warnings.catch_warnings():  # KID keeps every feature by design; these sets are small
        warnings.filterwarnings("ignore", message=".*Kernel Inception Distance.*will save all extracted features")
        subset = max(2, min(n_fake, n_real) // 2)
        metrics = GenerativeMetrics(features.num_features, kid_subset_size=subset, kid_subsets=50)
    for f in fake_feats:
        metrics.update(f.cpu(), real=False)
    for f in real_feats:
        metrics.update(f.cpu(), real=True)
    with torch.random.fork_rng():  # KID draws its subsets from the global generator: seed them, leave it as it was
        torch.manual_seed(0)
        out = metrics.compute()
    return {**scores_x1e3(out), "renders": n_fake, "real": n_real}
