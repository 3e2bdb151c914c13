"""The viewer page without a browser: everything inlined (no network at view time), animation checked."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from toonlift.errors import DataError
from toonlift.export.gltf_morph import morph_mesh_from_offsets, save_morph_glb
from toonlift.export.mesh_export import mesh_from_tensors
from toonlift.export.viewer import check_animation, import_map, write_viewer


def test_import_map_inlines_three_with_bare_specifiers() -> None:
    imports = import_map()["imports"]
    assert set(imports) >= {"three", "three/core", "three/addons/OrbitControls", "three/addons/GLTFLoader"}
    for name, url in imports.items():
        assert url.startswith("data:text/javascript;base64,")
        text = base64.b64decode(url.split(",", 1)[1]).decode()
        relative = re.findall(r"""from\s*["'](\.{1,2}/[^"']+)["']""", text)
        assert relative == [], f"{name} still imports {relative} (cannot resolve from a data: URL)"


def test_page_is_self_contained_and_carries_the_animation(tmp_path) -> None:
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    mesh = mesh_from_tensors(v, torch.tensor([[0, 1, 2]]))
    glb = save_morph_glb(morph_mesh_from_offsets(mesh, np.ones((1, 3, 3)) * 0.1, ["jaw_open"]), tmp_path / "a.glb")
    anim = {"fps": 5, "names": ["jaw_open"], "weights": [[0.0], [1.0]]}
    (tmp_path / "animation.json").write_text(json.dumps(anim))
    page = write_viewer(glb).read_text()
    assert (tmp_path / "viewer.html").is_file()
    assert "http://" not in page.split('<script type="importmap">')[0]
    assert not re.search(r"""(src|href)=["']https?:""", page)
    embedded = re.search(r'<script type="application/json" id="animation">(.*?)</script>', page, re.S).group(1)
    assert json.loads(embedded)["weights"] == [[0.0], [1.0]]
    assert base64.b64encode(glb.read_bytes()).decode() in page


def test_bad_animation_is_refused() -> None:
    with pytest.raises(DataError, match="not morph targets"):
        check_animation({"fps": 5, "names": ["smile"], "weights": [[1.0]]}, ["jaw_open"])
    with pytest.raises(DataError, match="one per name"):
        check_animation({"fps": 5, "names": ["jaw_open"], "weights": [[1.0, 0.0]]}, ["jaw_open"])
