"""Eyeballs that follow the lids: rigid looks about the face's own eye centres, eyeballs carried with the lids."""

from __future__ import annotations

import numpy as np
import pytest

from toonlift.errors import ConfigError
from toonlift.functional.eyeballs import follow_lids, kabsch, rigid_eyeball_offsets, similarity_fit, sphere_centre
from toonlift.functional.laplacian import LaplacianDeformer, lift_landmarks
from toonlift.stages.rig_fit.avatar_viewer import rig_offsets
from toonlift.synthetic.facs_templates import LOOK_DEGREES, facs_templates
from toonlift.synthetic.head_model import KINDS, _model_arrays, eye_regions
from toonlift.synthetic.identity_basis import IDENTITY_NAMES


@pytest.fixture(scope="module")
def head():
    a = _model_arrays("low")
    names, templates = facs_templates(a["mean"], a["expression_basis"], a["vertex_kinds"], KINDS)
    return a, names, templates.astype(np.float64), eye_regions("low")


def face(a, **coefs) -> np.ndarray:
    alpha = np.zeros(len(IDENTITY_NAMES))
    for k, v in coefs.items():
        alpha[IDENTITY_NAMES.index(k)] = v
    return a["mean"] + np.einsum("k,kvc->vc", alpha, a["identity_basis"])


def test_helpers_recover_known_motions() -> None:
    rng = np.random.default_rng(0)
    p = rng.normal(size=(40, 3))
    c, r = sphere_centre(np.array([0.1, -0.2, 0.3]) + 0.5 * p / np.linalg.norm(p, axis=1, keepdims=True))
    assert np.allclose(c, [0.1, -0.2, 0.3]) and r == pytest.approx(0.5)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    rot *= np.sign(np.linalg.det(rot))
    r_fit, t_fit = kabsch(p, (p - p.mean(0)) @ rot.T + p.mean(0) + [1.0, 2.0, 3.0])
    assert np.allclose(r_fit, rot) and np.allclose(t_fit, [1.0, 2.0, 3.0])
    s, t = similarity_fit(p, 1.7 * p + [0.0, 1.0, 0.0])
    assert s == pytest.approx(1.7) and np.allclose(t, [0.0, 1.0, 0.0])


def test_looks_turn_each_eyeball_about_its_own_centre(head) -> None:
    """On a face whose eyes are bigger and further apart, a transferred look turns the eyeball by the template's
    20 degrees about that eyeball's own centre (deformation transfer alone lets the centre drift)."""
    a, names, templates, (balls, _) = head
    target = face(a, eye_size=2.5, eye_spacing=1.5)
    plain = rig_offsets(a["mean"], templates, target, a["faces"], "dt")
    rigid = rig_offsets(a["mean"], templates, target, a["faces"], "dt", balls)
    for name, ball in (("eye_look_up_right", balls[0]), ("eye_look_out_left", balls[1])):
        k = names.index(name)
        q = target[ball]
        centre, radius = sphere_centre(q)
        moved = q + rigid[k][ball].astype(np.float64)
        r, _ = kabsch(q, moved)
        assert np.degrees(np.arccos((np.trace(r) - 1) / 2)) == pytest.approx(LOOK_DEGREES, abs=0.01)
        assert np.linalg.norm(sphere_centre(moved)[0] - centre) < 1e-5 * radius
        drift = np.linalg.norm(sphere_centre(q + plain[k][ball].astype(np.float64))[0] - centre)
        assert drift > 0.02 * radius  # what the rule fixes
        others = [i for i in range(len(names)) if "eye_look" not in names[i]]
        assert np.abs(rigid[others][:, ball]).max() < 1e-6  # lid and mouth templates leave the eyeball alone
    skin = a["vertex_kinds"] == KINDS["skin"]
    assert np.array_equal(plain[:, skin], rigid[:, skin])


def test_eyeballs_follow_lids_moved_by_a_refinement(head) -> None:
    """A Laplacian refinement onto the true landmarks moves the lids but not the eyeballs; follow_lids seats each
    eyeball back in its opening: the eyeball-to-lid-ring offset error drops >= 3x and the eyeball size moves toward
    the truth's."""
    a, _, _, (balls, rings) = head
    lm = a["landmarks"]
    true = face(a, eye_size=3.0, eye_spacing=1.0, head_width=1.0)
    coarse = face(a, eye_size=1.5, eye_spacing=0.5, head_width=0.5)
    fine = LaplacianDeformer(coarse, a["faces"], lm, weight=10.0).solve(lift_landmarks(true[lm, :2], coarse, lm))
    seated = follow_lids(coarse, fine, balls, rings)

    def gap(v: np.ndarray) -> float:
        return max(
            np.linalg.norm((v[g].mean(0) - sphere_centre(v[b])[0]) - (true[g].mean(0) - sphere_centre(true[b])[0]))
            for b, g in zip(balls, rings)
        )

    assert gap(seated) * 3 < gap(fine)
    for b in balls:
        assert abs(sphere_centre(seated[b])[1] / sphere_centre(true[b])[1] - 1) < abs(
            sphere_centre(fine[b])[1] / sphere_centre(true[b])[1] - 1
        )
    assert np.array_equal(np.delete(seated, np.concatenate(balls), 0), np.delete(fine, np.concatenate(balls), 0))
    assert np.abs(follow_lids(fine, fine, balls, rings) - fine).max() < 1e-12  # still lids: nothing moves
    with pytest.raises(ConfigError, match="one lid ring per eyeball"):
        follow_lids(coarse, fine, balls, rings[:1])
    with pytest.raises(ConfigError, match="at least 4"):
        rigid_eyeball_offsets(coarse, fine[None] - coarse, fine, fine[None] - coarse, [np.arange(3)])
