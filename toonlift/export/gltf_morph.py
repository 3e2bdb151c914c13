"""Binary glTF (GLB) with named morph targets, written and read with ``pygltflib``.

trimesh writes meshes but not morph targets (trimesh#2026), so an animatable avatar needs its own writer. The file
holds one mesh with one primitive: ``POSITION``, ``NORMAL``, optional ``TEXCOORD_0`` (+ an embedded PNG texture) or
``COLOR_0``, ``uint32`` indices, and one morph target per expression with ``POSITION`` deltas (and ``NORMAL`` deltas
when given). Target names go to ``mesh.extras.targetNames``, where three.js's ``GLTFLoader`` reads them into
``mesh.morphTargetDictionary``; the default weights are ``mesh.weights``.

Coordinates are the export frame of :mod:`toonlift.export.mesh_export` (``+Y`` up, ``+Z`` towards the viewer). UVs
are given in the OBJ convention (``v`` up) and stored as glTF's (``v`` down): ``v_gltf = 1 - v``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from toonlift.errors import DataError, NonFiniteError
from toonlift.export.mesh_export import TexturedMesh
from toonlift.utils.io import PathLike, atomic_write_bytes

_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT = 5126
_UNSIGNED_BYTE = 5121
_UNSIGNED_INT = 5125


@dataclass
class MorphMesh:
    """A mesh with named morph targets: ``mesh`` is the neutral shape, ``targets[k]`` the offsets of ``names[k]``.

    Attributes:
        mesh: the neutral :class:`TexturedMesh` (export frame).
        targets: ``[T, V, 3]`` float32 position offsets, one per target.
        names: ``T`` unique target names.
        normal_targets: ``[T, V, 3]`` float32 normal offsets, or ``None``.
        weights: ``[T]`` default weights (zeros when not given).
    """

    mesh: TexturedMesh
    targets: np.ndarray
    names: list[str]
    normal_targets: np.ndarray | None = None
    weights: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        v = len(self.mesh.vertices)
        self.targets = np.asarray(self.targets, dtype=np.float32)
        if self.targets.ndim != 3 or self.targets.shape[1:] != (v, 3):
            raise DataError(f"Morph targets must be [T, {v}, 3] (one offset per vertex); got {self.targets.shape}.")
        if len(self.names) != len(self.targets) or len(set(self.names)) != len(self.names):
            raise DataError(
                f"Morph targets need one unique name each: {len(self.targets)} targets, names {list(self.names)}."
            )
        if not np.isfinite(self.targets).all():
            raise NonFiniteError("Morph target offsets contain NaN or infinite values.")
        if self.normal_targets is not None:
            self.normal_targets = np.asarray(self.normal_targets, dtype=np.float32)
            if self.normal_targets.shape != self.targets.shape:
                raise DataError(f"normal_targets must be {self.targets.shape}; got {self.normal_targets.shape}.")
        self.weights = (
            np.zeros(len(self.targets), np.float32) if self.weights is None else np.asarray(self.weights, np.float32)
        )
        if self.weights.shape != (len(self.targets),):
            raise DataError(f"weights must be [{len(self.targets)}]; got {self.weights.shape}.")


class _Packer:
    """Appends aligned arrays to one binary buffer and records a bufferView + accessor for each."""

    def __init__(self, gltf) -> None:  # gltf: pygltflib.GLTF2
        self.gltf = gltf
        self.blob = bytearray()

    def view(self, data: bytes, target: int | None = None) -> int:
        import pygltflib as g

        while len(self.blob) % 4:  # every accessor offset must be a multiple of its component size (4 here)
            self.blob.append(0)
        self.gltf.bufferViews.append(
            g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None, bounds: bool = False, normalized=False) -> int:
        import pygltflib as g

        ctype = {np.float32: _FLOAT, np.uint8: _UNSIGNED_BYTE, np.uint32: _UNSIGNED_INT}[array.dtype.type]
        view = self.view(np.ascontiguousarray(array).tobytes(), target)
        acc = g.Accessor(
            bufferView=view,
            componentType=ctype,
            count=int(array.shape[0]) if array.ndim > 1 else int(array.size),
            type=kind,
            normalized=True if normalized else None,
        )
        if bounds:  # required for POSITION and for morph-target POSITION accessors
            acc.min = [float(x) for x in array.reshape(len(array), -1).min(0)]
            acc.max = [float(x) for x in array.reshape(len(array), -1).max(0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def sparse_accessor(self, array: np.ndarray, rows: np.ndarray, bounds: bool = False) -> int:
        """A ``VEC3`` float accessor of ``array`` ``[V, 3]`` storing only ``rows`` (the others read as zero)."""
        import pygltflib as g

        indices = self.view(rows.astype(np.uint32).tobytes())
        values = self.view(np.ascontiguousarray(array[rows], dtype=np.float32).tobytes())
        acc = g.Accessor(
            componentType=_FLOAT,
            count=int(len(array)),
            type=g.VEC3,
            sparse=g.Sparse(
                count=int(len(rows)),
                indices=g.AccessorSparseIndices(bufferView=indices, componentType=_UNSIGNED_INT),
                values=g.AccessorSparseValues(bufferView=values),
            ),
        )
        if bounds:
            acc.min = [float(x) for x in array.min(0)]
            acc.max = [float(x) for x in array.max(0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1


def glb_bytes(morph: MorphMesh, sparse: bool = True) -> bytes:
    """The GLB file content of ``morph`` (see the module docstring for the layout).

    With ``sparse``, a target whose offsets are zero on most vertices is stored as a glTF sparse accessor (the
    vertices it moves, with their offsets): a face rig's templates are local, so this shrinks the file several
    times. Offsets below ``1e-7`` head units count as zero.
    """
    import pygltflib as g

    m = morph.mesh
    gltf = g.GLTF2(asset=g.Asset(generator="toonlift", version="2.0"))
    pack = _Packer(gltf)
    attrs = g.Attributes(
        POSITION=pack.accessor(m.vertices.astype(np.float32), g.VEC3, _ARRAY_BUFFER, bounds=True),
        NORMAL=pack.accessor(m.normals.astype(np.float32), g.VEC3, _ARRAY_BUFFER),
    )
    material = g.Material(
        pbrMetallicRoughness=g.PbrMetallicRoughness(metallicFactor=0.0, roughnessFactor=1.0), doubleSided=False
    )
    if m.uv is not None:
        uv = np.stack([m.uv[:, 0], 1.0 - m.uv[:, 1]], 1).astype(np.float32)  # OBJ v-up -> glTF v-down
        attrs.TEXCOORD_0 = pack.accessor(uv, g.VEC2, _ARRAY_BUFFER)
        png = io.BytesIO()
        Image.fromarray(m.texture).save(png, format="PNG")
        gltf.images.append(g.Image(bufferView=pack.view(png.getvalue()), mimeType="image/png"))
        gltf.samplers.append(g.Sampler(magFilter=9729, minFilter=9987, wrapS=33071, wrapT=33071))
        gltf.textures.append(g.Texture(sampler=0, source=0))
        material.pbrMetallicRoughness.baseColorTexture = g.TextureInfo(index=0)
    elif m.vertex_colors is not None:
        colors = np.ascontiguousarray(m.vertex_colors[:, :3], dtype=np.uint8)
        # glTF wants each vertex's element 4-byte aligned: pad RGB to RGBA (alpha 255)
        rgba = np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], 1)
        attrs.COLOR_0 = pack.accessor(rgba, g.VEC4, _ARRAY_BUFFER, normalized=True)
    indices = pack.accessor(m.faces.astype(np.uint32).reshape(-1), g.SCALAR, _ELEMENT_ARRAY_BUFFER)
    targets = []
    nv = len(m.vertices)
    for k in range(len(morph.targets)):
        arrays = {"POSITION": morph.targets[k]}
        if morph.normal_targets is not None:
            arrays["NORMAL"] = morph.normal_targets[k]
        moved = np.zeros(nv, bool)
        for a in arrays.values():
            moved |= np.abs(a).max(1) > 1e-7
        rows = np.nonzero(moved)[0]
        if sparse and len(rows) * 16 < nv * 12:  # 4-byte index + 12-byte value per stored vertex vs 12 per vertex
            t = {n: pack.sparse_accessor(a, rows, bounds=n == "POSITION") for n, a in arrays.items()}
        else:
            t = {n: pack.accessor(a, g.VEC3, _ARRAY_BUFFER, bounds=n == "POSITION") for n, a in arrays.items()}
        targets.append(t)
    gltf.materials.append(material)
    primitive = g.Primitive(attributes=attrs, indices=indices, material=0, mode=4, targets=targets or None)
    gltf.meshes.append(
        g.Mesh(
            name="avatar",
            primitives=[primitive],
            weights=[float(w) for w in morph.weights] if targets else None,
            extras={"targetNames": list(morph.names)},
        )
    )
    gltf.nodes.append(g.Node(name="avatar", mesh=0))
    gltf.scenes.append(g.Scene(nodes=[0]))
    gltf.scene = 0
    gltf.buffers.append(g.Buffer(byteLength=len(pack.blob)))
    gltf.set_binary_blob(bytes(pack.blob))
    return b"".join(gltf.save_to_bytes())


def save_morph_glb(morph: MorphMesh, path: PathLike, sparse: bool = True) -> Path:
    """Write ``morph`` as a GLB (temporary name, then rename; ``sparse`` as in :func:`glb_bytes`). Returns the path."""
    atomic_write_bytes(path, glb_bytes(morph, sparse))
    return Path(path)


def _read_accessor(gltf, blob: bytes, index: int) -> np.ndarray:
    import pygltflib as g

    acc = gltf.accessors[index]
    dtype = {_FLOAT: np.float32, _UNSIGNED_BYTE: np.uint8, _UNSIGNED_INT: np.uint32}[acc.componentType]
    width = {g.SCALAR: 1, g.VEC2: 2, g.VEC3: 3, g.VEC4: 4}[acc.type]

    def raw(view_index: int, offset: int, count: int, dt) -> np.ndarray:
        start = (gltf.bufferViews[view_index].byteOffset or 0) + offset
        return np.frombuffer(blob, dtype=dt, count=count, offset=start)

    if acc.bufferView is None:
        data = np.zeros(acc.count * width, dtype)  # a sparse accessor without a base view starts from zeros
    else:
        data = raw(acc.bufferView, acc.byteOffset or 0, acc.count * width, dtype).copy()
    if acc.sparse is not None:
        sp = acc.sparse
        itype = {_UNSIGNED_INT: np.uint32, 5123: np.uint16, _UNSIGNED_BYTE: np.uint8}[sp.indices.componentType]
        rows = raw(sp.indices.bufferView, sp.indices.byteOffset or 0, sp.count, itype).astype(np.int64)
        values = raw(sp.values.bufferView, sp.values.byteOffset or 0, sp.count * width, dtype)
        data = data.reshape(acc.count, width)
        data[rows] = values.reshape(sp.count, width)
    return data.reshape(acc.count, width) if width > 1 else data.reshape(-1)


def load_morph_glb(path: PathLike) -> MorphMesh:
    """Read a GLB written by :func:`save_morph_glb` back (first mesh, first primitive, tightly packed views).

    Raises:
        DataError: the file has no mesh, or its primitive lacks positions or indices.
    """
    import pygltflib as g

    gltf = g.GLTF2().load_binary(str(path))
    blob = gltf.binary_blob()
    if not gltf.meshes or not gltf.meshes[0].primitives:
        raise DataError(f"{path} holds no mesh; write it with toonlift.export.gltf_morph.save_morph_glb.")
    mesh = gltf.meshes[0]
    prim = mesh.primitives[0]
    if prim.attributes.POSITION is None or prim.indices is None:
        raise DataError(f"The mesh in {path} has no positions or no indices.")
    vertices = _read_accessor(gltf, blob, prim.attributes.POSITION).copy()
    normals = _read_accessor(gltf, blob, prim.attributes.NORMAL).copy()
    faces = _read_accessor(gltf, blob, prim.indices).astype(np.int64).reshape(-1, 3)
    uv = texture = colors = None
    if prim.attributes.TEXCOORD_0 is not None:
        raw = _read_accessor(gltf, blob, prim.attributes.TEXCOORD_0)
        uv = np.stack([raw[:, 0], 1.0 - raw[:, 1]], 1).astype(np.float32)
        view = gltf.bufferViews[gltf.images[0].bufferView]
        png = blob[view.byteOffset : view.byteOffset + view.byteLength]
        texture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    if prim.attributes.COLOR_0 is not None:
        colors = _read_accessor(gltf, blob, prim.attributes.COLOR_0)[:, :3].copy()
    targets = [_read_accessor(gltf, blob, t["POSITION"]) for t in prim.targets or []]
    normal_targets = [_read_accessor(gltf, blob, t["NORMAL"]) for t in prim.targets or [] if "NORMAL" in t]
    v = len(vertices)
    names = list((mesh.extras or {}).get("targetNames", [f"target_{k}" for k in range(len(targets))]))
    return MorphMesh(
        mesh=TexturedMesh(vertices, faces, normals, uv=uv, texture=texture, vertex_colors=colors),
        targets=np.stack(targets) if targets else np.zeros((0, v, 3), np.float32),
        names=names,
        normal_targets=np.stack(normal_targets) if normal_targets and len(normal_targets) == len(targets) else None,
        weights=np.asarray(mesh.weights, np.float32) if mesh.weights else None,
    )


def morph_mesh_from_offsets(
    mesh: TexturedMesh, offsets: np.ndarray, names: list[str], with_normals: bool = True, prune: float = 0.0
) -> MorphMesh:
    """A :class:`MorphMesh` from a neutral mesh and ``[T, V, 3]`` position offsets; with ``with_normals`` each
    target also carries the change of the vertex normals at full weight (so lighting follows the expression).

    ``prune`` zeroes the offsets (and normal changes) of vertices that move less than that in every coordinate, so
    sparse targets stay small: a global solve such as deformation transfer leaves tiny offsets everywhere.
    """
    import torch

    from toonlift.functional.shading import vertex_normals

    offsets = np.asarray(offsets, np.float32)
    normal_targets = None
    if with_normals and len(offsets):
        base = torch.from_numpy(mesh.vertices.astype(np.float32))
        moved = base[None] + torch.from_numpy(offsets)  # [T, V, 3]
        faces = torch.from_numpy(mesh.faces.astype(np.int64))
        normal_targets = (vertex_normals(moved, faces) - vertex_normals(base[None], faces)).numpy()
    if prune > 0:
        offsets = np.where(np.abs(offsets).max(-1, keepdims=True) < prune, 0.0, offsets).astype(np.float32)
        if normal_targets is not None:
            small = np.abs(normal_targets).max(-1, keepdims=True) < prune
            normal_targets = np.where(small, 0.0, normal_targets).astype(np.float32)
    return MorphMesh(mesh=mesh, targets=offsets, names=list(names), normal_targets=normal_targets)
