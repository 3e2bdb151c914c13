"""How much work each demo stage does: the default run (minutes on a 2-core CPU) and ``--quick`` (a smoke run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DemoSchedule:
    """Work per stage.

    Args:
        stage1_iterations: Stage-1 fine-tuning iterations from the photo generator toward the cartoon domain.
        stage1_snapshots: how many times the fixed latents are rendered during Stage 1 (frames of its GIF).
        stage1_batch: Stage-1 batch size.
        direction_candidates: leading SeFa directions ranked by the analyser's expression change (reported).
        boundary_latents: latents sampled to fit each InterFaceGAN boundary (yaw, pitch, jaw_open).
        ranking_latents: latents the direction ranking averages over.
        stage2_latents: latents whose offsets Stage 2 optimises (the Stage-3 face is the first).
        inversion_steps: projector steps that invert the synthetic face into the photo generator.
        vlda_init: VLDA iterations fitting depth to the ellipsoid prior.
        vlda_first: VLDA step 1/2/3 iterations of the first stage.
        vlda_later: VLDA step 1/2/3 iterations of later stages.
        vlda_stages: VLDA stages.
        vlda_batch: VLDA pseudo samples per iteration.
        vlda_collect: batches of projected samples collected per stage.
        vlda_width: base width of the VLDA depth/albedo/view/light networks.
        vlda_smooth: weight of VLDA's depth/shading smoothness (GAN2Shape: 0.01 at 128 px).
        vlda_perceptual: weight of the analyser perceptual term in VLDA (GAN2Shape's 0.5 is for LPIPS-VGG; with
            the analyser's sharper features 0.5 makes the depth noisy, see BENCHMARKS "Stage 3 on GAN images").
        metric_samples: generated and real images behind each FID/KID figure.
        gif_frames: frames of each rotation GIF.
    """

    stage1_iterations: int
    stage1_snapshots: int
    stage1_batch: int
    direction_candidates: int
    boundary_latents: int
    ranking_latents: int
    stage2_latents: int
    inversion_steps: int
    vlda_init: int
    vlda_first: tuple[int, int, int]
    vlda_later: tuple[int, int, int]
    vlda_stages: int
    vlda_batch: int
    vlda_collect: int
    vlda_width: int
    vlda_smooth: float
    vlda_perceptual: float
    metric_samples: int
    gif_frames: int

    def as_dict(self) -> dict:
        """JSON-serialisable form (for ``summary.json``)."""
        return asdict(self)


DEFAULT = DemoSchedule(
    stage1_iterations=150,
    stage1_snapshots=6,
    stage1_batch=16,
    direction_candidates=8,
    boundary_latents=1000,
    ranking_latents=16,
    stage2_latents=8,
    inversion_steps=200,
    vlda_init=200,
    vlda_first=(100, 100, 80),
    vlda_later=(40, 80, 60),
    vlda_stages=2,
    vlda_batch=8,
    vlda_collect=25,
    vlda_width=32,
    vlda_smooth=0.01,
    vlda_perceptual=0.05,
    metric_samples=512,
    gif_frames=24,
)

QUICK = DemoSchedule(
    stage1_iterations=4,
    stage1_snapshots=2,
    stage1_batch=8,
    direction_candidates=3,
    boundary_latents=64,
    ranking_latents=4,
    stage2_latents=2,
    inversion_steps=10,
    vlda_init=10,
    vlda_first=(5, 5, 5),
    vlda_later=(1, 1, 1),
    vlda_stages=1,
    vlda_batch=4,
    vlda_collect=2,
    vlda_width=16,
    vlda_smooth=0.01,
    vlda_perceptual=0.05,
    metric_samples=32,
    gif_frames=6,
)
