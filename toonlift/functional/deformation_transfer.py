"""Deformation transfer between meshes of one topology (Sumner & Popovic 2004; seed 002, Eq. 14-16).

Each triangle ``(v1, v2, v3)`` gets a fourth vertex off its plane (Eq. 14)::

    v4 = v1 + (v2 - v1) x (v3 - v1) / sqrt(|(v2 - v1) x (v3 - v1)|)

and the frame ``V = [v2 - v1, v3 - v1, v4 - v1]``. A source deformation (neutral ``S0`` to a template ``S1``) has
per-triangle gradients ``Q_j = V~_j V_j^-1`` (Eq. 15). The target's deformed vertices ``x`` (and one free ``v4``
per triangle) minimise ``sum_j || X_j(x) W_j - Q_j ||_F^2`` (Eq. 16), where ``W_j`` is the inverse frame of the
target's neutral triangle: the target triangles deform as the source's did, in their own shape. ``X_j(x) W_j`` is
linear in ``x``, with the same matrix ``A`` ``[3F, V + F]`` for x, y and z, so ``A^T A`` (plus soft pins and a tiny
pull toward the naive offsets, which fixes translation of pin-free components) is factored once per target and every
template is three back-substitutions: "factored once, after which transferring a new deformation ... requires only a
backsubstitution step" (Sumner & Popovic).

numpy float64 and ``scipy.sparse``; inputs may be tensors or arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from toonlift.errors import ConfigError


def _np(x, dtype=np.float64) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` over the last axis (numpy's ``cross`` is several times slower on large batched arrays)."""
    out = np.empty_like(a)
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def triangle_frames(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Frames ``[..., F, 3, 3]`` with columns ``v2 - v1, v3 - v1, v4 - v1`` (Eq. 14) of vertices ``[..., V, 3]``."""
    v1 = vertices[..., faces[:, 0], :]
    out = np.empty(v1.shape + (3,))
    out[..., 0] = vertices[..., faces[:, 1], :] - v1
    out[..., 1] = vertices[..., faces[:, 2], :] - v1
    n = _cross(out[..., 0], out[..., 1])
    out[..., 2] = n / np.sqrt(np.maximum(np.sqrt(np.einsum("...i,...i->...", n, n)), 1e-300))[..., None]
    return out


def deformation_gradients(neutral: np.ndarray, deformed: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per-triangle source gradients ``Q_j = V~_j V_j^-1`` ``[F, 3, 3]`` (Eq. 15)."""
    return triangle_frames(deformed, faces) @ np.linalg.inv(triangle_frames(neutral, faces))


class DeformationTransfer:
    """Transfer deformations of ``source_neutral`` onto ``target_neutral`` (same topology); factor once.

    Args:
        source_neutral: ``[V, 3]`` the source's rest shape (e.g. the template head).
        target_neutral: ``[V, 3]`` the target's rest shape (e.g. a reconstructed face).
        faces: ``[F, 3]`` triangles shared by both.
        pinned: vertex indices held (softly) at ``target_neutral + (source offset)``: the vertices no template
            moves (eyeballs, neck, the back of the head). ``None`` pins nothing.
        pin_weight: weight of the pins relative to the gradient terms.
        stiffness: weight of the pull of every vertex toward its naive offset position (fixes the translation of
            components without pins; tiny, so it does not bias the result).
    """

    def __init__(
        self,
        source_neutral,
        target_neutral,
        faces,
        pinned=None,
        pin_weight: float = 1e3,
        stiffness: float = 1e-6,
    ) -> None:
        self.source = _np(source_neutral)
        self.target = _np(target_neutral)
        self.faces = _np(faces, np.int64)
        if self.source.shape != self.target.shape or self.source.ndim != 2 or self.source.shape[1] != 3:
            raise ConfigError(
                f"DeformationTransfer needs source and target vertices of one shape [V, 3]; got "
                f"{self.source.shape} and {self.target.shape}. Both meshes must share the topology."
            )
        nv, nf = len(self.target), len(self.faces)
        self.pinned = np.zeros(0, np.int64) if pinned is None else _np(pinned, np.int64)
        self.pin_weight, self.stiffness = float(pin_weight), float(stiffness)
        frames = triangle_frames(self.target, self.faces)
        if (np.abs(np.linalg.det(frames)) < 1e-18).any():
            raise ConfigError("DeformationTransfer: the target has degenerate (zero-area) triangles; remove them.")
        self._source_inv = np.linalg.inv(triangle_frames(self.source, self.faces))  # [F, 3, 3]
        self._target_v4 = self.target[self.faces[:, 0]] + frames[..., 2]  # [F, 3] the target's fourth vertices
        w = np.linalg.inv(frames)  # [F, 3, 3]
        # row (j, k): sum_m (x_{m+1} - x_1) W[m, k]; unknowns 0..V-1 vertices, V + j the fourth vertex of face j
        cols = np.stack([self.faces[:, 1], self.faces[:, 2], nv + np.arange(nf)], 1)  # [F, 3]
        rows, cc, vals = [], [], []
        for k in range(3):
            r = 3 * np.arange(nf) + k
            for m in range(3):
                rows.append(r), cc.append(cols[:, m]), vals.append(w[:, m, k])
            rows.append(r), cc.append(self.faces[:, 0]), vals.append(-w[:, :, k].sum(1))
        self.A = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cc))), shape=(3 * nf, nv + nf)
        )
        pin = sp.csr_matrix(
            (np.ones(len(self.pinned)), (np.arange(len(self.pinned)), self.pinned)), shape=(len(self.pinned), nv + nf)
        )
        self._pin = pin
        system = (self.A.T @ self.A + self.pin_weight * (pin.T @ pin) + self.stiffness * sp.identity(nv + nf)).tocsr()
        # Each fourth vertex appears only in its own triangle's rows, so the [F, F] block of the normal matrix is
        # diagonal: eliminate those unknowns (Schur complement) and factor the [V, V] vertex system alone.
        self._d_inv = 1.0 / system[nv:, nv:].diagonal()  # [F]
        self._a_vf = system[:nv, nv:].tocsr()  # [V, F]
        schur = system[:nv, :nv] - self._a_vf @ sp.diags(self._d_inv) @ self._a_vf.T
        # symmetric positive definite: a symmetric fill-reducing order keeps the factor ~3x sparser than COLAMD's
        self._lu = spla.splu(schur.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        """Vertex part of the normal equations' solution for right-hand sides ``[V + F, R]`` -> ``[V, R]``."""
        nv = len(self.target)
        reduced = rhs[:nv] - self._a_vf @ (self._d_inv[:, None] * rhs[nv:])
        return self._lu.solve(np.ascontiguousarray(reduced))

    def transfer(self, source_deformed) -> np.ndarray:
        """The target's vertices ``[V, 3]`` deformed as ``source_deformed`` ``[V, 3]`` deforms the source."""
        s1 = _np(source_deformed)
        if s1.shape != self.source.shape:
            raise ConfigError(f"source_deformed must be {self.source.shape}, got {s1.shape}.")
        return self.transfer_many(s1[None])[0]

    def transfer_many(self, source_deformed, chunk: int = 32) -> np.ndarray:
        """Transfer ``[T, V, 3]`` deformed sources at once -> ``[T, V, 3]`` target vertices.

        Every template's three coordinates are right-hand sides of one back-substitution (``3 * chunk`` columns at a
        time, which bounds the ``[T, F, 3, 3]`` gradient arrays)."""
        s = _np(source_deformed)
        if s.ndim != 3 or s.shape[1:] != self.source.shape:
            raise ConfigError(f"source_deformed must be [T, {len(self.source)}, 3], got {tuple(s.shape)}.")
        return np.concatenate([self._transfer_chunk(s[i : i + chunk]) for i in range(0, len(s), chunk)])

    def _transfer_chunk(self, s1: np.ndarray) -> np.ndarray:
        nt, nv, nf = len(s1), len(self.target), len(self.faces)
        offsets = s1 - self.source  # [T, V, 3]
        # A triangle none of whose corners a template moves keeps Q = I and the target's own fourth vertex, so only
        # the moved triangles are computed (templates are local: most of the head stays).
        gq = np.zeros((nf, 3, nt, 3))  # [F, k, T, c] -> rows (j, k) of A, columns (template, coordinate)
        gq[:, np.arange(3), :, np.arange(3)] = 1.0
        guess = np.concatenate([self.target, self._target_v4])[:, None, :].repeat(nt, 1)  # [V + F, T, 3]
        for t in range(nt):
            moved = np.abs(offsets[t]).max(axis=1) > 0
            guess[:nv, t] += offsets[t]
            hit = np.nonzero(moved[self.faces].any(axis=1))[0]
            if not len(hit):
                continue
            f = self.faces[hit]
            q = np.einsum("fcm,fmk->fkc", triangle_frames(s1[t], f), self._source_inv[hit])  # [H, k, c]
            gq[hit, :, t, :] = q
            guess[nv + hit, t] = guess[f[:, 0], t] + triangle_frames(guess[:nv, t], f)[..., 2]
        rhs = self.A.T @ gq.reshape(3 * nf, 3 * nt) + self.stiffness * guess.reshape(nv + nf, 3 * nt)
        if len(self.pinned):
            rhs += self.pin_weight * (self._pin.T @ guess[self.pinned].reshape(len(self.pinned), 3 * nt))
        return self._solve(rhs).reshape(nv, nt, 3).transpose(1, 0, 2)  # [T, V, 3]
