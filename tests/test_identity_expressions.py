"""Identity-aware blendshape truth, the rig's semantic ratios and multi-template deformation transfer."""

from __future__ import annotations

import numpy as np
import pytest

from toonlift.errors import ConfigError
from toonlift.functional.deformation_transfer import DeformationTransfer
from toonlift.functional.rig_metrics import corner_travel, eye_closure, jaw_opening, vertex_error
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES, expression_basis
from toonlift.synthetic.head_model import KINDS, _model_arrays, build_head_model, model_anchors
from toonlift.synthetic.identity_basis import IDENTITY_NAMES
from toonlift.synthetic.identity_expressions import (
    TRUTH_NAMES,
    expression_basis_for,
    identity_feature_frames,
    truth_templates,
)

DETAIL = "low"


@pytest.fixture(scope="module")
def arrays():
    return _model_arrays(DETAIL)


def one(name: str, value: float) -> np.ndarray:
    a = np.zeros(len(IDENTITY_NAMES))
    a[IDENTITY_NAMES.index(name)] = value
    return a


def shape_of(arrays, identity: np.ndarray) -> np.ndarray:
    return arrays["mean"] + np.einsum("k,kvc->vc", identity, arrays["identity_basis"])


def test_world_basis_is_unchanged_and_the_mean_identity_truth_equals_it(arrays):
    anchor, movable = model_anchors(DETAIL)
    stored = build_head_model(DETAIL).expression_basis.numpy()
    assert np.array_equal(stored, expression_basis(anchor, movable).astype(np.float32))  # the world's own path
    truth = expression_basis_for(np.zeros(len(IDENTITY_NAMES)), DETAIL)
    assert np.abs(truth - arrays["expression_basis"]).max() < 1e-12
    for f in identity_feature_frames(np.zeros(len(IDENTITY_NAMES)), DETAIL).values():
        assert np.allclose(f.scale, 1.0) and np.allclose(f.centre, f.template_centre)


def test_lid_travel_scales_with_eye_size(arrays):
    """A bigger eye's blink moves its upper lid further, by the eyeball's size ratio."""
    ident = one("eye_size", 2.0)
    truth = expression_basis_for(ident, DETAIL)
    radius = identity_feature_frames(ident, DETAIL)["eye_right"].scale[0]
    assert radius == pytest.approx(1.36, abs=0.01)  # eye_size scales the eyeball by 0.18 per unit
    lm, e = arrays["landmarks"], EXPRESSION_NAMES.index("blink_right")
    travel = np.linalg.norm(truth[e, lm[[37, 38]]], axis=1)
    template = np.linalg.norm(arrays["expression_basis"][e, lm[[37, 38]]], axis=1)
    assert np.allclose(travel / template, radius, rtol=0.05)
    # the true blink still closes the bigger eye about as far as the template's closes the template's
    neutral = shape_of(arrays, ident)[lm]
    closure = eye_closure(neutral, neutral + truth[e, lm], "right")
    mean = arrays["mean"][lm]
    assert closure == pytest.approx(eye_closure(mean, mean + arrays["expression_basis"][e, lm], "right"), abs=0.06)


def test_truth_keeps_eyeballs_and_neck_still_and_has_the_halves(arrays):
    kinds = arrays["vertex_kinds"]
    ident = np.random.default_rng(0).normal(size=len(IDENTITY_NAMES)).clip(-2.5, 2.5)
    names, truth = truth_templates(ident, DETAIL)
    assert tuple(names) == TRUTH_NAMES and truth.shape == (20, len(kinds), 3)
    still = np.isin(kinds, [KINDS["eye_left"], KINDS["eye_right"], KINDS["neck"]])
    assert np.abs(truth[:, still]).max() == 0.0
    for n in ("mouth_frown", "eye_wide"):
        whole = truth[names.index(n)]
        assert np.abs(truth[names.index(f"{n}_left")] + truth[names.index(f"{n}_right")] - whole).max() < 1e-12
    assert np.abs(truth[:12] - arrays["expression_basis"]).max() > 1e-3  # a face of its own, not the template's


def test_bad_identity_is_refused():
    with pytest.raises(ConfigError, match="identity must be 17"):
        expression_basis_for(np.zeros(5), DETAIL)
    with pytest.raises(ConfigError):
        expression_basis_for(np.full(17, np.nan), DETAIL)


def test_deformation_transfer_beats_naive_offsets_on_a_big_eyed_face(arrays):
    """On a face whose eyes are 1.5x the template's, transferred blinks are >= 1.5x closer to the truth than the
    template's offsets and keep the template's eye closure within 0.02 (naive offsets leave the eye > 0.05 more
    open); the transfer of many templates at once equals one at a time."""
    ident = one("eye_size", 3.0)
    mean, faces, lm = arrays["mean"], arrays["faces"], arrays["landmarks"]
    target = shape_of(arrays, ident)
    basis = arrays["expression_basis"]
    pins = np.nonzero(np.abs(basis).max(axis=(0, 2)) < 1e-9)[0]
    dt = DeformationTransfer(mean, target, faces, pinned=pins)
    moved = dt.transfer_many(mean[None] + basis) - target  # [12, V, 3]
    e = EXPRESSION_NAMES.index("blink_left")
    assert np.abs(moved[e] - (dt.transfer(mean + basis[e]) - target)).max() < 1e-9
    truth = expression_basis_for(ident, DETAIL)
    err_dt, err_naive = vertex_error(moved[e], truth[e], basis[e]), vertex_error(basis[e], truth[e], basis[e])
    assert err_dt * 1.5 < err_naive
    ref = eye_closure(mean[lm], mean[lm] + basis[e, lm], "left")
    assert abs(eye_closure(target[lm], target[lm] + moved[e, lm], "left") - ref) < 0.02
    assert abs(eye_closure(target[lm], target[lm] + basis[e, lm], "left") - ref) > 0.05
    with pytest.raises(ConfigError, match="source_deformed must be"):
        dt.transfer_many(mean)


def test_semantic_ratios_on_the_template(arrays):
    mean, lm, b = arrays["mean"][arrays["landmarks"]], arrays["landmarks"], arrays["expression_basis"]
    jaw = jaw_opening(mean, mean + b[EXPRESSION_NAMES.index("jaw_open"), lm])
    assert 0.5 < jaw < 1.0 and jaw_opening(mean, mean) == 0.0
    left = corner_travel(mean, mean + b[EXPRESSION_NAMES.index("smile_left"), lm], "left")
    right = corner_travel(mean, mean + b[EXPRESSION_NAMES.index("smile_left"), lm], "right")
    assert left > 0.1 and right < 0.2 * left  # a left smile moves the left corner (landmark 54, x > 0)
    assert mean[54, 0] > 0 and mean[45, 0] > 0  # the subject's left is +x
