"""A 3D-aware generator measured on the synthetic world, whose cameras, identities and depths are known exactly.

* :func:`pose_accuracy`: the analyser's yaw and pitch of ``G(z, c)`` against the angles of ``c``, beside the
  analyser's own error on world renders at the same cameras (the floor no generator can go below);
* :func:`identity_consistency`: how alike one face's identity embeddings are across yaws, for the generator's faces
  and for the world's own renders of one face turned the same way;
* :func:`inverted_depth_scores`: invert world faces with their exact cameras and score the generator's depth against
  the renderer's with Unsup3d's SIDE/MAD, beside a flat plane.

FID/KID at the world's cameras is :func:`toonlift.metrics.synthetic_world.generator_fid_kid` with
``world_cameras=True``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.functional.camera import fov_to_intrinsics
from toonlift.functional.depth_metrics import depth_scores
from toonlift.functional.view_metrics import angle_error_summary, cross_face_similarity, view_similarity
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.inversion import invert
from toonlift.plugins.eg3d.rays import ray_to_z_depth
from toonlift.plugins.eg3d.world_camera import synthetic_cond
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.synthetic.render import FOV_DEG, FaceRenderer
from toonlift.synthetic.sampler import sample_params


@torch.no_grad()
def pose_accuracy(
    generator: EG3DBackbone,
    num_samples: int,
    seed: int = 91_000,
    batch_size: int = 32,
    analyser: FaceAnalyser | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Analyser yaw/pitch of ``G(z, c)`` against the angles of ``c``, at the poses of ``num_samples`` world renders.

    Each generated image is drawn at the exact camera of one photo render of world ``seed``
    (:func:`~toonlift.plugins.eg3d.world_camera.synthetic_cond` of its pose; ``z`` from a seeded normal, no
    truncation); the analyser reads both, so ``world`` is the analyser's own error at the same poses.

    Returns:
        ``{"generator" | "world": {"yaw" | "pitch": angle_error_summary}}`` (degrees).
    """
    analyser = (analyser or FaceAnalyser.load()).eval()
    device = generator.mapping_net.w_avg.device
    real = SyntheticFaces("photo", generator.resolution, num_samples, seed, outputs=("image", "pose"))
    gen = torch.Generator().manual_seed(seed)
    true, read = [], {"generator": [], "world": []}
    for start in range(0, num_samples, batch_size):
        batch = real.render(list(range(start, min(start + batch_size, num_samples))))
        z = torch.randn(len(batch["pose"]), generator.z_dim, generator=gen).to(device)
        cond = synthetic_cond(batch["pose"], generator.resolution).to(device)
        fake = generator(z, cond, noise_mode="const").image.clamp(-1, 1)
        read["generator"].append(analyser(fake.cpu()).pose[:, :2])
        read["world"].append(analyser(batch["image"]).pose[:, :2])
        true.append(batch["pose"][:, :2])
    t = torch.cat(true)
    return {
        who: {name: angle_error_summary(torch.cat(p)[:, k], t[:, k]) for k, name in enumerate(("yaw", "pitch"))}
        for who, p in read.items()
    }


def _world_views(seed: int, faces: int, yaws: list[float], size: int) -> Tensor:
    """World photo renders ``[F, V, 3, S, S]`` of faces ``0 .. faces - 1`` of ``seed`` turned to ``(yaw, 0, 0)``."""
    params = sample_params(seed, range(faces))
    renderer = FaceRenderer()
    views = []
    for yaw in yaws:
        pose = torch.zeros_like(params.pose)
        pose[:, 0] = yaw
        views.append(renderer(dataclasses.replace(params, pose=pose), "photo", size, ())["image"])
    return torch.stack(views, 1)


@torch.no_grad()
def _generator_views(generator: EG3DBackbone, seed: int, faces: int, yaws: list[float]) -> Tensor:
    """Generated views ``[F, V, 3, S, S]`` of ``faces`` latents (mapped with the frontal camera) at ``(yaw, 0, 0)``."""
    device = generator.mapping_net.w_avg.device
    z = torch.randn(faces, generator.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    ws = generator.mapping(z, generator.default_cond(faces))
    views = []
    for yaw in yaws:
        pose = torch.tensor([[yaw, 0.0, 0.0]]).expand(faces, -1)
        cond = synthetic_cond(pose, generator.resolution).to(device)
        views.append(generator.synthesis(ws, cond, noise_mode="const").image.clamp(-1, 1).cpu())
    return torch.stack(views, 1)


@torch.no_grad()
def identity_consistency(
    generator: EG3DBackbone,
    encoders: dict[str, nn.Module],
    faces: int,
    yaws: list[float],
    seed: int = 92_000,
) -> dict[str, dict[str, dict[str, float]]]:
    """Identity similarity of one face across yaws, for the generator's faces and the world's own.

    Every face is seen at each yaw of ``yaws`` (degrees; pitch and roll 0; one of them must be 0, the reference
    view). The world's faces are renders of faces ``0 .. faces - 1`` of ``seed`` with only the pose changed.

    Returns:
        ``{"generator" | "world": {encoder: {"yaw <y>": mean cosine similarity to the frontal view, ...,
        "other faces": mean similarity between different faces' frontal views}}}``.
    """
    if 0.0 not in yaws or faces < 2:
        raise ValueError(f"identity_consistency needs yaw 0 among the yaws (got {yaws}) and at least 2 faces")
    ref = yaws.index(0.0)
    images = {
        "generator": _generator_views(generator, seed, faces, yaws),
        "world": _world_views(seed, faces, yaws, generator.resolution),
    }
    out: dict[str, dict[str, dict[str, float]]] = {}
    for who, views in images.items():
        out[who] = {}
        for name, encoder in encoders.items():
            emb = encoder.eval()(views.flatten(0, 1)).unflatten(0, views.shape[:2])  # [F, V, D]
            sim = view_similarity(emb, ref)
            row = {f"yaw {y:+g}": float(sim[:, v].mean()) for v, y in enumerate(yaws) if v != ref}
            row["other faces"] = float(cross_face_similarity(emb[:, ref]).mean())
            out[who][name] = row
    return out


def _half(x: Tensor) -> Tensor:
    """2x2 average ``[B, H, W] -> [B, H / 2, W / 2]``."""
    return F.avg_pool2d(x.unsqueeze(1), 2).squeeze(1)


def score_depth(pred: Tensor, gt_depth: Tensor, gt_mask: Tensor) -> dict[str, dict[str, list[float]]]:
    """SIDE and MAD per face of camera depths ``pred [B, R, R]`` against the world's truth ``[B, S, S]``.

    ``full``: ``pred`` resized (bilinear) to the truth's ``S`` px; ``neural``: at ``R`` px, the truth and its mask
    averaged over ``S / R`` blocks (a block counts as foreground when all of it is). Every predicted pixel is valid.
    Intrinsics: the world's 10-degree camera at each size.
    """
    s, r = gt_depth.shape[-1], pred.shape[-1]
    if s % r:
        raise ValueError(f"the truth's size {s} must be a multiple of the predicted depth's {r}")
    full = F.interpolate(pred.unsqueeze(1), size=(s, s), mode="bilinear", align_corners=False).squeeze(1)
    k = s // r
    small = lambda x: F.avg_pool2d(x.unsqueeze(1), k).squeeze(1)  # noqa: E731
    cases = {
        "full": (full, gt_depth, gt_mask, s),
        "neural": (pred, small(gt_depth), (small(gt_mask) > 0.99).float(), r),
    }
    out = {}
    for key, (p, g, m, size) in cases.items():
        scores = depth_scores(p, g, m, torch.ones_like(m), fov_to_intrinsics(FOV_DEG, size).to(p))
        out[key] = {"side": scores["side"].tolist(), "mad": scores["mad"].tolist()}
    return out


def inverted_depth_scores(
    generator: EG3DBackbone,
    image: Tensor,
    pose: Tensor,
    gt_depth: Tensor,
    gt_mask: Tensor,
    steps: int,
    lr: float = 0.05,
    batch_size: int = 8,
    lpips: nn.Module | None = None,
    raw_mse: float = 0.0,
    seed: int = 0,
) -> dict[str, object]:
    """Invert world photos ``image [N, 3, S, S]`` seen at ``pose [N, 3]`` and score the generator's depth.

    Each chunk of ``batch_size`` faces is inverted into W with :func:`~toonlift.plugins.eg3d.inversion.invert`
    (exact cameras; loss ``lpips`` + pixel MSE weighted by the chunk size, since ``lpips`` is summed over the batch
    and the MSE averaged, + ``raw_mse``); the result's ray distances become camera depths
    (:func:`~toonlift.plugins.eg3d.rays.ray_to_z_depth`) and are scored with :func:`score_depth` against
    ``gt_depth [N, S, S]`` on ``gt_mask [N, S, S]``, as is a flat plane (depth 1, the no-shape baseline).

    Returns:
        ``{"generator" | "flat": score_depth(...), "l1": [N] image L1 of the inversion (``[-1, 1]`` units),
        "mask": [N] the generator's mean opacity on the face}``.
    """
    device = generator.mapping_net.w_avg.device
    depths, l1, opacity = [], [], []
    for lo in range(0, len(image), batch_size):
        target = image[lo : lo + batch_size].to(device)
        cond = synthetic_cond(pose[lo : lo + batch_size], generator.resolution).to(device)
        gen = torch.Generator(device=device).manual_seed(seed * 100_003 + lo)
        result = invert(generator, target, cond, steps=steps, lr=lr, lpips=lpips, mse=len(target),
                        raw_mse=raw_mse * len(target), generator=gen)  # fmt: skip
        with torch.no_grad():
            out = generator.synthesis(result.ws, cond, noise_mode="const")
        depths.append(ray_to_z_depth(out.depth, cond)[:, 0].cpu())
        mask = gt_mask[lo : lo + batch_size]
        small = F.interpolate(mask.unsqueeze(1), size=out.mask.shape[-2:], mode="area").squeeze(1)
        opacity.append((out.mask[:, 0].cpu() * small).flatten(1).sum(1) / small.flatten(1).sum(1).clamp_min(1))
        l1.append((out.image.cpu() - target.cpu()).abs().mean((1, 2, 3)))
    pred = torch.cat(depths)
    return {
        "generator": score_depth(pred, gt_depth, gt_mask),
        "flat": score_depth(torch.ones_like(pred), gt_depth, gt_mask),
        "l1": torch.cat(l1).tolist(),
        "mask": torch.cat(opacity).tolist(),
    }


def yaw_grid(max_deg: float, step_deg: float) -> list[float]:
    """Yaws ``-max .. max`` in steps of ``step`` degrees, 0 included (``max`` a multiple of ``step``)."""
    n = round(max_deg / step_deg)
    if n < 1 or not math.isclose(n * step_deg, max_deg):
        raise ValueError(f"the largest yaw {max_deg} must be a positive multiple of the step {step_deg}")
    return [step_deg * i for i in range(-n, n + 1)]
