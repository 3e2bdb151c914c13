"""Where VLDA's per-image inputs come from: W latents (seeds or a file), face masks and optional ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import ConfigError, DataError
from toonlift.stages.vlda.ellipsoid import PRIOR_FAR, PRIOR_NEAR, ellipsoid_from_mask
from toonlift.stages.vlda.projector import resize
from toonlift.utils.io import load_safetensors, safe_torch_load

_LATENT_KEYS = ("w", "latents", "latent", "ws")


def _pick(tensors: dict, path: Path, keys: tuple[str, ...], what: str) -> Tensor:
    for k in keys:
        if k in tensors and isinstance(tensors[k], Tensor):
            return tensors[k]
    only = [v for v in tensors.values() if isinstance(v, Tensor)]
    if len(only) == 1:
        return only[0]
    raise DataError(f"'{path}' holds no {what} tensor: expected one of the keys {list(keys)} (it has {list(tensors)}).")


def load_latents(path: str | Path, w_dim: int) -> Tensor:
    """W latents ``[N, w_dim]`` from a ``.safetensors`` or ``.pt`` file (a tensor, or a dict with key ``w``).

    A W+ file ``[N, num_ws, w_dim]`` is accepted when every layer holds the same latent (VLDA offsets one ``w``).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(
            f"The latents file '{p}' does not exist. Write it first: `toonlift invert-synthetic ... --out "
            f"{p.parent}` for synthetic faces (the header of configs/vlda_synthetic.yaml shows the whole command), "
            "or `toonlift project` for a photo; or point `latents` at your file."
        )
    if p.suffix == ".safetensors":
        tensors, _ = load_safetensors(p, what="latents file")
    else:
        obj = safe_torch_load(p, what="latents file")
        tensors = obj if isinstance(obj, dict) else {"w": obj}
    w = _pick(tensors, p, _LATENT_KEYS, "latent").float()
    if w.dim() == 3:
        if not torch.allclose(w, w[:, :1].expand_as(w), atol=1e-6):
            raise DataError(
                f"'{p}' holds W+ latents with different per-layer codes; VLDA offsets a single w per image. Save "
                "[N, w_dim] latents (e.g. the first layer of each)."
            )
        w = w[:, 0]
    if w.dim() == 1:
        w = w[None]
    if w.dim() != 2 or w.shape[1] != w_dim or w.shape[0] == 0:
        raise DataError(f"'{p}' must hold latents [N, {w_dim}] with N >= 1; got shape {tuple(w.shape)}.")
    if not torch.isfinite(w).all():
        raise DataError(f"'{p}' holds NaN or infinite latents.")
    return w


def load_ground_truth(path: str | Path, count: int, size: int) -> tuple[Tensor, Tensor]:
    """Ground-truth depth and foreground ``([N, S, S], [N, S, S])`` from a safetensors file with ``depth``/``mask``.

    Depth is camera depth in the renderer's convention (0.9-1.1 for faces). ``N`` must equal the number of images.
    """
    p = Path(path).expanduser()
    tensors, _ = load_safetensors(p, what="ground-truth file")
    if "depth" not in tensors or "mask" not in tensors:
        raise DataError(f"The ground-truth file '{p}' needs tensors 'depth' and 'mask' [N, H, W]; has {list(tensors)}.")
    depth, mask = tensors["depth"].float(), tensors["mask"].float()
    if depth.shape != (count, size, size) or mask.shape != depth.shape:
        raise DataError(
            f"The ground truth in '{p}' must be [{count}, {size}, {size}] (one map per image at image_size); got "
            f"depth {tuple(depth.shape)}, mask {tuple(mask.shape)}."
        )
    return depth, mask


def box_mask(size: int, box: list[float]) -> Tensor:
    """A ``[S, S]`` mask of the relative box ``[min_y, max_y, min_x, max_x]`` (fractions of the side)."""
    if len(box) != 4 or not (0 <= box[0] < box[1] <= 1 and 0 <= box[2] < box[3] <= 1):
        raise ConfigError(f"face_box must be [min_y, max_y, min_x, max_x] fractions in [0, 1], got {box}.")
    m = torch.zeros(size, size)
    y0, y1 = round(box[0] * (size - 1)), round(box[1] * (size - 1))
    x0, x1 = round(box[2] * (size - 1)), round(box[3] * (size - 1))
    m[y0 : y1 + 1, x0 : x1 + 1] = 1.0
    return m


@dataclass
class PreparedImage:
    """One image to reconstruct: its W latent ``[1, w_dim]``, the input ``[1, 3, S, S]``, the face mask and
    ellipsoid prior ``[1, S, S]``, and ground-truth depth/foreground ``[1, S, S]`` when known."""

    w: Tensor
    image: Tensor
    face_mask: Tensor
    ellipsoid: Tensor
    gt_depth: Tensor | None = None
    gt_mask: Tensor | None = None


@torch.no_grad()
def prepare_image(
    generator: torch.nn.Module,
    w: Tensor,
    size: int,
    face_parser: torch.nn.Module | None = None,
    face_box: list[float] | tuple[float, ...] = (0.2, 1.0, 0.2, 0.8),
    prior_category: str = "face",
    ground_truth: tuple[Tensor, Tensor] | None = None,
    prior_relief: float = PRIOR_FAR - PRIOR_NEAR,
) -> PreparedImage:
    """Render ``G(w)`` at ``size`` and derive the face mask (parser, else the generator's mask, else the box), the
    ellipsoid prior and the ground truth (the generator's depth if it has one, else ``ground_truth``)."""
    out = generator.synthesis(w, noise_mode="const")
    image = resize(out.image, size).clamp(-1, 1)
    gt_depth = gt_mask = None
    if out.depth is not None:
        gt_depth = resize(out.depth, size)[:, 0]
        fg = out.mask if out.mask is not None else (out.depth < out.depth.amax()).float()
        gt_mask = (resize(fg, size)[:, 0] > 0.5).float()
    elif ground_truth is not None:
        gt_depth, gt_mask = (t.to(w.device) for t in ground_truth)
    if face_parser is not None:
        mask = face_parser(image)[0, 0]
    elif out.mask is not None:
        mask = resize(out.mask, size)[0, 0]
    else:
        mask = box_mask(size, list(face_box)).to(w.device)
    if prior_category == "rig":  # the 3DMM rig's fitted depth (issue 18) instead of an ellipsoid
        from toonlift.stages.rig_fit.depth_prior import rig_depth_prior

        ellipsoid = rig_depth_prior(image, size, far=PRIOR_FAR)
    else:
        ellipsoid = ellipsoid_from_mask(mask, prior_category, near=PRIOR_FAR - prior_relief, far=PRIOR_FAR)[None]
    return PreparedImage(w, image, mask[None], ellipsoid, gt_depth, gt_mask)
