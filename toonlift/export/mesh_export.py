"""Mesh export: a depth map + texture -> a textured mesh; any textured mesh -> OBJ + MTL + PNG, GLB or PLY.

Export frame (what viewers expect: Blender, MeshLab, three.js, glTF): right-handed, ``+Y`` up, ``+Z`` towards the
viewer. A toonlift camera-space point ``(X, Y, Z)`` (``+Y`` down, ``+Z`` away from the camera) becomes
``scale * (X, -Y, rot_center_depth - Z)``: two axes flip, so handedness and counter-clockwise winding are kept and
the face seen by the camera faces the viewer (``+Z``). The reference GAN2Shape exporter does the same
(``y -> -y``, ``z -> 1 - z``, scale 100).

UVs follow OBJ (``v`` up; row 0 of the texture image is ``v = 1``). For a depth map, the vertex of pixel
``(row i, col j)`` gets ``(u, v) = ((j + 0.5) / W, 1 - (i + 0.5) / H)``, the centre of its own texel, so the texture
is the canonical image itself. GLB stores ``v`` downwards; trimesh flips it on export and import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from toonlift.errors import DataError, NonFiniteError
from toonlift.functional.depth_map import grid_faces
from toonlift.functional.shading import depth_to_points, vertex_normals
from toonlift.utils.io import PathLike, atomic_path, atomic_write_bytes, atomic_write_text


@dataclass
class TexturedMesh:
    """A triangle mesh in the export frame (``+Y`` up, ``+Z`` towards the viewer), as numpy arrays.

    Attributes:
        vertices: ``[V, 3]`` float32 positions.
        faces: ``[F, 3]`` int64, counter-clockwise seen from outside.
        normals: ``[V, 3]`` float32 unit outward vertex normals.
        uv: ``[V, 2]`` float32 texture coordinates (OBJ convention, ``v`` up) or ``None``.
        texture: ``[Ht, Wt, 3]`` uint8 texture image (row 0 = top) or ``None``.
        vertex_colors: ``[V, 3]`` uint8 colours or ``None``.
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3 or len(self.vertices) == 0:
            raise DataError(f"A mesh needs [V, 3] vertices with V > 0; got shape {self.vertices.shape}.")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or len(self.faces) == 0:
            raise DataError(f"A mesh needs [F, 3] faces with F > 0; got shape {self.faces.shape}.")
        if not np.isfinite(self.vertices).all():
            raise NonFiniteError("Mesh vertices contain NaN or infinite values; check the depth map or the model.")
        if self.faces.min() < 0 or self.faces.max() >= len(self.vertices):
            raise DataError("Mesh faces index vertices that do not exist.")
        if self.uv is not None and self.uv.shape != (len(self.vertices), 2):
            raise DataError(f"uv must be [V, 2] = [{len(self.vertices)}, 2]; got {self.uv.shape}.")
        if (self.uv is None) != (self.texture is None):
            raise DataError("A textured mesh needs both uv and texture (or neither).")


def texture_to_uint8(image: Tensor) -> np.ndarray:
    """``[C, H, W]`` float image in ``[-1, 1]`` (toonlift convention) to ``[H, W, 3]`` uint8."""
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise DataError(f"A texture must be [1 or 3, H, W] in [-1, 1]; got {tuple(image.shape)}.")
    if not torch.isfinite(image).all():
        raise NonFiniteError("The texture contains NaN or infinite values.")
    x = image.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.expand(3, -1, -1).permute(1, 2, 0).numpy().copy()


def camera_to_export_frame(points: Tensor, rot_center_depth: float = 1.0, scale: float = 1.0) -> Tensor:
    """Camera frame (``+Y`` down, ``+Z`` forward) to export frame: ``scale * (X, -Y, rot_center_depth - Z)``."""
    return torch.stack([points[..., 0], -points[..., 1], rot_center_depth - points[..., 2]], dim=-1) * scale


def mesh_from_tensors(
    vertices: Tensor,
    faces: Tensor,
    uv: Tensor | None = None,
    texture: Tensor | None = None,
    vertex_colors: Tensor | None = None,
) -> TexturedMesh:
    """Wrap any mesh already in the export frame (``[V, 3]``, ``[F, 3]``, optional ``[V, 2]`` UVs + ``[C, Ht, Wt]``
    texture in ``[-1, 1]``, or ``[V, 3]`` colours in ``[-1, 1]``) into a :class:`TexturedMesh` with normals."""
    v = vertices.detach().float().cpu()
    f = faces.detach().long().cpu()
    n = vertex_normals(v[None], f)[0]
    colors = None
    if vertex_colors is not None:
        colors = vertex_colors.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).numpy()
    return TexturedMesh(
        vertices=v.numpy(),
        faces=f.numpy(),
        normals=n.numpy(),
        uv=None if uv is None else uv.detach().float().cpu().numpy(),
        texture=None if texture is None else texture_to_uint8(texture),
        vertex_colors=colors,
    )


def depth_map_to_mesh(
    depth: Tensor,
    intrinsics: Tensor,
    texture: Tensor | None = None,
    mask: Tensor | None = None,
    rot_center_depth: float = 1.0,
    scale: float = 1.0,
) -> TexturedMesh:
    """Turn a canonical depth map (and its image) into a textured grid mesh in the export frame.

    Args:
        depth: ``[H, W]`` camera depth.
        intrinsics: ``[3, 3]`` camera ``K`` of the depth map (``fov_to_intrinsics``).
        texture: ``[C, H, W]`` image in ``[-1, 1]`` aligned with the depth map (e.g. the canonical image), or ``None``.
        mask: ``[H, W]`` bool; only triangles whose three pixels are in the mask are kept.
        rot_center_depth: camera depth that becomes ``z = 0`` (the rotation pivot).
        scale: multiplies the coordinates (the reference exporter uses 100).
    """
    if depth.dim() != 2 or min(depth.shape) < 2:
        raise DataError(f"depth must be [H, W] with H, W >= 2; got {tuple(depth.shape)}.")
    if not torch.isfinite(depth).all():
        raise NonFiniteError("The depth map contains NaN or infinite values.")
    if (depth <= 0).any():
        raise DataError("The depth map has values <= 0; depth is the distance in front of the camera.")
    H, W = depth.shape
    d = depth.detach().float().cpu()
    pts = depth_to_points(d[None], intrinsics.float().cpu())[0].reshape(-1, 3)  # [H*W, 3]
    verts = camera_to_export_frame(pts, rot_center_depth, scale)
    faces = grid_faces(H, W)
    jj, ii = torch.meshgrid(torch.arange(W), torch.arange(H), indexing="xy")
    uv = torch.stack([(jj.float() + 0.5) / W, 1.0 - (ii.float() + 0.5) / H], dim=-1).reshape(-1, 2)
    if mask is not None:
        keep = mask.detach().cpu().bool().reshape(-1)[faces].all(1)
        faces = faces[keep]
        if faces.numel() == 0:
            raise DataError("The mask leaves no triangle of the depth map to export.")
        used = torch.zeros(H * W, dtype=torch.bool)
        used[faces.reshape(-1)] = True
        remap = torch.cumsum(used.long(), 0) - 1
        faces = remap[faces]
        verts, uv = verts[used], uv[used]
    if texture is not None and tuple(texture.shape[1:]) != (H, W):
        raise DataError(f"texture must be [C, {H}, {W}] to match the depth map; got {tuple(texture.shape)}.")
    return mesh_from_tensors(verts, faces, uv if texture is not None else None, texture)


# ---------------------------------------------------------------------------------------------- writers
def save_obj(mesh: TexturedMesh, path: PathLike) -> list[Path]:
    """Write ``name.obj`` (+ ``name.mtl`` and ``name.png`` when textured). Returns the written paths."""
    path = Path(path)
    written = []
    lines = [f"# toonlift mesh: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces"]
    textured = mesh.texture is not None
    if textured:
        lines += [f"mtllib {path.stem}.mtl", "usemtl material0"]
    if mesh.vertex_colors is not None:  # the common "v x y z r g b" extension (MeshLab, Blender)
        rgb = mesh.vertex_colors[:, :3].astype(np.float32) / 255.0
        lines += [
            f"v {a:.7g} {b:.7g} {c:.7g} {r:.4f} {g:.4f} {bl:.4f}" for (a, b, c), (r, g, bl) in zip(mesh.vertices, rgb)
        ]
    else:
        lines += [f"v {a:.7g} {b:.7g} {c:.7g}" for a, b, c in mesh.vertices]
    if textured:
        lines += [f"vt {u:.7g} {v:.7g}" for u, v in mesh.uv]
    lines += [f"vn {a:.6f} {b:.6f} {c:.6f}" for a, b, c in mesh.normals]
    f1 = mesh.faces + 1  # OBJ indices are 1-based; one index for v, vt and vn (they are per vertex)
    if textured:
        lines += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in f1]
    else:
        lines += [f"f {a}//{a} {b}//{b} {c}//{c}" for a, b, c in f1]
    if textured:
        png = path.with_suffix(".png")
        with atomic_path(png) as tmp:
            Image.fromarray(mesh.texture).save(tmp, format="PNG")
        mtl = path.with_suffix(".mtl")
        atomic_write_text(
            mtl,
            "newmtl material0\nKa 1.000 1.000 1.000\nKd 1.000 1.000 1.000\nKs 0.000 0.000 0.000\n"
            f"d 1.0\nillum 1\nmap_Kd {png.name}\n",
        )
        written += [png, mtl]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return [path, *written]


def to_trimesh(mesh: TexturedMesh):  # -> trimesh.Trimesh (imported lazily: trimesh is slow to import)
    """The mesh as a ``trimesh.Trimesh`` with its texture or vertex colours, vertex order kept."""
    import trimesh
    from trimesh.visual import ColorVisuals, TextureVisuals
    from trimesh.visual.material import PBRMaterial

    if mesh.texture is not None:
        material = PBRMaterial(baseColorTexture=Image.fromarray(mesh.texture), metallicFactor=0.0, roughnessFactor=1.0)
        visual = TextureVisuals(uv=mesh.uv, material=material)
    elif mesh.vertex_colors is not None:
        visual = ColorVisuals(vertex_colors=mesh.vertex_colors)
    else:
        visual = None
    return trimesh.Trimesh(
        vertices=mesh.vertices, faces=mesh.faces, vertex_normals=mesh.normals, visual=visual, process=False
    )


def save_glb(mesh: TexturedMesh, path: PathLike) -> Path:
    """Write a binary glTF (texture embedded)."""
    data = to_trimesh(mesh).export(file_type="glb", include_normals=True)
    atomic_write_bytes(path, data)
    return Path(path)


def save_ply(mesh: TexturedMesh, path: PathLike) -> Path:
    """Write a binary PLY with vertex normals and per-vertex colours (sampled from the texture when textured)."""
    colors = mesh.vertex_colors
    if colors is None and mesh.texture is not None:
        h, w = mesh.texture.shape[:2]
        cols = np.clip(np.floor(mesh.uv[:, 0] * w), 0, w - 1).astype(np.int64)
        rows = np.clip(np.floor((1.0 - mesh.uv[:, 1]) * h), 0, h - 1).astype(np.int64)
        colors = mesh.texture[rows, cols]
    flat = TexturedMesh(mesh.vertices, mesh.faces, mesh.normals, vertex_colors=colors)
    data = to_trimesh(flat).export(file_type="ply", encoding="binary", include_attributes=True)
    atomic_write_bytes(path, data)
    return Path(path)


def export_mesh(mesh: TexturedMesh, path: PathLike) -> list[Path]:
    """Write ``mesh`` in the format named by the suffix of ``path``: ``.obj`` (+ MTL + PNG), ``.glb`` or ``.ply``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".obj":
        return save_obj(mesh, path)
    if suffix == ".glb":
        return [save_glb(mesh, path)]
    if suffix == ".ply":
        return [save_ply(mesh, path)]
    raise DataError(f"Unknown mesh format '{suffix}' for {path}; use .obj, .glb or .ply.")
