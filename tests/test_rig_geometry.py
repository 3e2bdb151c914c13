"""Deformation transfer (Eq. 14-16) and Laplacian deformation (Eq. 9-11) on the synthetic head model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.deformation_transfer import DeformationTransfer, deformation_gradients
from toonlift.functional.laplacian import LaplacianDeformer, cotangent_laplacian, lift_landmarks, uniform_laplacian
from toonlift.synthetic.head_model import build_head_model
from toonlift.synthetic.toon import toon_identity

EYE_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))  # upper / lower lid landmarks of both eyes (0-based iBUG)


@pytest.fixture(scope="module")
def head():
    return build_head_model("low")


def shape(model, identity=None, **weights) -> np.ndarray:
    ident = torch.zeros(1, model.num_identity) if identity is None else identity
    expr = torch.zeros(1, model.num_expression)
    for name, w in weights.items():
        expr[0, model.expression_names.index(name)] = w
    return model.vertices(ident, expr)[0].double().numpy()


def aperture(v: np.ndarray, model) -> float:
    lm = v[model.landmarks.numpy()]
    return float(np.mean([np.linalg.norm(lm[a] - lm[b]) for a, b in EYE_PAIRS]))


def fixed_vertices(model) -> np.ndarray:
    """Vertices no blendshape moves (eyeballs, neck, the back of the head): the transfer's pins."""
    return np.nonzero(model.expression_basis.norm(dim=-1).amax(0).numpy() < 1e-9)[0]


def toon_target(model, seed: int | None) -> np.ndarray:
    if seed is None:
        ident = torch.zeros(1, model.num_identity)
    else:
        ident = torch.randn(1, model.num_identity, generator=torch.Generator().manual_seed(seed)).clamp(-2.5, 2.5)
    return shape(model, toon_identity(ident))


def test_identity_transfer_returns_the_target(head) -> None:
    src, tgt = shape(head), toon_target(head, 3)
    dt = DeformationTransfer(src, tgt, head.faces, pinned=fixed_vertices(head))
    np.testing.assert_allclose(dt.transfer(src), tgt, atol=1e-8)
    grads = deformation_gradients(src, src, head.faces.numpy())
    np.testing.assert_allclose(grads, np.broadcast_to(np.eye(3), grads.shape), atol=1e-9)


def test_transfer_is_translation_invariant(head) -> None:
    src, tgt = shape(head), toon_target(head, 4)
    smile = shape(head, smile_left=1.0, jaw_open=0.5)
    pins = fixed_vertices(head)
    base = DeformationTransfer(src, tgt, head.faces, pinned=pins).transfer(smile)
    t = np.array([0.3, -0.2, 0.5])
    moved_target = DeformationTransfer(src, tgt + t, head.faces, pinned=pins).transfer(smile)
    np.testing.assert_allclose(moved_target, base + t, atol=1e-7)
    moved_source = DeformationTransfer(src + t, tgt, head.faces, pinned=pins).transfer(smile + t)
    np.testing.assert_allclose(moved_source, base, atol=1e-7)


@pytest.mark.parametrize("seed", [None, 1])
def test_blink_keeps_the_templates_relative_eye_closure(head, seed: int | None) -> None:
    src, tgt = shape(head), toon_target(head, seed)
    blink = shape(head, blink_left=1.0, blink_right=1.0)
    template = aperture(blink, head) / aperture(src, head)
    dt = DeformationTransfer(src, tgt, head.faces, pinned=fixed_vertices(head)).transfer(blink)
    naive = tgt + (blink - src)
    ratio_dt, ratio_naive = aperture(dt, head) / aperture(tgt, head), aperture(naive, head) / aperture(tgt, head)
    assert abs(ratio_dt - template) < 0.03, (ratio_dt, template)
    assert abs(ratio_naive - template) > 3 * abs(ratio_dt - template), (ratio_naive, ratio_dt, template)


def test_transfer_refuses_mismatched_meshes(head) -> None:
    src = shape(head)
    with pytest.raises(ConfigError, match="topology"):
        DeformationTransfer(src, src[:-1], head.faces)


def test_laplacians_annihilate_translations_and_planes() -> None:
    # a flat 5 x 5 grid: both operators are zero on interior vertices of a plane (affine precision)
    ys, xs = np.mgrid[0:5, 0:5]
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(25)], 1).astype(np.float64)
    idx = np.arange(25).reshape(5, 5)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    interior = idx[1:-1, 1:-1].ravel()
    for lap in (uniform_laplacian(faces, 25), cotangent_laplacian(verts, faces)):
        np.testing.assert_allclose(np.asarray(lap.sum(1)).ravel(), 0, atol=1e-12)
        np.testing.assert_allclose((lap @ verts)[interior], 0, atol=1e-12)


@pytest.mark.parametrize("kind", ["uniform", "cotangent"])
def test_laplacian_solve_reaches_the_landmarks(head, kind: str) -> None:
    lm = head.landmarks.numpy()
    ident = torch.randn(1, head.num_identity, generator=torch.Generator().manual_seed(1)).clamp(-2.5, 2.5)
    true = shape(head, toon_identity(ident))
    coarse = shape(head, toon_identity(ident) * 0.5)
    deformer = LaplacianDeformer(coarse, head.faces, lm, weight=10.0, kind=kind)
    np.testing.assert_allclose(deformer.solve(coarse[lm]), coarse, atol=1e-6)  # anchors at rest: nothing moves
    fine = deformer.solve(lift_landmarks(true[lm, :2], coarse, lm))
    before = np.linalg.norm(coarse[lm, :2] - true[lm, :2], axis=1).mean()
    after = np.linalg.norm(fine[lm, :2] - true[lm, :2], axis=1).mean()
    assert after < 0.01 * before, (before, after)
    np.testing.assert_allclose(fine[lm, 2], coarse[lm, 2], atol=0.02 * before)  # Eq. 11 keeps the anchors' depth
    face = (head.vertex_kinds.numpy() == 0) & (head.mean[:, 2].numpy() > 0.2)
    assert (
        np.linalg.norm(fine[face] - true[face], axis=1).mean()
        < np.linalg.norm(coarse[face] - true[face], axis=1).mean()
    )
    t = np.array([0.1, 0.2, -0.3])
    moved = LaplacianDeformer(coarse + t, head.faces, lm, weight=10.0, kind=kind)
    np.testing.assert_allclose(moved.solve(lift_landmarks(true[lm, :2] + t[:2], coarse + t, lm)), fine + t, atol=1e-6)


def test_laplacian_refuses_bad_input(head) -> None:
    with pytest.raises(ConfigError, match="kind"):
        LaplacianDeformer(shape(head), head.faces, head.landmarks, kind="harmonic")
    deformer = LaplacianDeformer(shape(head), head.faces, head.landmarks)
    with pytest.raises(ConfigError, match="68, 3"):
        deformer.solve(np.zeros((67, 3)))
