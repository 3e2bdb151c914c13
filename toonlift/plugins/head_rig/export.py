"""Ship the rig's model as files: bases, topology and UVs in ``NAME.safetensors``, names and layout in ``NAME.json``.

The JSON sidecar is ``{"format": "toonlift.head_rig.assets", "version": 1, "detail": ..., "counts": {...},
"identity_names": [...], "expression_names": [...], "part_names": [...], "latent_layout": {group: [start, stop]},
"tensors": {name: shape}}``. Tensors: ``mean [V, 3]``, ``identity_basis [17, V, 3]``, ``expression_basis
[12, V, 3]`` (float32, head units), ``faces [F, 3]``, ``vertex_parts [V]``, ``face_parts [F]``, ``vertex_kinds [V]``,
``landmarks [68]`` (int64) and ``uv [V, 2]``. Both files are written to temporary names and renamed.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor

from toonlift.errors import CheckpointError
from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.head_rig.uv import template_uv
from toonlift.synthetic.head_model import HeadModel, build_head_model
from toonlift.utils.io import atomic_path, atomic_write_json, require_file

FORMAT = "toonlift.head_rig.assets"
VERSION = 1
_HOW = "Write them with toonlift.plugins.head_rig.export.export_rig_assets(path)."
TENSORS = (
    "mean",
    "identity_basis",
    "expression_basis",
    "faces",
    "vertex_parts",
    "face_parts",
    "vertex_kinds",
    "landmarks",
)


def export_rig_assets(path: str | Path, detail: str = "high") -> Path:
    """Write the head model of ``detail`` with its UVs to ``path`` (``.safetensors``) and its ``.json`` sidecar.

    Returns:
        The path of the ``.safetensors`` file.
    """
    model = build_head_model(detail)
    out = Path(path).with_suffix(".safetensors")
    tensors = {k: getattr(model, k).contiguous() for k in TENSORS}
    tensors["uv"] = template_uv(model.mean).contiguous()
    with atomic_path(out) as tmp:
        save_file(tensors, str(tmp))
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "detail": detail,
        "counts": {
            "vertices": model.num_vertices,
            "faces": int(model.faces.shape[0]),
            "identity": model.num_identity,
            "expression": model.num_expression,
            "landmarks": int(model.landmarks.numel()),
        },
        "identity_names": list(model.identity_names),
        "expression_names": list(model.expression_names),
        "part_names": list(model.part_names),
        "latent_layout": {k: [s.start, s.stop] for k, s in SLICES.items()},
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
        "units": "object space in head units (skull half-height 1; x right, y up, z toward the viewer)",
    }
    atomic_write_json(out.with_suffix(".json"), meta)
    return out


def load_rig_assets(path: str | Path) -> tuple[HeadModel, Tensor, dict]:
    """Load what :func:`export_rig_assets` wrote: ``(head model, uv [V, 2], sidecar dict)``.

    Raises:
        WeightsNotFoundError: a file is missing.
        CheckpointError: the sidecar is not a head-rig asset file, or a tensor is missing or has the wrong shape.
    """
    st = require_file(Path(path).with_suffix(".safetensors"), "head-rig assets", _HOW)
    side = require_file(st.with_suffix(".json"), "head-rig asset sidecar", _HOW)
    meta = json.loads(side.read_text())
    if meta.get("format") != FORMAT or int(meta.get("version", -1)) > VERSION:
        raise CheckpointError(
            f"'{side}' is not a head-rig asset sidecar of version <= {VERSION} (format '{meta.get('format')}', "
            f"version {meta.get('version')}). Re-export it with toonlift.plugins.head_rig.export.export_rig_assets."
        )
    tensors = load_file(str(st))
    for name, shape in meta["tensors"].items():
        if name not in tensors or list(tensors[name].shape) != list(shape):
            got = tuple(tensors[name].shape) if name in tensors else "missing"
            raise CheckpointError(
                f"'{st}' does not match its sidecar: tensor '{name}' should have shape {tuple(shape)}, got {got}. "
                "The two files come from different exports; export them again together."
            )
    model = HeadModel(
        **{k: tensors[k] for k in TENSORS},
        identity_names=tuple(meta["identity_names"]),
        expression_names=tuple(meta["expression_names"]),
        part_names=tuple(meta["part_names"]),
    )
    return model, tensors["uv"], meta
