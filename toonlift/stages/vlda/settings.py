"""The grouped settings of :class:`~toonlift.stages.vlda.module.VLDAModule`, each a small typed dataclass.

Configs set them as nested mappings (jsonargparse builds the dataclasses)::

    model:
      class_path: vlda
      init_args:
        images: {seeds: [0, 1]}
        schedule: {first: [100, 100, 80], later: [40, 80, 60], num_stages: 2, init_iters: 200}
        training: {batch_size: 8, collect_batches: 25}
        output: {out_dir: outputs/vlda_demo}

The schedule (:class:`~toonlift.stages.vlda.schedule.Schedule`) and the pseudo-sample ranges
(:class:`~toonlift.stages.vlda.vlda_params.PseudoSampling`) are the other two groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from toonlift.errors import ConfigError
from toonlift.stages.vlda.ellipsoid import PRIOR_RADIUS
from toonlift.utils import checks


@dataclass(frozen=True)
class VLDAImages:
    """Which faces to reconstruct, and their ground truth.

    Attributes:
        seeds: seeds of the images (``z`` from ``torch.Generator(seed)``, mapped to W); ignored if ``latents``.
        latents: file of W latents ``[N, w_dim]`` (``.safetensors`` or ``.pt``).
        truncation: truncation psi applied when mapping seeds.
        ground_truth: optional safetensors with ``depth``/``mask`` ``[N, S, S]`` for SIDE/MAD (a generator that
            returns depth, like the synthetic world, is used automatically).
        variants: optional safetensors with ``w`` ``[N, V, w_dim]`` (sidecar ``names``): after image i is
            reconstructed, its trained networks reconstruct each variant (e.g. Stage-2 expressions) by a forward
            pass into ``avatar_NNNN/<name>/``.
    """

    seeds: tuple[int, ...] | None = None
    latents: str | None = None
    truncation: float = 1.0
    ground_truth: str | None = None
    variants: str | None = None

    def __post_init__(self) -> None:
        if self.seeds is None and self.latents is None:
            raise ConfigError(
                "VLDAModule needs the images to reconstruct: give images.seeds or an images.latents file."
            )
        if not 0.0 <= self.truncation <= 1.0:
            raise ConfigError(f"images.truncation must be in [0, 1], got {self.truncation}.")


@dataclass(frozen=True)
class VLDATraining:
    """Optimisation and loss weights.

    Attributes:
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        batch_size: pseudo/projected samples per iteration.
        collect_batches: batches of projected samples collected after step 2 (x ``batch_size`` samples).
        lam_regular: weight of ``mean(offset^2)`` in step 2.
        lam_smooth: weight of the second-order smoothness of depth and diffuse shading.
        tail_layers: mapping layers after the offset encoder's hidden space (GAN2Shape ``F1_d``).
        disc_blocks: discriminator blocks in the step-2 feature loss.
        flip_stages: per stage, whether step 3 adds the mirrored-shape (symmetry) terms; stages beyond the list
            have none (GAN2Shape CelebA: ``[true, false, false, false]``).
        view_prior: ``none`` (GAN2Shape: the view is V's output) or ``analyser`` (the face analyser's head-pose
            estimate of each image is added to V's output, so V learns a residual; ``toonlift.stages.vlda.view_prior``).
        view_prior_scale: multiplier of the estimated angles.
        init_view: where the init phase fits the depth to the prior: ``canonical`` (GAN2Shape: the canonical depth
            itself) or ``input`` (the depth seen from the input's predicted view, so that with a view prior the
            canonical depth is the prior turned back to the frontal view; ``toonlift.stages.vlda.depth_anchor``).
        depth_bound: beyond the paper, 0 = off: after the init phase, the canonical depth is held within
            ``± depth_bound`` (depth units, soft ``tanh`` bound) of the depth the init phase ended with.
        depth_smooth: with ``depth_bound``, the side of the box filter (applied twice) that low-passes the depth's
            departure from the init's before it is bounded (0 or 1: none).
        lam_anchor: beyond the paper, 0 = off: weight of the mean absolute difference between the canonical depth
            and the depth the init phase ended with, added to step 3's loss.
    """

    lr: float = 1e-4
    weight_decay: float = 5e-4
    batch_size: int = 16
    collect_batches: int = 100
    lam_regular: float = 0.01
    lam_smooth: float = 0.01
    tail_layers: int = 2
    disc_blocks: int = 4
    flip_stages: tuple[bool, ...] = (True, False, False, False)
    view_prior: str = "none"
    view_prior_scale: float = 1.0
    init_view: str = "canonical"
    depth_bound: float = 0.0
    depth_smooth: int = 0
    lam_anchor: float = 0.0

    def __post_init__(self) -> None:
        owner = "VLDAModule training"
        if self.init_view not in ("canonical", "input"):
            raise ConfigError(f"training.init_view must be 'canonical' or 'input', got {self.init_view!r}.")
        checks.non_negative(owner, "depth_bound", self.depth_bound)
        checks.at_least(owner, "depth_smooth", self.depth_smooth, 0)
        checks.non_negative(owner, "lam_anchor", self.lam_anchor)
        if self.view_prior not in ("none", "analyser"):
            raise ConfigError(f"training.view_prior must be 'none' or 'analyser', got {self.view_prior!r}.")
        checks.non_negative(owner, "view_prior_scale", self.view_prior_scale)
        checks.positive(owner, "lr", self.lr)
        for name in ("weight_decay", "lam_regular", "lam_smooth"):
            checks.non_negative(owner, name, getattr(self, name))
        for name in ("batch_size", "collect_batches", "tail_layers", "disc_blocks"):
            checks.at_least(owner, name, getattr(self, name), 1)


@dataclass(frozen=True)
class VLDANetworks:
    """Widths of the depth, albedo, view, light and offset-encoder networks.

    Attributes:
        net_width: base width of D, A, V, L (``None``: ``max(4096 // image_size, 16)``).
        zdim: bottleneck of D and A.
        enc_width: base width of the offset encoder.
    """

    net_width: int | None = None
    zdim: int = 256
    enc_width: int = 32

    def __post_init__(self) -> None:
        if self.net_width is not None:
            checks.at_least("VLDAModule networks", "net_width", self.net_width, 1)
        checks.at_least("VLDAModule networks", "zdim", self.zdim, 1)
        checks.at_least("VLDAModule networks", "enc_width", self.enc_width, 1)


@dataclass(frozen=True)
class FacePrior:
    """Where the ellipsoid depth prior sits and how deep it is.

    Attributes:
        face_box: relative ``[min_y, max_y, min_x, max_x]`` face box, used when no face mask is available.
        category: box adjustment of the prior (``face``: GAN2Shape's CelebA crops, the box reaches the bottom row;
            ``synface``: its synthetic faces, the box grows upwards by a sixth; ``none``; ``rig``: no ellipsoid, the
            shipped 3DMM rig's fitted depth in the fitted pose: :mod:`toonlift.stages.rig_fit.depth_prior`).
        relief: depth from the prior's apex to its rim, in the renderer's depth units (the face sits at depth ~1).
            GAN2Shape's 0.11 is ~1.4x the synthetic world's faces (about 0.08 from nose tip to ears); on 20 world
            faces a 0.04 cap with ``synface`` boxes scores SIDE 0.81e-2 against the flat plane's 1.32e-2
            (docs/stage3.md, "The prior").
    """

    face_box: tuple[float, float, float, float] = (0.2, 1.0, 0.2, 0.8)
    category: str = "face"
    relief: float = 0.11

    def __post_init__(self) -> None:
        if self.category not in ("face", "synface", "none", "rig"):
            raise ConfigError(f"prior.category must be 'face', 'synface', 'none' or 'rig', got {self.category!r}.")
        top, bottom, left, right = self.face_box
        if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
            raise ConfigError(f"prior.face_box must be [min_y, max_y, min_x, max_x] fractions, got {self.face_box}.")
        if not (isinstance(self.relief, (int, float)) and 0.0 < self.relief < PRIOR_RADIUS):
            raise ConfigError(
                f"prior.relief must be a depth in (0, {PRIOR_RADIUS}) (the cap's sphere radius), got {self.relief!r}; "
                "GAN2Shape uses 0.11."
            )


@dataclass(frozen=True)
class AvatarOutput:
    """Where and how each avatar is written.

    Attributes:
        out_dir: folder of the ``avatar_NNNN`` folders.
        gif_frames: frames of each avatar's rotation GIF/MP4.
    """

    out_dir: str = "outputs/vlda"
    gif_frames: int = 24

    def __post_init__(self) -> None:
        checks.at_least("VLDAModule output", "gif_frames", self.gif_frames, 2)
