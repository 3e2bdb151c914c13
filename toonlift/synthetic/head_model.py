"""toonlift's built-in parametric face model: mean shape, identity basis, expression blendshapes, topology.

``vertices = mean + identity @ identity_basis + expression @ expression_basis`` (a linear 3DMM), in object space
(head units: ``x`` image right = the subject's left, ``y`` up, ``z`` toward the viewer; the skull half-height is 1).

The mesh has four closed components: skin (a warped sphere, most vertices on the face), hair shell, two eyeballs
(sclera, iris, pupil rings around the gaze axis ``+z``) and a neck capsule. Every vertex has a part label
(:data:`toonlift.synthetic.layout.PART_NAMES`), every triangle the majority label of its corners, and 68 vertices
are the iBUG landmarks.

Example:
    >>> model = build_head_model()
    >>> v = model.vertices(torch.zeros(1, model.num_identity), torch.zeros(1, model.num_expression))  # [1, V, 3]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.synthetic import layout as L
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES, expression_basis
from toonlift.synthetic.geometry import bump, smoothstep, sphere_grid, warped_samples
from toonlift.synthetic.head_shape import _nose, eye_centers, hair_surface, skin_surface
from toonlift.synthetic.identity_basis import IDENTITY_NAMES, identity_basis
from toonlift.synthetic.landmarks import select_landmarks

KINDS = {"skin": 0, "hair": 1, "eye_right": 2, "eye_left": 3, "neck": 4}
# Grid sizes (rings, segments) of each component per level of detail. "high" is the model (12.7k vertices);
# "low" (6.0k vertices) samples the same analytic surfaces more coarsely for fast rendering at <= 64 px.
DETAILS = {
    "high": {"skin": (84, 112), "hair": (40, 56), "eye": (14, 24), "neck": (16, 24)},
    "low": {"skin": (48, 64), "hair": (40, 56), "eye": (10, 16), "neck": (16, 24)},
}


@dataclass(frozen=True)
class HeadModel:
    """A linear face model (all tensors float32/int64 on one device).

    Attributes:
        mean: ``[V, 3]`` mean vertex positions.
        identity_basis: ``[K, V, 3]`` identity displacement per unit coefficient.
        expression_basis: ``[E, V, 3]`` expression displacement per unit weight.
        faces: ``[F, 3]`` triangles, counter-clockwise seen from outside.
        vertex_parts: ``[V]`` part label per vertex.
        face_parts: ``[F]`` part label per triangle.
        vertex_kinds: ``[V]`` component per vertex (:data:`KINDS`).
        landmarks: ``[68]`` iBUG landmark vertex indices.
        identity_names: names of the ``K`` identity coefficients.
        expression_names: names of the ``E`` expression blendshapes.
        part_names: label names (index 0 is the background of label maps).
    """

    mean: Tensor
    identity_basis: Tensor
    expression_basis: Tensor
    faces: Tensor
    vertex_parts: Tensor
    face_parts: Tensor
    vertex_kinds: Tensor
    landmarks: Tensor
    identity_names: tuple[str, ...] = IDENTITY_NAMES
    expression_names: tuple[str, ...] = EXPRESSION_NAMES
    part_names: tuple[str, ...] = L.PART_NAMES

    @property
    def num_vertices(self) -> int:
        return int(self.mean.shape[0])

    @property
    def num_identity(self) -> int:
        return int(self.identity_basis.shape[0])

    @property
    def num_expression(self) -> int:
        return int(self.expression_basis.shape[0])

    def vertices(self, identity: Tensor, expression: Tensor) -> Tensor:
        """Vertex positions ``[B, V, 3]`` of identity coefficients ``[B, K]`` and expression weights ``[B, E]``."""
        v = self.mean + torch.einsum("bk,kvc->bvc", identity.to(self.mean), self.identity_basis)
        return v + torch.einsum("be,evc->bvc", expression.to(self.mean), self.expression_basis)

    def to(self, device: torch.device | str) -> HeadModel:
        """A copy with every tensor on ``device``."""
        fields = {k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in self.__dict__.items()}
        return HeadModel(**fields)


def _grid(n_lat: int, n_lon: int, lat_gain: float, lon_gain: float) -> tuple[np.ndarray, np.ndarray]:
    lat = warped_samples(n_lat + 2, -np.pi / 2, np.pi / 2, -0.2, 0.55, lat_gain)[1:-1]
    lon = warped_samples(n_lon + 1, -np.pi, np.pi, 0.0, 0.7, lon_gain)[:-1]
    return sphere_grid(n_lat, n_lon, lat, lon)


def _skin_parts(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Part label per skin vertex from its direction and mean position."""
    x, y = p[:, 0], p[:, 1]
    front = u[:, 2] > 0.2
    parts = np.full(len(u), L.PART["skin"])
    mirrored = np.stack([np.abs(u[:, 0]), u[:, 1], u[:, 2]], 1)
    parts[bump(mirrored, (0.97, 0.0, -0.12), (0.3, 0.22, 0.2)) > 0.08] = L.PART["ears"]
    alae = bump(np.stack([np.abs(u[:, 0]), u[:, 1]], 1), (0.075, L.NOSE_TIP_UY - 0.035), (0.055, 0.045))
    base = (np.abs(u[:, 0]) < 0.115) & (u[:, 1] > L.NOSE_TIP_UY - 0.085) & (u[:, 1] < L.NOSE_TIP_UY)  # nostrils
    parts[front & ((_nose(u) > 0.045) | (alae > 0.25) | base)] = L.PART["nose"]
    brow_y = eye_centers()[0, 1] + L.BROW_LIFT
    ax = np.abs(x)
    arch = brow_y + L.BROW_ARCH * np.sin(
        np.pi * np.clip((ax - L.BROW_INNER_X) / (L.BROW_OUTER_X - L.BROW_INNER_X), 0, 1)
    )
    taper = 1.0 - 0.5 * smoothstep(L.BROW_INNER_X + 0.2, L.BROW_OUTER_X, ax)  # brows thin toward the temples
    in_brow = (np.abs(y - arch) < 0.5 * L.BROW_THICKNESS * taper) & (ax > L.BROW_INNER_X) & (ax < L.BROW_OUTER_X)
    parts[front & in_brow] = L.PART["brows"]
    dy = y - L.MOUTH_Y
    upper = (x / (1.08 * L.MOUTH_HALF_WIDTH)) ** 2 + (dy / 0.07) ** 2 < 1
    lower = (x / (1.05 * L.MOUTH_HALF_WIDTH)) ** 2 + (dy / 0.09) ** 2 < 1
    parts[front & ((upper & (dy > 0)) | (lower & (dy <= 0)))] = L.PART["lips"]
    parts[front & (np.abs(dy) < 0.016) & (ax < 0.93 * L.MOUTH_HALF_WIDTH)] = L.PART["mouth"]
    return parts


def _eyeball(center: np.ndarray, rings: int, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An eyeball looking along ``+z``: positions, triangles and labels (rings around the gaze axis)."""
    lat = warped_samples(rings + 2, -np.pi / 2, np.pi / 2, np.pi / 2, 0.5, 4.0)[1:-1]
    dirs, faces = sphere_grid(rings, segments, lat=lat)
    dirs = dirs @ np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # rotate the +y pole onto +z
    angle = np.arccos(np.clip(dirs[:, 2], -1, 1))
    labels = np.where(angle < 0.2, L.PART["pupil"], np.where(angle < 0.5, L.PART["iris"], L.PART["sclera"]))
    return center + L.EYE_RADIUS * dirs, faces, labels


def _neck(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray]:
    dirs, faces = sphere_grid(rings, segments)
    el = np.arcsin(np.clip(dirs[:, 1], -1, 1))
    t = np.abs(el) / (np.pi / 2)
    r = (1.0 - t**6) ** (1 / 6)  # a flat-ended capsule: nearly cylindrical sides
    horiz = dirs[:, [0, 2]] / np.maximum(np.linalg.norm(dirs[:, [0, 2]], axis=1, keepdims=True), 1e-9)
    rx, ry, rz = L.NECK_RADII
    pos = np.stack([rx * r * horiz[:, 0], ry * np.sign(el) * t, rz * r * horiz[:, 1]], 1) + np.asarray(L.NECK_CENTER)
    return pos, faces


def _face_labels(faces: np.ndarray, vertex_parts: np.ndarray) -> np.ndarray:
    """Majority label of each triangle's corners (the first corner's label on a three-way tie)."""
    lab = vertex_parts[faces]  # [F, 3]
    a, b, c = lab[:, 0], lab[:, 1], lab[:, 2]
    return np.where((b == c) & (b != a), b, a)


@lru_cache(maxsize=2)
def _model_arrays(detail: str) -> dict[str, np.ndarray]:
    """Every array of the model of ``detail`` in numpy float64/int (built once per process and detail)."""
    if detail not in DETAILS:
        raise ConfigError(f"Unknown head-model detail '{detail}'; choose one of {', '.join(DETAILS)}.")
    g = DETAILS[detail]
    skin_dirs, skin_faces = _grid(*g["skin"], 2.5, 2.0)
    skin = skin_surface(skin_dirs)
    hair_dirs, hair_faces = sphere_grid(*g["hair"])
    hair = hair_surface(hair_dirs)
    hair_anchor = skin_surface(hair_dirs)
    centers = eye_centers()
    eye_r, eye_faces, eye_r_lab = _eyeball(centers[0], *g["eye"])
    eye_l, _, eye_l_lab = _eyeball(centers[1], *g["eye"])
    neck, neck_faces = _neck(*g["neck"])

    blocks = [skin, hair, eye_r, eye_l, neck]
    kinds_list = ["skin", "hair", "eye_right", "eye_left", "neck"]
    topo = [skin_faces, hair_faces, eye_faces, eye_faces, neck_faces]
    offsets = np.cumsum([0] + [len(b) for b in blocks])
    mean = np.concatenate(blocks)
    faces = np.concatenate([f + o for f, o in zip(topo, offsets[:-1])])
    kind = np.concatenate([np.full(len(b), KINDS[k]) for b, k in zip(blocks, kinds_list)])
    anchor = np.concatenate(
        [skin, hair_anchor, np.repeat(centers[:1], len(eye_r), 0), np.repeat(centers[1:], len(eye_l), 0), neck]
    )
    dirs = np.concatenate([skin_dirs, hair_dirs, np.zeros((len(eye_r) + len(eye_l) + len(neck), 3))])
    parts = np.concatenate(
        [
            _skin_parts(skin_dirs, skin),
            np.full(len(hair), L.PART["hair"]),
            eye_r_lab,
            eye_l_lab,
            np.full(len(neck), L.PART["neck"]),
        ]
    )
    id_basis = identity_basis(anchor, mean, kind, hair_dirs=dirs)
    movable = np.concatenate(
        [np.ones(len(skin)), 1.0 - L.hair_mask(hair_dirs), np.zeros(len(eye_r) + len(eye_l) + len(neck))]
    )
    exp_basis = expression_basis(anchor, movable)
    lms = select_landmarks(np.arange(len(skin)), skin_dirs, skin)
    arrays = dict(
        mean=mean,
        anchor=anchor,
        movable=movable,
        identity_basis=id_basis,
        expression_basis=exp_basis,
        faces=faces,
        vertex_parts=parts,
        vertex_kinds=kind,
        landmarks=lms,
    )
    for a in arrays.values():
        a.setflags(write=False)  # shared by every caller of the cache
    return arrays


def model_anchors(detail: str = "high") -> tuple[np.ndarray, np.ndarray]:
    """The points the bases are evaluated at and the expression mask: ``(anchor [V, 3], movable [V])`` (float64).

    ``anchor`` is the mean skin position under each skin and hair-shell vertex, the eyeball centre for eyeball
    vertices and the vertex itself on the neck; ``movable`` is 1 on skin, ``1 - hair mask`` on the hair shell and 0
    on eyeballs and neck (see :func:`toonlift.synthetic.expression_basis.expression_basis`)."""
    a = _model_arrays(detail)
    return a["anchor"], a["movable"]


def eye_regions(detail: str = "high") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(eyeballs, rings)``: vertex indices of each eyeball and of the skin ring of lids around its opening
    (subject's right eye first). The ring is the skin in front of the eyeball within twice the almond opening."""
    from toonlift.synthetic.head_shape import almond_distance

    a = _model_arrays(detail)
    mean, kind = a["mean"], a["vertex_kinds"]
    balls, rings = [], []
    for c, name in zip(eye_centers(), ("eye_right", "eye_left")):
        balls.append(np.nonzero(kind == KINDS[name])[0])
        near = (almond_distance(mean, c) < 2.0) & (mean[:, 2] > c[2]) & (np.abs(mean[:, 0] - c[0]) < 0.2)
        rings.append(np.nonzero(near & (kind == KINDS["skin"]))[0])
    return balls, rings


@lru_cache(maxsize=2)
def build_head_model(detail: str = "high") -> HeadModel:
    """Build (once per process and detail, ~1 s) the head model on CPU.

    Args:
        detail: ``"high"`` (the face model, 12.7k vertices) or ``"low"`` (6.0k vertices, same surfaces, same
            coefficients and landmarks, for rendering at 64 px and below).
    """
    a = _model_arrays(detail)

    def f32(x: np.ndarray) -> Tensor:
        return torch.from_numpy(np.array(x, dtype=np.float32))

    def i64(x: np.ndarray) -> Tensor:
        return torch.from_numpy(np.array(x, dtype=np.int64))

    return HeadModel(
        mean=f32(a["mean"]),
        identity_basis=f32(a["identity_basis"]),
        expression_basis=f32(a["expression_basis"]),
        faces=i64(a["faces"]),
        vertex_parts=i64(a["vertex_parts"]),
        face_parts=i64(_face_labels(a["faces"], a["vertex_parts"])),
        vertex_kinds=i64(a["vertex_kinds"]),
        landmarks=i64(a["landmarks"]),
    )
