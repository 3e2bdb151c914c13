"""Render the head rig with StyleFaceUV's UV maps: displaced geometry, diffuse texture, SH light, texel visibility.

For rig latents ``[B, 53]`` (from ``F_3D``), a diffuse map ``[B, 3, T, T]`` and a displacement map
``[B, 1, T, T]``: object vertices of the identity and expression, each skin vertex moved along its normal by
``scale * displacement(uv)`` (the official code: ``0.01 * tanh(map)`` per vertex through ``grid_sample``), placed
by the latent's pose like the world, rendered by ``MeshRenderer`` with the diffuse map as texture under the
latent's 9 SH coefficients. The rasteriser's z-buffer also gives which texels the view sees
(:func:`toonlift.functional.uv_maps.texel_visibility`), and the per-pixel UVs map them back to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import interpolate
from toonlift.functional.shading import vertex_normals
from toonlift.functional.texture import sample_texture
from toonlift.functional.uv_maps import bake_to_uv, displace, sample_per_vertex, texel_visibility, uv_fragments
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices, rig_vertex_colours
from toonlift.plugins.head_rig.latent import split_latent
from toonlift.plugins.head_rig.uv import seam_faces
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.synthetic.head_model import KINDS
from toonlift.synthetic.render import BACKGROUND_DEPTH, FOV_DEG

# who owns a texel where parts share UVs (smaller wins): the eyes over the skin around them, the hair shell over
# the scalp where it lies outside the skin, the skin over hair inside the head and over the neck below the jaw
_PRIORITY = {"eye_right": 0.3, "eye_left": 0.3, "hair": 0.6, "skin": 1.0, "hidden_hair": 1.2, "neck": 1.5}


def texel_priority(mean: Tensor, kinds: Tensor, uv: Tensor, faces: Tensor, size: int) -> Tensor:
    """Per-vertex UV z-buffer priority ``[V]``: hair vertices count as hair only where they lie outside the skin
    (the hair shell also runs inside the head, under the face); elsewhere the skin owns the texel."""
    priority = torch.ones(kinds.shape[0])
    for name in ("eye_right", "eye_left", "neck", "skin"):
        priority[kinds == KINDS[name]] = _PRIORITY[name]
    skin = kinds == KINDS["skin"]
    skin_faces = faces[skin[faces].all(1)]
    radius = mean.norm(dim=1)
    frags = uv_fragments(uv, skin_faces, size)
    skin_radius = bake_to_uv(radius[None, :, None], skin_faces, frags)[0]  # [1, 1, T, T]
    at_hair = sample_per_vertex(skin_radius, uv)[0, :, 0]  # [V]
    hair = kinds == KINDS["hair"]
    priority[hair] = torch.where(radius[hair] > at_hair[hair], _PRIORITY["hair"], _PRIORITY["hidden_hair"])
    return priority


@dataclass
class UVRender:
    """``image [B, 3, S, S]`` (over ``background``), ``mask`` ``[B, 1, S, S]``, ``depth`` ``[B, 1, S, S]`` (1.1 off
    the head), ``uv`` ``[B, S, S, 2]`` per pixel, ``texels`` ``[B, 1, T, T]`` seen texels, ``vertices``
    ``[B, V, 3]`` camera space and ``object_vertices`` ``[B, V, 3]`` (displaced, head units)."""

    image: Tensor
    mask: Tensor
    depth: Tensor
    uv: Tensor
    texels: Tensor
    vertices: Tensor
    object_vertices: Tensor


class UVRigRenderer(nn.Module):
    """The head rig drawn with UV maps.

    Args:
        image_size: render side in pixels.
        uv_size: side of the UV maps.
        detail: head-model detail (``"low"``: 6k vertices, fast; ``"high"``: 12.7k).
        displacement_scale: head units per unit of displacement (the map is in ``[-1, 1]``).
    """

    def __init__(self, image_size: int = 64, uv_size: int = 64, detail: str = "low", displacement_scale: float = 0.05):
        super().__init__()
        self.rig = HeadRigBackbone(image_size=image_size, detail=detail, cull_backfaces=False)
        self.rig.requires_grad_(False)
        self.image_size, self.uv_size = int(image_size), int(uv_size)
        self.displacement_scale = float(displacement_scale)
        model = self.rig.head_model
        kinds = model.vertex_kinds
        keep = ~seam_faces(self.rig.uv, self.rig.faces)
        priority = texel_priority(model.mean, kinds, self.rig.uv, self.rig.faces[keep], self.uv_size)
        self.register_buffer("uv_faces", self.rig.faces[keep].clone(), persistent=False)
        self.register_buffer("skin", (kinds == KINDS["skin"]).float()[None, :, None], persistent=False)
        frags = uv_fragments(self.rig.uv, self.uv_faces, self.uv_size, priority)
        self.register_buffer("uv_face_id", frags.face_id, persistent=False)
        self._uv_frags = frags
        self.renderer = MeshRenderer(image_size=self.image_size, fov=FOV_DEG, shading="sh", background=(1.0, 1.0, 1.0))

    def bake_vertex_attributes(self, attributes: Tensor) -> tuple[Tensor, Tensor]:
        """Per-vertex ``[B, V, C]`` -> UV maps ``[B, C, T, T]`` and the covered texels ``[1, 1, T, T]``."""
        frags = self._uv_frags
        if frags.bary.device != attributes.device or frags.bary.dtype != attributes.dtype:
            frags = type(frags)(frags.face_id.to(attributes.device), frags.bary.to(attributes),
                                frags.depth.to(attributes), frags.mask.to(attributes.device))  # fmt: skip
        return bake_to_uv(attributes, self.uv_faces, frags)

    def true_diffuse(self, latent: Tensor) -> Tensor:
        """The rig's own albedo (the world's flat part colours of the latent's appearance code) as UV maps."""
        colours = rig_vertex_colours(self.rig.head_model, split_latent(latent).albedo)
        return self.bake_vertex_attributes(colours)[0]

    def forward(
        self,
        latent: Tensor,
        diffuse: Tensor,
        displacement: Tensor | None = None,
        background: Tensor | None = None,
        visibility: bool = True,
    ) -> UVRender:
        lat = split_latent(latent)
        obj = self.rig.object_vertices(lat)
        if displacement is not None:
            normals = vertex_normals(obj, self.rig.faces)
            amount = sample_per_vertex(displacement, self.rig.uv) * self.skin  # [B, V, 1]
            obj = displace(obj, normals, amount, self.displacement_scale)
        verts = rig_camera_vertices(obj, lat.pose)
        out = self.renderer(
            verts,
            self.rig.faces,
            uv=self.rig.uv[None].to(verts),
            texture=diffuse,
            sh_coefficients=lat.light,
            background_image=background,
        )
        uv_pix = interpolate(self.rig.uv[None].to(verts), self.rig.faces, out.fragments)  # [B, S, S, 2]
        depth = torch.where(out.mask > 0, out.depth, torch.full_like(out.depth, BACKGROUND_DEPTH))
        texels = torch.zeros_like(diffuse[:, :1])
        if visibility:
            with torch.no_grad():
                K = fov_to_intrinsics(FOV_DEG, self.image_size, device=verts.device).to(verts.dtype)
                facing = vertex_normals(verts, self.rig.faces)[..., 2] < 0
                frags = self._uv_frags
                frags = type(frags)(frags.face_id.to(verts.device), frags.bary.to(verts), frags.depth.to(verts),
                                    frags.mask.to(verts.device))  # fmt: skip
                texels = texel_visibility(project(verts, K), out.fragments.depth, facing, self.uv_faces, frags)
        return UVRender(out.image, out.mask, depth, uv_pix, texels, verts, obj)


def texels_at_pixels(texels: Tensor, uv_pix: Tensor) -> Tensor:
    """A texel map ``[B, 1, T, T]`` read at per-pixel UVs ``[B, S, S, 2]`` (nearest): ``[B, 1, S, S]``."""
    return sample_texture(texels, uv_pix, mode="nearest")


__all__ = ["UVRender", "UVRigRenderer", "texels_at_pixels"]
