"""Texture of a fitted ``head_rig`` mesh from its portrait (seed 002, Eq. 12), eyeballs, and its renders.

Eq. 12 projects each surface point into the photo. Here every texel of a ``T x T`` texture in the rig's own UVs
(``head_rig.uv``: latitude/longitude about the skull centre) is rasterised in UV space (the seam triangles at the back
are skipped; where two surfaces share UVs, as the eyeballs and the lids in front of them do, the one nearer the
camera wins), lifted to its camera-space point, projected into the crop and kept when the point is what the camera
sees there (its depth within ``depth_tol`` of the rendered depth map, its normal facing the camera) and lies inside
the mesh's silhouette shrunk by ``erode`` pixels (the photo's background must not become the head's colour). Every
other texel is filled by 002's background diffusion (:func:`toonlift.functional.texture_diffusion.diffuse_fill`,
a sparse Laplace solve).

Eyeballs (002: "a sphere fitted to the eye area, moved inward"): each eyeball is refitted as a sphere
(:func:`~toonlift.functional.sphere_fit.fit_sphere`) and moved and scaled with its eye opening (the six eye landmark
vertices) from the coarse mesh to the refined one, so it stays behind the lids the Laplacian step moved.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import interpolate, rasterize
from toonlift.functional.shading import vertex_normals
from toonlift.functional.sphere_fit import fit_sphere, project_to_sphere
from toonlift.functional.texture_diffusion import diffuse_fill
from toonlift.functional.toon_shading import cartoon_texture, outline_mask, toon_shade
from toonlift.plugins.head_rig.backbone import HeadRigBackbone
from toonlift.plugins.head_rig.uv import seam_faces
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.synthetic.head_model import KINDS
from toonlift.synthetic.render import FOV_DEG

EYES = (("eye_right", tuple(range(36, 42))), ("eye_left", tuple(range(42, 48))))


def refit_eyeballs(rig: HeadRigBackbone, coarse: Tensor, fine: Tensor) -> tuple[Tensor, list[dict]]:
    """``fine`` ``[V, 3]`` (object space) with each eyeball re-placed as a sphere following its eye opening.

    For each eye: the sphere fitted to the eyeball's vertices on the ``coarse`` mesh, its centre expressed relative
    to the eye opening (centroid and width of its six landmark vertices), rebuilt from the opening on the ``fine``
    mesh (centre moved with it, radius scaled with its width). Returns the new vertices and per-eye details.
    """
    out = fine.clone().double()
    kinds = rig.head_model.vertex_kinds
    info = []
    for (kind, lm_rows), iris_side in zip(EYES, ("right", "left")):
        ball = torch.nonzero(kinds == KINDS[kind])[:, 0]
        rim = rig.landmarks[list(lm_rows)]
        c_old, r_old = fit_sphere(coarse[ball].double().numpy())
        rim_c, rim_f = coarse[rim].double().numpy(), fine[rim].double().numpy()
        width_c = np.linalg.norm(rim_c[3] - rim_c[0])  # outer to inner corner
        width_f = np.linalg.norm(rim_f[3] - rim_f[0])
        gain = width_f / max(width_c, 1e-9)
        centre = rim_f.mean(0) + (c_old - rim_c.mean(0)) * gain
        radius = r_old * gain
        out[ball] = torch.from_numpy(project_to_sphere(fine[ball].double().numpy(), c_old, centre, radius))
        info.append({"eye": iris_side, "radius": round(float(radius), 5), "scale": round(float(gain), 4)})
    return out.to(fine.dtype), info


def head_region(landmarks: Tensor, size: int, margin: float = -0.01) -> np.ndarray:
    """``[S, S]`` bool: where the crop shows the head, from its landmarks (no face parser needed).

    The polygon of the jaw contour (iBUG 0-16) closed upwards to the top of the crop (forehead and hair), grown by
    ``margin * S`` pixels (shrunk when negative: the contour points lie on the face's edge, where the background
    begins). The rig's head is a morphable average and often wider than the person's below the brows;
    texels there would take the photo's background, so they are left to the diffusion instead (002 parses the face
    for the same reason)."""
    from PIL import Image, ImageDraw

    jaw = landmarks[:17].detach().double().numpy()
    poly = [tuple(p) for p in jaw.tolist()] + [(jaw[16, 0], -1.0), (jaw[0, 0], -1.0)]
    img = Image.new("1", (size, size), 0)
    ImageDraw.Draw(img).polygon(poly, fill=1)
    region, steps = np.asarray(img, bool), round(abs(margin) * size)
    if steps == 0:
        return region
    grow = ndimage.binary_dilation if margin > 0 else ndimage.binary_erosion
    return grow(region, iterations=steps)


def bake_texture(
    rig: HeadRigBackbone,
    camera_vertices: Tensor,
    crop: Tensor,
    size: int = 512,
    depth_tol: float = 0.01,
    facing: float = 0.25,
    erode: int = 3,
    region: np.ndarray | None = None,
) -> tuple[Tensor, Tensor]:
    """Project the crop onto the mesh's UV texture and diffuse the rest.

    Args:
        rig: the backbone (faces, UVs; its ``image_size`` is the crop's size).
        camera_vertices: ``[V, 3]`` the fitted mesh in the rig's camera frame.
        crop: ``[1, 3, S, S]`` the photo crop in ``[-1, 1]``.
        size: texture side ``T``.
        depth_tol: camera units between a texel's depth and the rendered depth for it to count as seen.
        facing: minimum cosine between the texel's normal and the direction to the camera.
        erode: pixels the silhouette is shrunk by before texels may take the photo's colour.
        region: ``[S, S]`` bool, where the photo shows the head (:func:`head_region`); ``None`` = everywhere.

    Returns:
        ``(texture [3, T, T] in [-1, 1], known [T, T] bool)``: ``known`` marks the texels taken from the photo.
    """
    s = crop.shape[-1]
    faces = rig.faces
    K = fov_to_intrinsics(FOV_DEG, s).to(camera_vertices)
    cam = camera_vertices[None].float()  # [1, V, 3]
    with torch.no_grad():
        frags = rasterize(project(cam, K), faces, s)
        depth_map = torch.where(frags.mask, frags.depth, torch.zeros_like(frags.depth))[:, None]  # [1, 1, S, S]
        inside = ndimage.binary_erosion(frags.mask[0].numpy(), iterations=erode)
        if region is not None:
            inside &= region
        keep = ~seam_faces(rig.uv, faces)
        f_uv = faces[keep]
        uv = rig.uv.float()
        # UV space as a screen: texel (row i, col j) centre at pixel (j, i); depth = camera depth (nearer wins)
        screen = torch.stack([uv[:, 0] * size - 0.5, (1 - uv[:, 1]) * size - 0.5, cam[0, :, 2]], 1)[None]
        tfr = rasterize(screen, f_uv, size, perspective_correct=False)
        point = interpolate(cam, f_uv, tfr)[0]  # [T, T, 3] camera space
        normal = F.normalize(interpolate(vertex_normals(cam, faces), f_uv, tfr)[0], dim=-1)
        pix = project(point, K)  # [T, T, 3]
        grid = torch.stack([(2 * pix[..., 0] + 1) / s - 1, (2 * pix[..., 1] + 1) / s - 1], -1)[None]
        colour = F.grid_sample(crop.float(), grid, mode="bilinear", align_corners=False)[0]  # [3, T, T]
        seen_depth = F.grid_sample(depth_map, grid, mode="nearest", align_corners=False)[0, 0]
        in_sil = F.grid_sample(torch.from_numpy(inside)[None, None].float(), grid, mode="nearest", align_corners=False)[
            0, 0
        ]
        view = -F.normalize(point, dim=-1)  # towards the camera
        known = (
            tfr.mask[0]
            & ((seen_depth - point[..., 2]).abs() < depth_tol)
            & ((normal * view).sum(-1) > facing)
            & (in_sil > 0.5)
        )
    filled = diffuse_fill(colour.permute(1, 2, 0).numpy(), known.numpy())
    return torch.from_numpy(filled).permute(2, 0, 1).float().clamp(-1, 1), known


def render_textured(
    rig: HeadRigBackbone,
    camera_vertices: Tensor,
    texture: Tensor,
    size: int,
    view: Tensor | None = None,
    background: float = 1.0,
    toon: bool = False,
) -> dict[str, Tensor]:
    """Unlit (the texture holds the photo's light) or toon-shaded render ``[1, 3, S, S]`` with depth, mask, normals.

    ``view`` ``[1, 6]`` (radians, about depth 1) turns the head; ``toon`` flattens the texture
    (:func:`~toonlift.functional.toon_shading.cartoon_texture`), multiplies two-band Lambert light from the upper
    left and draws the silhouette dark."""
    r = MeshRenderer(image_size=size, fov=FOV_DEG, shading="none", background=(background,) * 3)
    if toon:
        texture = cartoon_texture(texture)
    out = r(camera_vertices[None].float(), rig.faces, uv=rig.uv[None].float(), texture=texture[None], view=view)
    image = out.image
    if toon:
        light = F.normalize(torch.tensor([-0.4, -0.5, -1.0]), dim=0)
        shade = toon_shade(out.normals, light, bands=2, ambient=0.8)[:, None]  # [1, 1, S, S]
        lit = ((out.albedo + 1) / 2 * shade) * 2 - 1
        lit = torch.where(outline_mask(out.normals, out.mask, 0.2)[:, None], torch.full_like(lit, -0.85), lit)
        image = out.mask * lit + (1 - out.mask) * background
    depth = torch.where(out.mask > 0, out.depth, torch.zeros_like(out.depth))
    return {"image": image, "depth": depth, "mask": out.mask, "normals": out.normals}


__all__ = ["bake_texture", "head_region", "refit_eyeballs", "render_textured"]
