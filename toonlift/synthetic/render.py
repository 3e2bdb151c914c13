"""Render synthetic faces with full ground truth, in the renderer's camera convention (Unsup3d/GAN2Shape).

Placement: the head (object space, head units) is scaled by :data:`HEAD_SCALE` and centred on the rotation pivot
``(0, 0, 1)``: camera ``X = s x``, ``Y = -s y``, ``Z = 1 - s z``. The pose rotates about the pivot exactly like the
renderer's view ``(rx, ry, rz) = (pitch, yaw, roll)`` (``R = Rz Ry Rx``); the camera has a 10 degree field of view.
Visible depths lie in ``[0.9, 1.1]``; the background of the depth map is :data:`BACKGROUND_DEPTH` (1.1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.camera import euler_to_rotation, fov_to_intrinsics, project, transform_points
from toonlift.functional.shading import reference_light_direction
from toonlift.synthetic import styles
from toonlift.synthetic.appearance import vertex_albedo
from toonlift.synthetic.head_model import HeadModel, build_head_model
from toonlift.synthetic.raster import interpolate, rasterize, vertex_normals
from toonlift.synthetic.sampler import FaceParams
from toonlift.synthetic.toon import domain_identity

DOMAINS = ("photo", "cartoon", "ink", "toon+")  # "toon+": cartoon shading of the stronger toon+ shape
FOV_DEG = 10.0
HEAD_SCALE = 0.075
BACKGROUND_DEPTH = 1.1
ALL_OUTPUTS = (
    "image",
    "depth",
    "normal",
    "mask",
    "parts",
    "albedo",
    "landmarks",
    "landmarks_visible",
    "pose",
    "view",
    "light",
    "identity",
    "expression",
)


def pose_to_view(pose: Tensor) -> Tensor:
    """Renderer view ``[B, 6]`` ``(rx, ry, rz, 0, 0, 0)`` (radians) of a pose ``[B, 3]`` (yaw, pitch, roll degrees)."""
    rad = pose * (math.pi / 180.0)
    return torch.cat([rad[:, 1:2], rad[:, 0:1], rad[:, 2:3], torch.zeros_like(rad)], 1)


class FaceRenderer:
    """Render :class:`FaceParams` in a domain at a resolution, with every ground-truth map.

    Args:
        model: the head model to render at every size (default: the ``"high"`` detail model above
            ``low_detail_max_size`` and the ``"low"`` one at or below it).
        device: device to render on.
        low_detail_max_size: largest image side rendered with the low-detail mesh when ``model`` is not given
            (its triangles are still smaller than a pixel there; 0 disables it).
    """

    def __init__(
        self, model: HeadModel | None = None, device: torch.device | str = "cpu", low_detail_max_size: int = 64
    ) -> None:
        self.device = torch.device(device)
        self._fixed = model.to(self.device) if model is not None else None
        self.low_detail_max_size = int(low_detail_max_size)
        self._models: dict[str, HeadModel] = {}

    def model_for(self, image_size: int) -> HeadModel:
        """The mesh used at ``image_size``."""
        if self._fixed is not None:
            return self._fixed
        detail = "low" if image_size <= self.low_detail_max_size else "high"
        if detail not in self._models:
            self._models[detail] = build_head_model(detail).to(self.device)
        return self._models[detail]

    @property
    def model(self) -> HeadModel:
        """The full-detail model."""
        return self._fixed if self._fixed is not None else self.model_for(10**9)

    def camera_vertices(self, params: FaceParams, domain: str, model: HeadModel | None = None) -> Tensor:
        """Camera-space vertices ``[B, V, 3]`` of the faces (toon-transformed identity outside the photo domain)."""
        model = model or self.model
        identity = params.identity.to(self.device)
        identity = domain_identity(identity, domain)
        v = model.vertices(identity, params.expression.to(self.device)) * HEAD_SCALE
        cam = torch.stack([v[..., 0], -v[..., 1], 1.0 - v[..., 2]], -1)
        view = pose_to_view(params.pose.to(self.device))
        rot = euler_to_rotation(view[:, :3])
        return transform_points(cam, rot, view[:, 3:])

    @torch.no_grad()
    def __call__(
        self, params: FaceParams, domain: str = "photo", image_size: int = 64, outputs: tuple[str, ...] = ALL_OUTPUTS
    ) -> dict[str, Tensor]:
        """Render a batch.

        Args:
            params: the factors (from :func:`toonlift.synthetic.sampler.sample_params`).
            domain: ``"photo"``, ``"cartoon"``, ``"ink"`` or ``"toon+"`` (cartoon shading, stronger toon shape).
            image_size: side in pixels.
            outputs: which entries to return (see :data:`ALL_OUTPUTS`; the image is always computed).

        Returns:
            ``image`` ``[B, 3, S, S]`` in ``[-1, 1]``; ``depth`` ``[B, 1, S, S]``; ``normal`` ``[B, 3, S, S]``
            (unit, camera frame, outward; 0 on the background); ``mask`` ``[B, 1, S, S]`` in ``{0, 1}``;
            ``parts`` ``[B, S, S]`` int64 labels (:data:`~toonlift.synthetic.layout.PART_NAMES`); ``albedo``
            ``[B, 3, S, S]`` in ``[-1, 1]``; ``landmarks`` ``[B, 68, 2]`` pixel ``(x, y)``; ``landmarks_visible``
            ``[B, 68]`` bool; ``pose`` ``[B, 3]`` degrees; ``view`` ``[B, 6]``; ``light``, ``identity``,
            ``expression`` as sampled.
        """
        if domain not in DOMAINS:
            raise ConfigError(f"Unknown synthetic domain '{domain}'; choose one of {', '.join(DOMAINS)}.")
        if image_size < 8:
            raise ConfigError(f"image_size must be >= 8 pixels, got {image_size}.")
        s = int(image_size)
        m = self.model_for(s)
        K = fov_to_intrinsics(FOV_DEG, s, device=self.device)
        verts = self.camera_vertices(params, domain, m)  # [B, V, 3]
        screen = project(verts, K)
        frags = rasterize(screen, m.faces, s, s)
        mask = frags.mask  # [B, S, S]
        vn = vertex_normals(verts, m.faces)
        albedo_v = vertex_albedo(m, params.to(self.device), domain)
        attrs = interpolate(frags, m.faces, torch.cat([vn, albedo_v, verts], -1))
        normals = F.normalize(attrs[..., 0:3], dim=-1) * mask.unsqueeze(-1)
        albedo, points = attrs[..., 3:6], attrs[..., 6:9]
        parts = torch.where(mask, m.face_parts[frags.face_index.clamp(min=0)], torch.zeros_like(frags.face_index))
        depth = torch.where(mask, frags.depth, torch.full_like(frags.depth, BACKGROUND_DEPTH))

        light = params.light.to(self.device)
        light_dir = reference_light_direction(light[:, 2:4])
        bg = styles.background(params.background.to(self.device), s, s, domain, params.noise_seed)
        if domain == "photo":
            vis = styles.soft_shadow(points, torch.where(mask, depth, torch.full_like(depth, 10.0)), light_dir, K)
            rgb = styles.photo_shade(albedo, normals, points, light, light_dir, vis, parts)
        else:
            lines = styles.outlines(
                torch.where(mask, depth, torch.full_like(depth, 10.0)), normals, parts, 1 + 2 * (s // 160)
            )
            if domain in ("cartoon", "toon+"):
                vis = styles.soft_shadow(points, torch.where(mask, depth, torch.full_like(depth, 10.0)), light_dir, K)
                rgb = styles.toon_shade(albedo, normals, points, light_dir, vis, parts)
            else:
                rgb = styles.ink_shade(albedo, normals, light_dir, parts)
        m3 = mask.unsqueeze(-1).float()
        rgb = rgb * m3 + bg * (1 - m3)
        if domain != "photo":
            ink = rgb.new_tensor(styles.INK)
            rgb = rgb * (1 - lines.unsqueeze(-1)) + ink * lines.unsqueeze(-1)
        out: dict[str, Tensor] = {"image": (styles.to_srgb(rgb) * 2 - 1).permute(0, 3, 1, 2).contiguous()}
        want = set(outputs)
        if "depth" in want:
            out["depth"] = depth.unsqueeze(1)
        if "normal" in want:
            out["normal"] = normals.permute(0, 3, 1, 2).contiguous()
        if "mask" in want:
            out["mask"] = mask.unsqueeze(1).float()
        if "parts" in want:
            out["parts"] = parts
        if "albedo" in want:
            out["albedo"] = ((styles.to_srgb(albedo) * 2 - 1) * m3).permute(0, 3, 1, 2).contiguous()
        if "landmarks" in want or "landmarks_visible" in want:
            lm = screen[:, m.landmarks]  # [B, 68, 3]
            out["landmarks"] = lm[..., :2].contiguous()
            ij = lm[..., :2].round().long().clamp(0, s - 1)
            # visible when no surface is clearly in front of it: compare with the farthest depth of the 3x3
            # neighbourhood (robust to the half-pixel offset on steep surfaces)
            far = F.max_pool2d(depth.unsqueeze(1), 3, stride=1, padding=1)[:, 0]
            seen = far[torch.arange(len(lm))[:, None], ij[..., 1], ij[..., 0]]
            inside = (lm[..., 0] > -0.5) & (lm[..., 0] < s - 0.5) & (lm[..., 1] > -0.5) & (lm[..., 1] < s - 0.5)
            out["landmarks_visible"] = (lm[..., 2] <= seen + 0.002) & inside
        for k in ("pose", "light", "identity", "expression"):
            if k in want:
                out[k] = getattr(params, k).to(self.device)
        if "view" in want:
            out["view"] = pose_to_view(params.pose.to(self.device))
        return out
