"""The 57-template FACS-style rig: the world's 12 unchanged, splits sum to their originals, fields stay local."""

from __future__ import annotations

import numpy as np
import pytest

from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.facs_templates import SPLIT, facs_templates
from toonlift.synthetic.head_model import KINDS, build_head_model


@pytest.fixture(scope="module")
def rig():
    head = build_head_model("low")
    names, t = facs_templates(head.mean.numpy(), head.expression_basis.numpy(), head.vertex_kinds.numpy(), KINDS)
    return head, names, t


def test_at_least_46_unique_names_world_first_and_unchanged(rig) -> None:
    head, names, t = rig
    assert len(names) >= 46 and len(set(names)) == len(names)
    assert names[:12] == list(EXPRESSION_NAMES)
    np.testing.assert_array_equal(t[:12], head.expression_basis.numpy())
    assert t.shape == (len(names), head.num_vertices, 3)
    assert (np.abs(t).max(axis=(1, 2)) > 0.01).all()  # every template moves something by > 1 % of the head


def test_splits_sum_to_the_original_and_act_on_their_side(rig) -> None:
    head, names, t = rig
    x = head.mean[:, 0].numpy()
    for n in SPLIT:
        whole, left, right = (t[names.index(k)] for k in (n, f"{n}_left", f"{n}_right"))
        np.testing.assert_allclose(left + right, whole, atol=1e-6)
        assert np.abs(left[x < -0.05]).max() == 0 and np.abs(right[x > 0.05]).max() == 0


def test_new_fields_are_local_and_eye_looks_rotate_only_eyeballs(rig) -> None:
    head, names, t = rig
    kinds = head.vertex_kinds.numpy()
    moved = lambda k: np.abs(t[names.index(k)]).max(1) > 1e-7  # noqa: E731
    assert not (moved("nose_sneer_left") & (kinds != KINDS["skin"])).any()
    look = moved("eye_look_up_left")
    assert look.any() and (kinds[look] == KINDS["eye_left"]).all()
    # a 20-degree look keeps the eyeball rigid: distances from its centre are unchanged to first order
    on = kinds == KINDS["eye_left"]
    p = head.mean.numpy()[on]
    c = p.mean(0)
    q = p + t[names.index("eye_look_up_left")][on]
    np.testing.assert_allclose(np.linalg.norm(q - q.mean(0), axis=1), np.linalg.norm(p - c, axis=1), atol=1e-5)
    up = t[names.index("eye_look_up_left")][on]
    front = p[:, 2] > c[2] + 0.05
    assert up[front, 1].mean() > 0.01  # the pupil side goes up
    y = head.mean[:, 1].numpy()
    jaw = moved("jaw_left")
    assert y[jaw].max() < y[moved("brow_inner_up")].min()  # the jaw never reaches the brows
