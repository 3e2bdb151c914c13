"""Driving an avatar from a detector: beta error, jitter and frames per second on world "videos" (issue 19).

    OMP_NUM_THREADS=1 python benchmarks/bench_drive.py --frames 120 --size 256

For each domain: the ``toonlift rig-viewer`` avatar of the world face (seed 0, index 0; the world's 12 blendshapes
as naive offsets, which is how the world itself poses that face), a world sequence of ``--frames`` frames with known
weights and head motion (:func:`toonlift.stages.rig_fit.drive_check.world_sequence`) written as PNGs and as an H.264
MP4, then :func:`toonlift.stages.rig_fit.drive.drive_frames` with (a) the world's true landmarks, (b) ``dlib68``
through :class:`~toonlift.stages.rig_fit.drive.LandmarkTracker` on the PNG folder and (c) on the MP4. Printed: beta
MAE and max error against the truth, jitter (RMS second difference; the truth's own for reference), landmark
reprojection error, and frames per second end to end (decode + landmarks + beta + mesh; the output video is
rendered afterwards and not counted), in wall time and per second of this process's CPU time (the shared machine's
load inflates the wall time), as the median [IQR] of ``--repeats`` runs (benchmarks/protocol.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from protocol import Spread, report_header

from toonlift.registry import LANDMARK_DETECTORS
from toonlift.stages.rig_fit.avatar_viewer import write_rig_viewer
from toonlift.stages.rig_fit.drive import LandmarkTracker, drive_frames
from toonlift.stages.rig_fit.drive_check import beta_errors, world_sequence, write_png_sequence
from toonlift.utils.frames_io import iter_frames, write_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--domains", default="photo,cartoon")
    args = ap.parse_args()
    print(report_header())
    tmp = Path(tempfile.mkdtemp())
    print(
        "| domain | landmarks | beta MAE | beta max | jitter (truth) | reprojection px | face searches | frames/s wall "
        "| frames/s of CPU time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for domain in args.domains.split(","):
        avatar = tmp / f"avatar_{domain}"
        write_rig_viewer(avatar, animate=False, seed=0, domain=domain, templates="world", transfer="naive")
        seq = world_sequence(0, 0, domain, args.frames, args.size)
        png = tmp / f"png_{domain}"
        write_png_sequence(seq["frames"], png)
        mp4 = write_video(list(seq["frames"]), tmp / f"{domain}.mp4", fps=25)
        det = LANDMARK_DETECTORS.build("dlib68")
        for label in ("true landmarks", "dlib68, PNG folder", "dlib68, MP4"):
            fps, cpu, last, searches = [], [], None, 0
            for r in range(args.repeats):
                out = tmp / f"out_{domain}_{r}"
                if label == "true landmarks":
                    count = iter(seq["landmarks"])
                    frames, lm = iter(seq["frames"]), (lambda _f, c=count: next(c))
                else:
                    frames, _ = iter_frames(video=mp4) if "MP4" in label else iter_frames(frames_dir=png)
                    lm = LandmarkTracker(det)
                last = drive_frames(avatar, frames, lm, out, targets="world", fmt="gif")
                fps.append(last["frames_per_second_end_to_end"])
                cpu.append(last["frames_per_cpu_second"])
                searches = getattr(lm, "searches", 0)
            err = beta_errors(np.load(out / "beta.npy"), last["solved_targets"], seq["beta"])
            rate = Spread(tuple(fps))
            print(
                f"| {domain} | {label} | {err['beta_mae']:.3f} | {err['beta_max_error']:.2f} | {err['jitter']:.4f} "
                f"({err['jitter_truth']:.4f}) | {last['reprojection_rmse_px']:.2f} | {searches} | "
                f"{rate.text(fmt='.1f')} | {Spread(tuple(cpu)).text(fmt='.1f')} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
