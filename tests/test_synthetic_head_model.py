"""The procedural head model: topology, bases, locality of blendshapes, landmarks, toon transform."""

from __future__ import annotations

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.synthetic import layout as L
from toonlift.synthetic.geometry import is_closed, signed_volume
from toonlift.synthetic.head_model import KINDS, build_head_model
from toonlift.synthetic.head_shape import eye_centers
from toonlift.synthetic.toon import toon_identity, toon_identity_inverse


@pytest.fixture(scope="module", params=["high", "low"])
def model(request):
    return build_head_model(request.param)


def _components(m):
    kinds = m.vertex_kinds.numpy()
    faces = m.faces.numpy()
    for k in KINDS.values():
        sel = kinds[faces[:, 0]] == k
        yield k, faces[sel]


def test_sizes_and_names() -> None:
    m = build_head_model()
    assert m.num_vertices >= 5000
    assert m.num_identity >= 12 and len(set(m.identity_names)) == m.num_identity
    assert m.num_expression >= 10 and len(set(m.expression_names)) == m.num_expression
    for name in ("jaw_open", "smile_left", "smile_right", "blink_left", "blink_right", "brow_frown", "lip_pucker"):
        assert name in m.expression_names
    assert m.identity_basis.shape == (m.num_identity, m.num_vertices, 3)
    assert m.expression_basis.shape == (m.num_expression, m.num_vertices, 3)
    assert m.landmarks.shape == (68,) and len(set(m.landmarks.tolist())) == 68
    assert int(m.faces.max()) < m.num_vertices


def test_every_component_is_closed_and_outward(model) -> None:
    verts = model.mean.double().numpy()
    for kind, faces in _components(model):
        assert is_closed(faces), f"component {kind} is not watertight"
        assert signed_volume(verts, faces) > 0, f"component {kind} is wound inward"
    # faces never mix components
    kinds = model.vertex_kinds[model.faces]
    assert bool((kinds == kinds[:, :1]).all())


def test_all_parts_present(model) -> None:
    present = set(model.vertex_parts.tolist())
    assert present == set(range(1, len(L.PART_NAMES)))
    assert set(model.face_parts.tolist()) <= present


def test_linear_combination(model) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, model.num_identity, generator=g)
    e = torch.rand(2, model.num_expression, generator=g)
    v = model.vertices(a, e)
    base = model.vertices(torch.zeros_like(a), torch.zeros_like(e))
    parts = model.vertices(a, torch.zeros_like(e)) + model.vertices(torch.zeros_like(a), e) - base
    torch.testing.assert_close(v, parts, atol=1e-5, rtol=0)


def _moved(model, name: str) -> torch.Tensor:
    i = model.expression_names.index(name)
    return model.expression_basis[i].norm(dim=-1) > 1e-7


def test_blendshapes_move_only_their_region(model) -> None:
    mean = model.mean
    x, y = mean[:, 0], mean[:, 1]
    eyes = torch.as_tensor(eye_centers(), dtype=torch.float32)
    parts, kinds = model.vertex_parts, model.vertex_kinds
    fixed = torch.isin(kinds, torch.tensor([KINDS["eye_left"], KINDS["eye_right"], KINDS["neck"]]))
    eye_y = float(eyes[0, 1])
    for name in model.expression_names:
        moved = _moved(model, name)
        assert moved.any(), f"{name} moves nothing"
        assert not (moved & fixed).any(), f"{name} moves an eyeball or the neck"
        crown = (kinds == KINDS["hair"]) & (y > 0.6)  # always under hair, far from every facial action
        assert not (moved & crown).any(), f"{name} moves the hair"
        if name.endswith("_left"):
            assert bool((x[moved] > 0).all()), f"{name} moves the subject's right half"
        if name.endswith("_right"):
            assert bool((x[moved] < 0).all()), f"{name} moves the subject's left half"
        if name in ("jaw_open", "smile_left", "smile_right", "mouth_frown", "lip_pucker", "cheek_puff"):
            assert bool((y[moved] < eye_y - 0.1).all()), f"{name} reaches the eyes"
            assert not (moved & (parts == L.PART["brows"])).any()
        if name.startswith("blink") or name == "eye_wide":
            d = torch.cdist(mean[moved], eyes).min(1).values
            assert bool((d < 0.4).all()), f"{name} moves skin far from the eyes"
            assert not (moved & torch.isin(parts, torch.tensor([L.PART["lips"], L.PART["nose"]]))).any()
        if name.startswith("brow"):
            assert bool((y[moved] > eye_y - 0.05).all()), f"{name} reaches below the eyes"
    # the lower lip moves with jaw_open, the upper lip does not
    jaw = model.expression_basis[model.expression_names.index("jaw_open")]
    lower, upper = model.landmarks[57], model.landmarks[51]
    assert jaw[lower, 1] < -0.05 and jaw[upper].norm() < 1e-3


def test_blink_closes_the_eye() -> None:
    m = build_head_model()
    i = m.expression_names.index("blink_left")
    e = torch.zeros(1, m.num_expression)
    upper, lower = m.landmarks[44], m.landmarks[46]  # left eye upper and lower lid
    open_gap = (m.vertices(torch.zeros(1, m.num_identity), e)[0, upper, 1] - m.mean[lower, 1]).item()
    e[0, i] = 1.0
    v = m.vertices(torch.zeros(1, m.num_identity), e)[0]
    closed_gap = (v[upper, 1] - v[lower, 1]).item()
    assert open_gap > 0.05 and closed_gap < 0.35 * open_gap


def test_identity_fields_are_smooth(model) -> None:
    edges = torch.cat([model.faces[:, [0, 1]], model.faces[:, [1, 2]], model.faces[:, [2, 0]]])
    length = (model.mean[edges[:, 0]] - model.mean[edges[:, 1]]).norm(dim=-1)
    for i, name in enumerate(model.identity_names):
        d = model.identity_basis[i]
        assert d.norm(dim=-1).max() > 0.015, f"{name} is (almost) zero"
        jump = (d[edges[:, 0]] - d[edges[:, 1]]).norm(dim=-1)
        # displacement changes at most ~1.5x as fast as the position along any edge: no tears or spikes
        assert bool((jump <= 1.5 * length + 1e-4).all()), f"{name} is not smooth"


def test_landmarks_on_expected_parts(model) -> None:
    lab = model.vertex_parts[model.landmarks]
    assert bool((lab[17:27] == L.PART["brows"]).all())
    assert bool((lab[27:36] == L.PART["nose"]).all())
    assert bool((lab[48:60] == L.PART["lips"]).all())
    assert bool(torch.isin(lab[60:68], torch.tensor([L.PART["lips"], L.PART["mouth"]])).all())
    assert bool((lab[0:17] == L.PART["skin"]).all())
    pos = model.mean[model.landmarks]
    # iBUG layout: jaw runs from image left to right; right-eye points left of left-eye points; nose below eyes
    assert pos[0, 0] < pos[8, 0] < pos[16, 0]
    assert pos[36:42, 0].max() < pos[42:48, 0].min()
    assert pos[30, 1] < pos[27, 1] and pos[57, 1] < pos[51, 1] < pos[33, 1]
    assert pos[48, 0] < pos[54, 0] and pos[36, 0] < pos[39, 0] and pos[42, 0] < pos[45, 0]


def test_toon_transform_is_invertible_and_stylises() -> None:
    m = build_head_model()
    a = torch.randn(4, m.num_identity, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(toon_identity_inverse(toon_identity(a)), a)
    zero = torch.zeros(1, m.num_identity)
    e = torch.zeros(1, m.num_expression)
    photo, toon = m.vertices(zero, e)[0], m.vertices(toon_identity(zero), e)[0]
    eye = m.vertex_kinds == KINDS["eye_left"]
    assert toon[eye].std(0).mean() > 1.3 * photo[eye].std(0).mean()  # larger eyes
    tip = m.landmarks[30]
    assert toon[tip, 2] < photo[tip, 2] - 0.03  # shorter nose


def test_unknown_detail() -> None:
    with pytest.raises(ConfigError, match="detail"):
        build_head_model("ultra")
