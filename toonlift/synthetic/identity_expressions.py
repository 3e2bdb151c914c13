"""Identity-aware blendshapes: the world's expression fields re-sculpted for one identity (its "true rig").

The world evaluates :func:`~toonlift.synthetic.expression_basis.expression_basis` once, on the mean head, so every
identity gets the same vertex offsets; then naive offset transfer *is* the truth and nothing can be scored against
it. Here each field is evaluated in the identity's own **feature frame** instead: a per-field affine map
``q = c_mean + (p - c_id) / s`` (centre ``c``, per-axis scale ``s``) takes the identity's points into the template
frame, the template field is evaluated there and its offsets are scaled back (``d_id(p) = s * d(q)``, the map's
Jacobian). The centres and scales come from the identity's own geometry:

* eye (one per eye): centre = its eyeball centre; scale = the eyeball radius ratio, isotropic, so lid travel
  scales with eye size. Fields: the blinks, ``eye_wide`` (right-eye frame on ``x < 0``, left-eye frame on ``x >= 0``).
* mouth: centre = the mouth corners' midpoint (landmarks 48, 54); scale = (corner distance, head height, head
  depth). Fields: smiles, ``mouth_frown``, ``lip_pucker``, ``cheek_puff``.
* jaw: centre = the mouth corners' midpoint; scale = (jaw width, landmarks 4-12; mouth-to-chin distance, landmark 8,
  for both y and z, so the jaw still turns rigidly by the template's angle about the identity's own hinge). Field:
  ``jaw_open``.
* brow (one per side): centre = its brow landmarks' mean; scale = (brow length, head height, head depth). Fields:
  ``brow_raise_*``.
* brows: centre = the two brows' midpoint; scale = (brow distance, head height, head depth). Field: ``brow_frown``.

(head height and depth = ratios of the skin's extent.) The mean identity's frames are the identity map, so its
truth equals the world's basis (to rounding); the world's own renders do not use this module and are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toonlift.errors import ConfigError
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES, expression_basis
from toonlift.synthetic.facs_templates import SPLIT
from toonlift.synthetic.geometry import smoothstep
from toonlift.synthetic.identity_basis import IDENTITY_NAMES

# field -> frame name ("eyes" = right-eye frame on x < 0, left-eye frame on x >= 0)
FIELD_FRAMES = {
    "jaw_open": "jaw",
    "smile_left": "mouth",
    "smile_right": "mouth",
    "mouth_frown": "mouth",
    "blink_left": "eye_left",
    "blink_right": "eye_right",
    "brow_raise_left": "brow_left",
    "brow_raise_right": "brow_right",
    "brow_frown": "brows",
    "lip_pucker": "mouth",
    "cheek_puff": "mouth",
    "eye_wide": "eyes",
}
TRUTH_NAMES = tuple(EXPRESSION_NAMES) + tuple(f"{n}_{s}" for n in SPLIT for s in ("left", "right"))


@dataclass(frozen=True)
class FeatureFrame:
    """An affine map from an identity's points to the template's: ``q = template_centre + (p - centre) / scale``."""

    centre: np.ndarray  # [3] on the identity
    template_centre: np.ndarray  # [3] on the mean head
    scale: np.ndarray  # [3] identity size / template size per axis

    def to_template(self, points: np.ndarray) -> np.ndarray:
        """Points ``[N, 3]`` of the identity in the template's frame."""
        return self.template_centre + (points - self.centre) / self.scale


def _identity_vector(identity) -> np.ndarray:
    if hasattr(identity, "detach"):
        identity = identity.detach().cpu().numpy()
    a = np.asarray(identity, np.float64).reshape(-1)
    if a.shape != (len(IDENTITY_NAMES),) or not np.isfinite(a).all():
        raise ConfigError(
            f"identity must be {len(IDENTITY_NAMES)} finite coefficients (IDENTITY_NAMES order), got shape "
            f"{np.shape(identity)}; pass one face's identity row (e.g. sample_params(...).identity[i])."
        )
    return a


def _frames(shape: np.ndarray, mean: np.ndarray, kinds: np.ndarray, lms: np.ndarray) -> dict[str, FeatureFrame]:
    """Feature frames of the identity ``shape`` ``[V, 3]`` relative to the template ``mean`` ``[V, 3]``."""
    from toonlift.synthetic.head_model import KINDS

    def ratio(a: float, b: float) -> float:
        return float(a / b)

    skin = kinds == KINDS["skin"]
    ext = np.ptp(shape[skin], axis=0) / np.ptp(mean[skin], axis=0)  # [3] head size ratios
    frames: dict[str, FeatureFrame] = {}
    for side in ("left", "right"):
        ball = kinds == KINDS[f"eye_{side}"]
        c_id, c_m = shape[ball].mean(0), mean[ball].mean(0)
        r = ratio(np.linalg.norm(shape[ball] - c_id, axis=1).mean(), np.linalg.norm(mean[ball] - c_m, axis=1).mean())
        frames[f"eye_{side}"] = FeatureFrame(c_id, c_m, np.full(3, r))

    def pt(v: np.ndarray, i: int) -> np.ndarray:
        return v[lms[i]]

    mouth_id, mouth_m = (pt(shape, 48) + pt(shape, 54)) / 2, (pt(mean, 48) + pt(mean, 54)) / 2
    width = ratio(np.linalg.norm(pt(shape, 54) - pt(shape, 48)), np.linalg.norm(pt(mean, 54) - pt(mean, 48)))
    frames["mouth"] = FeatureFrame(mouth_id, mouth_m, np.array([width, ext[1], ext[2]]))
    jaw_w = ratio(np.linalg.norm(pt(shape, 12) - pt(shape, 4)), np.linalg.norm(pt(mean, 12) - pt(mean, 4)))
    chin = ratio(np.linalg.norm(pt(shape, 8) - mouth_id), np.linalg.norm(pt(mean, 8) - mouth_m))
    # the jaw turns about the x axis: one scale in y and z keeps that a rigid turn by the template's angle about
    # the identity's own hinge (an anisotropic y-z scale would shear it); x (no motion along it) takes the jaw width
    frames["jaw"] = FeatureFrame(mouth_id, mouth_m, np.array([jaw_w, chin, chin]))
    brows = {}
    for ids in (range(17, 22), range(22, 27)):
        ids = list(ids)
        b_id, b_m = shape[lms[ids]], mean[lms[ids]]
        side = "left" if b_m[:, 0].mean() > 0 else "right"  # the subject's left is +x
        length = ratio(np.linalg.norm(b_id[-1] - b_id[0]), np.linalg.norm(b_m[-1] - b_m[0]))
        brows[side] = (b_id.mean(0), b_m.mean(0))
        frames[f"brow_{side}"] = FeatureFrame(b_id.mean(0), b_m.mean(0), np.array([length, ext[1], ext[2]]))
    (l_id, l_m), (r_id, r_m) = brows["left"], brows["right"]
    apart = ratio(np.linalg.norm(l_id - r_id), np.linalg.norm(l_m - r_m))
    frames["brows"] = FeatureFrame((l_id + r_id) / 2, (l_m + r_m) / 2, np.array([apart, ext[1], ext[2]]))
    return frames


def identity_feature_frames(identity, detail: str = "high") -> dict[str, FeatureFrame]:
    """The feature frames (see the module table) of ``identity`` ``[17]`` on the head of ``detail``."""
    from toonlift.synthetic.head_model import _model_arrays

    a = _model_arrays(detail)
    shape = a["mean"] + np.einsum("k,kvc->vc", _identity_vector(identity), a["identity_basis"])
    return _frames(shape, a["mean"], a["vertex_kinds"], a["landmarks"])


def expression_basis_for(identity, detail: str = "high") -> np.ndarray:
    """The world's 12 blendshapes re-sculpted for ``identity``: offsets ``[12, V, 3]`` (float64, head units).

    Each field is evaluated at the identity's own anchor points (the mean anchors moved by the identity, without
    ``hair_volume``, which only lifts visible hair) mapped into the template frame by its feature frame, and its
    offsets are scaled back by the frame's scale. ``movable`` (skin 1, hidden hair shell, eyeballs and neck 0) is
    the world's. Row order: :data:`~toonlift.synthetic.expression_basis.EXPRESSION_NAMES`.
    """
    from toonlift.synthetic.head_model import _model_arrays, model_anchors

    a = _model_arrays(detail)
    alpha = _identity_vector(identity)
    anchor, movable = model_anchors(detail)
    no_hair = alpha * (np.asarray(IDENTITY_NAMES) != "hair_volume")
    points = anchor + np.einsum("k,kvc->vc", no_hair, a["identity_basis"])  # [V, 3] the identity's anchors
    shape = a["mean"] + np.einsum("k,kvc->vc", alpha, a["identity_basis"])
    frames = _frames(shape, a["mean"], a["vertex_kinds"], a["landmarks"])
    out = np.zeros((len(EXPRESSION_NAMES), len(points), 3))
    cache: dict[str, np.ndarray] = {}

    def field(frame: str, e: int) -> np.ndarray:
        if frame not in cache:  # all 12 fields in this frame, scaled back: [12, V, 3]
            f = frames[frame]
            cache[frame] = expression_basis(f.to_template(points), movable) * f.scale
        return cache[frame][e]

    for e, name in enumerate(EXPRESSION_NAMES):
        frame = FIELD_FRAMES[name]
        if frame == "eyes":
            right = (points[:, 0] < 0)[:, None]
            out[e] = np.where(right, field("eye_right", e), field("eye_left", e))
        else:
            out[e] = field(frame, e)
    return out


def truth_templates(identity, detail: str = "high") -> tuple[list[str], np.ndarray]:
    """The identity's true offsets of every FACS template that has one: the 12 world blendshapes and the
    left/right halves of :data:`~toonlift.synthetic.facs_templates.SPLIT` (:data:`TRUTH_NAMES`, ``[20, V, 3]``).

    The halves use the FACS rig's smooth side mask on the identity's own ``x`` (the face stays centred on x = 0)."""
    from toonlift.synthetic.head_model import _model_arrays

    a = _model_arrays(detail)
    alpha = _identity_vector(identity)
    base = expression_basis_for(alpha, detail)
    shape = a["mean"] + np.einsum("k,kvc->vc", alpha, a["identity_basis"])
    left = smoothstep(-0.04, 0.04, shape[:, 0])[:, None]
    fields = list(base)
    for n in SPLIT:
        b = base[EXPRESSION_NAMES.index(n)]
        fields += [b * left, b * (1.0 - left)]
    return list(TRUTH_NAMES), np.stack(fields)
