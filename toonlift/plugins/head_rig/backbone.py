"""The ``head_rig`` backbone: the synthetic world's head as a morphable-model generator (seed 002's 3DMM).

``z [B, 53]`` (standard normal) --mapping: a learnable per-value affine map, initialised so that ``z`` gets the
world prior's mean and spread--> latent ``[B, 1, 53]`` (identity, expression, albedo, SH light, pose;
``latent.py``) --synthesis: linear shape model, pose, pinhole camera, toonlift's differentiable ``MeshRenderer``
with SH shading--> image, depth, mask, mesh, the 68 projected landmarks and UVs.

Geometry is the world's own (same bases, same placement as ``toonlift.synthetic.render``): for a latent from
``prior.latent_from_params`` the depth and landmarks equal the world renderer's (tested to 1e-4). The image is not
the world's image: the albedo is the world's flat per-part colour (no texture noise, no outlines, no shadows) lit
by 9 grey SH coefficients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.camera import (
    euler_to_rotation,
    fov_to_intrinsics,
    inverse_transform_points,
    project,
    transform_points,
)
from toonlift.plugins.backbones.base import Backbone, BackboneOutput
from toonlift.plugins.head_rig.latent import LATENT_DIM, RigLatent, split_latent
from toonlift.plugins.head_rig.prior import prior_moments
from toonlift.plugins.head_rig.uv import template_uv
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.synthetic.appearance import part_colours
from toonlift.synthetic.head_model import DETAILS, HeadModel, build_head_model
from toonlift.synthetic.render import BACKGROUND_DEPTH, FOV_DEG, HEAD_SCALE, pose_to_view
from toonlift.synthetic.sampler import FaceParams
from toonlift.synthetic.styles import to_srgb


def rig_camera_vertices(object_vertices: Tensor, pose: Tensor) -> Tensor:
    """Camera-space vertices ``[B, V, 3]`` of object-space ones ``[B, V, 3]`` under rig poses ``[B, 6]``.

    The world's placement (``toonlift.synthetic.render``): scale by ``HEAD_SCALE * exp(log_scale)``, flip ``y`` and
    ``z`` into the camera frame around depth 1, rotate by (yaw, pitch, roll) about the pivot ``(0, 0, 1)``, then
    shift by ``(tx, ty, 0)``.
    """
    v = object_vertices * (HEAD_SCALE * torch.exp(pose[:, 5]))[:, None, None]
    cam = torch.stack([v[..., 0], -v[..., 1], 1.0 - v[..., 2]], -1)
    rot = euler_to_rotation(pose_to_view(pose[:, :3])[:, :3])
    shift = torch.cat([pose[:, 3:5], torch.zeros_like(pose[:, :1])], 1)
    return transform_points(cam, rot, shift)


def rig_object_points(camera_points: Tensor, pose: Tensor) -> Tensor:
    """Inverse of :func:`rig_camera_vertices`: object-space points ``[B, N, 3]`` of camera-space ones."""
    rot = euler_to_rotation(pose_to_view(pose[:, :3])[:, :3])
    shift = torch.cat([pose[:, 3:5], torch.zeros_like(pose[:, :1])], 1)
    cam = inverse_transform_points(camera_points, rot, shift)
    scale = (HEAD_SCALE * torch.exp(pose[:, 5]))[:, None, None]
    return torch.stack([cam[..., 0], -cam[..., 1], 1.0 - cam[..., 2]], -1) / scale


def rig_vertex_colours(model: HeadModel, albedo: Tensor) -> Tensor:
    """Per-vertex display colours ``[B, V, 3]`` in ``[-1, 1]`` of appearance codes ``albedo`` ``[B, 9]``."""
    b = albedo.shape[0]
    z = albedo.new_zeros
    params = FaceParams(
        identity=z(b, model.num_identity),
        expression=z(b, model.num_expression),
        pose=z(b, 3),
        light=z(b, 4),
        appearance=albedo,
        background=z(b, 8),
        noise_seed=torch.zeros(b, dtype=torch.int64, device=albedo.device),
    )
    cols = part_colours(params)  # [B, P, 3] linear RGB
    per_vertex = cols[torch.arange(b, device=albedo.device)[:, None], model.vertex_parts[None]]
    return to_srgb(per_vertex) * 2 - 1


class HeadRigBackbone(Backbone):
    """The synthetic head model as a 3DMM rig backbone (registry name ``head_rig``).

    Args:
        image_size: output side in pixels.
        detail: ``"high"`` (12.7k vertices) or ``"low"`` (6.0k vertices, same coefficients and landmarks).
        prior_domain: the world domain whose prior initialises the mapping (``"photo"`` or ``"cartoon"``; the
            cartoon prior has the toon-transformed identities).
        background: background colour in ``[-1, 1]``, one value per channel.
        cull_backfaces: draw only triangles facing the camera, as the world's renderer does (the mesh is closed, so
            this changes only the few silhouette pixels where a back face lies nearest; geometry then equals the
            world's there too). Each sample is rasterised with its own front-facing triangles.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"image_size": 16, "detail": "low"}

    def __init__(
        self,
        image_size: int = 64,
        detail: str = "high",
        prior_domain: str = "photo",
        background: tuple[float, float, float] = (1.0, 1.0, 1.0),
        cull_backfaces: bool = True,
    ) -> None:
        super().__init__()
        if detail not in DETAILS:
            raise ConfigError(f"head_rig detail must be one of {', '.join(DETAILS)}, got '{detail}'.")
        if image_size < 8:
            raise ConfigError(f"head_rig image_size must be >= 8 pixels, got {image_size}.")
        self.image_size, self.detail, self.prior_domain = int(image_size), detail, prior_domain
        self.background_colour = tuple(float(c) for c in background)
        self.cull_backfaces = bool(cull_backfaces)
        model = build_head_model(detail)
        # the model's tensors as non-persistent buffers: they follow .to()/.double() and are rebuilt, not exported
        for name in ("mean", "identity_basis", "expression_basis", "faces", "vertex_parts", "landmarks"):
            self.register_buffer(name, getattr(model, name).clone(), persistent=False)
        self.register_buffer("uv", template_uv(model.mean), persistent=False)
        self._model_meta = model
        mean, std = prior_moments(prior_domain)
        self.latent_shift = nn.Parameter(mean.clone())  # [53]
        self.latent_scale = nn.Parameter(std.clone())  # [53]
        self.renderer = MeshRenderer(image_size=self.image_size, fov=FOV_DEG, shading="sh", background=background)

    resolution = property(lambda self: self.image_size)
    z_dim = property(lambda self: LATENT_DIM)
    w_dim = property(lambda self: LATENT_DIM)
    num_ws = property(lambda self: 1)

    def arch_args(self) -> dict[str, Any]:
        """Capability ``Exportable``: what rebuilds this architecture (the bases are rebuilt, not stored)."""
        return {
            "image_size": self.image_size,
            "detail": self.detail,
            "prior_domain": self.prior_domain,
            "background": list(self.background_colour),
            "cull_backfaces": self.cull_backfaces,
        }

    @property
    def head_model(self) -> HeadModel:
        """The head model on this backbone's device and dtype (vertex kinds and part names included)."""
        m = self._model_meta
        return HeadModel(
            mean=self.mean,
            identity_basis=self.identity_basis,
            expression_basis=self.expression_basis,
            faces=self.faces,
            vertex_parts=self.vertex_parts,
            face_parts=m.face_parts.to(self.faces.device),
            vertex_kinds=m.vertex_kinds.to(self.faces.device),
            landmarks=self.landmarks,
        )

    def mapping(
        self, z: Tensor, cond: Tensor | None = None, truncation: float = 1.0, truncation_latent: Tensor | None = None
    ) -> Tensor:
        """``z [B, 53]`` -> latents ``[B, 1, 53]`` = ``shift + scale * z``, optionally truncated toward a latent."""
        del cond
        if z.dim() != 2 or z.shape[1] != LATENT_DIM:
            raise ConfigError(f"head_rig mapping takes z of shape [B, {LATENT_DIM}], got {tuple(z.shape)}.")
        w = self.latent_shift + self.latent_scale * z
        if truncation != 1.0:
            centre = self.latent_shift if truncation_latent is None else truncation_latent.reshape(-1, LATENT_DIM)
            w = centre + truncation * (w - centre)
        return w.unsqueeze(1)

    def object_vertices(self, latent: RigLatent) -> Tensor:
        """Object-space vertices ``[B, V, 3]`` (head units) of the identity and expression of ``latent``."""
        v = self.mean + torch.einsum("bk,kvc->bvc", latent.identity, self.identity_basis)
        return v + torch.einsum("be,evc->bvc", latent.expression, self.expression_basis)

    def synthesis(
        self, ws: Tensor, cond: Tensor | None = None, noise_mode: str = "const", return_features: tuple[str, ...] = ()
    ) -> BackboneOutput:
        """Render latents ``[B, 1, 53]`` (or ``[B, 53]``).

        Returns:
            :class:`BackboneOutput` with ``image`` ``[B, 3, S, S]``; ``depth`` ``[B, 1, S, S]`` (camera depth,
            ``BACKGROUND_DEPTH`` = 1.1 off the head, as the world's); ``mask``; ``vertices`` ``[B, V, 3]`` camera
            space; ``faces`` ``[F, 3]``; ``landmarks`` ``[B, 68, 2]`` pixels; ``uv`` ``[V, 2]``; ``aux`` with
            ``object_vertices`` ``[B, V, 3]`` (head units, before pose) and ``normals`` ``[B, 3, S, S]``.
        """
        del cond, noise_mode
        if return_features:
            raise ConfigError("head_rig has no feature taps; return_features must be empty.")
        ws = self.broadcast_ws(ws)
        lat = split_latent(ws[:, 0])
        obj = self.object_vertices(lat)
        verts = rig_camera_vertices(obj, lat.pose)
        colours = rig_vertex_colours(self.head_model, lat.albedo)
        K = fov_to_intrinsics(FOV_DEG, self.image_size, device=verts.device).to(verts.dtype)
        image, depth, mask, normals = self._render(verts, colours, lat.light, K)
        depth = torch.where(mask > 0, depth, torch.full_like(depth, BACKGROUND_DEPTH))
        landmarks = project(verts[:, self.landmarks], K)[..., :2]
        return BackboneOutput(
            image=image,
            ws=ws,
            depth=depth,
            mask=mask,
            vertices=verts,
            faces=self.faces,
            landmarks=landmarks,
            uv=self.uv,
            aux={"object_vertices": obj, "normals": normals},
        )

    def render_vertices(self, camera_vertices: Tensor, ws: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Render camera-space vertices ``[B, V, 3]`` of this topology (e.g. a refined mesh) with the albedo and
        light of latents ``ws`` ``[B, 53]``: ``(image [B, 3, S, S], depth [B, 1, S, S], mask [B, 1, S, S])``, depth
        ``BACKGROUND_DEPTH`` off the head as in :meth:`synthesis`."""
        lat = split_latent(self.broadcast_ws(ws)[:, 0])
        colours = rig_vertex_colours(self.head_model, lat.albedo)
        K = fov_to_intrinsics(FOV_DEG, self.image_size, device=camera_vertices.device).to(camera_vertices.dtype)
        image, depth, mask, _ = self._render(camera_vertices, colours, lat.light, K)
        return image, torch.where(mask > 0, depth, torch.full_like(depth, BACKGROUND_DEPTH)), mask

    def _render(self, verts: Tensor, colours: Tensor, light: Tensor, K: Tensor) -> tuple[Tensor, ...]:  # noqa: N803
        """``(image, depth, mask, normals)`` of camera-space ``verts`` ``[B, V, 3]``, with culling if asked."""
        if not self.cull_backfaces:
            out = self.renderer(verts, self.faces, vertex_colors=colours, sh_coefficients=light)
            return out.image, out.depth, out.mask, out.normals
        with torch.no_grad():
            screen = project(verts, K)
            x, y = screen[..., 0][:, self.faces], screen[..., 1][:, self.faces]  # [B, F, 3]
            # the world's test: counter-clockwise outside = negative signed area in pixel space (y down)
            area = (x[..., 1] - x[..., 0]) * (y[..., 2] - y[..., 0]) - (x[..., 2] - x[..., 0]) * (y[..., 1] - y[..., 0])
        parts = []
        for b in range(verts.shape[0]):
            out = self.renderer(
                verts[b : b + 1],
                self.faces[area[b] < 0],
                vertex_colors=colours[b : b + 1],
                sh_coefficients=light[b : b + 1],
            )
            parts.append((out.image, out.depth, out.mask, out.normals))
        return tuple(torch.cat(t) for t in zip(*parts))


__all__ = ["HeadRigBackbone", "rig_camera_vertices", "rig_object_points", "rig_vertex_colours"]
