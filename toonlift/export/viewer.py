"""An offline HTML viewer for a GLB with morph targets: orbit controls, one slider per expression, a driven animation.

The page is one self-contained file. three.js (vendored from npm into ``toonlift/assets/viewer/`` with its MIT
licence, see ``three.json``) is inlined through an import map of ``data:`` URLs, because Chromium blocks ES-module
imports from ``file://``; the GLB is inlined as base64 and parsed with ``GLTFLoader.parse``. Opening it needs no
network and no server.

Animation file (``animation.json`` beside the GLB, or passed in): ``{"fps": 25, "names": [target, ...],
"weights": [[w per name] per frame]}`` with weights in ``[0, 1]``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from toonlift.errors import DataError
from toonlift.export.gltf_morph import load_morph_glb
from toonlift.utils.io import PathLike, atomic_write_text, require_file

# (import-map name, vendored file, [(specifier in the file, import-map name it becomes)]): relative specifiers cannot
# resolve against a data: URL, so each one is rewritten to a bare name the import map knows
_MODULES = (
    ("three/core", "three.core.min.js", []),
    ("three", "three.module.min.js", [('"./three.core.min.js"', '"three/core"')]),
    ("three/addons/BufferGeometryUtils", "BufferGeometryUtils.js", []),
    ("three/addons/SkeletonUtils", "SkeletonUtils.js", []),
    ("three/addons/OrbitControls", "OrbitControls.js", []),
    (
        "three/addons/GLTFLoader",
        "GLTFLoader.js",
        [
            ("'../utils/BufferGeometryUtils.js'", "'three/addons/BufferGeometryUtils'"),
            ("'../utils/SkeletonUtils.js'", "'three/addons/SkeletonUtils'"),
        ],
    ),
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #20232a; color: #ddd; font: 13px sans-serif; }}
  #view {{ position: absolute; left: 0; top: 0; width: calc(100% - 260px); height: 100%; display: block; }}
  #panel {{ position: absolute; right: 0; top: 0; width: 250px; height: 100%; overflow-y: auto; padding: 5px; }}
  #panel label {{ display: block; white-space: nowrap; }}
  #panel input[type=range] {{ width: 120px; vertical-align: middle; }}
</style>
<script type="importmap">{importmap}</script>
</head>
<body>
<canvas id="view"></canvas>
<div id="panel">
  <div><b>{title}</b></div>
  <div id="status">loading…</div>
  <div><button id="play">play</button> <span id="frame"></span></div>
  <div id="sliders"></div>
  <div style="margin-top: 8px; opacity: 0.6">drag: orbit · wheel: zoom · right-drag: pan. three.js (MIT).</div>
</div>
<script type="application/octet-stream" id="glb">{glb}</script>
<script type="application/json" id="animation">{animation}</script>
<script type="module">{viewer}</script>
</body>
</html>
"""


ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "viewer"


def _asset(name: str) -> str:
    return (ASSET_DIR / name).read_text(encoding="utf-8")


def import_map() -> dict:
    """The import map of the vendored three.js modules as ``data:`` URLs (specifiers rewritten to bare names).

    Raises:
        DataError: a vendored file no longer contains a specifier it is expected to (a changed three.js build).
    """
    imports = {}
    for name, file, rewrites in _MODULES:
        text = _asset(file)
        for old, new in rewrites:
            if old not in text:
                raise DataError(
                    f"The vendored {file} does not import {old}; the three.js files in toonlift/assets/viewer/ "
                    "changed. Update the rewrites in toonlift/export/viewer.py to match the new build."
                )
            text = text.replace(old, new)
        imports[name] = "data:text/javascript;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {"imports": imports}


def check_animation(animation: dict, target_names: list[str]) -> dict:
    """Validate a per-frame weights dict against the GLB's target names; returns it with float weights.

    Raises:
        DataError: a name is not a target, a frame has the wrong length, fps is not positive or there are no frames.
    """
    names = list(animation.get("names", []))
    weights = animation.get("weights", [])
    fps = float(animation.get("fps", 0))
    unknown = sorted(set(names) - set(target_names))
    if unknown or not names:
        raise DataError(f"Animation names {unknown or names} are not morph targets of the avatar ({target_names}).")
    if fps <= 0 or not weights or any(len(w) != len(names) for w in weights):
        raise DataError(
            f"An animation needs fps > 0 and frames of {len(names)} weights each (one per name); got fps {fps} and "
            f"{len(weights)} frames."
        )
    return {"fps": fps, "names": names, "weights": [[float(v) for v in w] for w in weights]}


def viewer_html(glb: bytes, target_names: list[str], animation: dict | None = None, title: str = "toonlift") -> str:
    """The self-contained viewer page for the GLB file content ``glb``."""
    anim = "" if animation is None else json.dumps(check_animation(animation, target_names))
    return _PAGE.format(
        title=title,
        importmap=json.dumps(import_map()),
        glb=base64.b64encode(glb).decode("ascii"),
        animation=anim.replace("</", "<\\/"),
        viewer=_asset("viewer.js"),
    )


def write_viewer(
    glb_path: PathLike,
    out: PathLike | None = None,
    animation: dict | None = None,
    title: str = "toonlift avatar",
    names: list[str] | None = None,
) -> Path:
    """Write ``viewer.html`` (default: next to the GLB) for ``glb_path``.

    Args:
        glb_path: a GLB with morph targets (:func:`toonlift.export.gltf_morph.save_morph_glb`).
        out: the HTML path; default ``<glb folder>/viewer.html``.
        animation: per-frame weights (module docstring); default: ``animation.json`` beside the GLB when present.
        title: the page title.
        names: the GLB's target names when the caller has them (reading a large GLB back with pygltflib takes
            seconds); ``None`` reads them from the file.
    """
    glb_path = require_file(Path(glb_path), "avatar GLB", "Write it with toonlift.export.gltf_morph.save_morph_glb.")
    names = load_morph_glb(glb_path).names if names is None else list(names)
    side = glb_path.with_name("animation.json")
    if animation is None and side.is_file():
        animation = json.loads(side.read_text())
    out = Path(out) if out is not None else glb_path.with_name("viewer.html")
    atomic_write_text(out, viewer_html(glb_path.read_bytes(), names, animation, title))
    return out
