"""``toonlift avatar`` per portrait: landmark residuals, dlib-ResNet similarity and seconds per phase.

Portraits: scikit-image's astronaut (the only offline photo of a person found on this machine), the same mirrored
and at half size, and near-frontal world photo renders (seed 11, unseen by every fit) whose true landmarks are known.
Each portrait runs ``--repeats`` times after one warm-up run in the same process (the dlib models and the rig's
prior load once, as in a long-lived service; ``--cold`` also times one fresh ``toonlift avatar`` process with its
imports and model loads). Wall seconds are printed per phase (medians) and in total (median [IQR]), beside the
process's CPU seconds, which a shared machine's load does not inflate. Residuals are mean pixel distances over the
68 landmarks in the 256-px crop: against the detector's points (what the fit sees) and, for world faces, against
the true ones. Similarity: dlib's face-recognition ResNet between the crop and the textured render on grey
(cosine; Euclidean distance, dlib's same-person threshold 0.6).

    OMP_NUM_THREADS=1 python benchmarks/bench_avatar.py [--repeats 3] [--world 4] [--gallery docs/images] [--cold]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Spread, machine_limits, report_header  # noqa: E402

from toonlift.stages.rig_fit.avatar import CROP, reconstruct  # noqa: E402
from toonlift.stages.rig_fit.avatar_files import write_avatar_files  # noqa: E402
from toonlift.stages.rig_fit.photo_face import to_crop  # noqa: E402
from toonlift.synthetic.render import FaceRenderer  # noqa: E402
from toonlift.synthetic.sampler import sample_params  # noqa: E402

PHASES = ("detect", "landmarks", "coarse", "fine", "texture", "rig", "files", "similarity")


def portraits(world: int) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``(name, photo [H, W, 3] uint8, true landmarks [68, 2] photo pixels or None)``."""
    from skimage.data import astronaut

    a = astronaut()
    out = [
        ("astronaut", a, None),
        ("astronaut mirrored", np.ascontiguousarray(a[:, ::-1]), None),
        ("astronaut 256 px", np.asarray(Image.fromarray(a).resize((256, 256), Image.Resampling.LANCZOS)), None),
    ]
    if world == 0:
        return out
    p = sample_params(11, range(world))
    p = type(p)(**{**p.__dict__, "pose": p.pose * 0.25})  # near frontal: dlib's HOG detector misses turned heads
    r = FaceRenderer()(p, "photo", 384, outputs=("image", "landmarks"))
    for i in range(world):
        img = ((r["image"][i].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        out.append((f"world photo 11/{i}", img, r["landmarks"][i].double().numpy()))
    return out


def run_once(photo: np.ndarray, name: str, folder: Path) -> tuple[dict, object]:
    """One full ``toonlift avatar`` (reconstruction + every file) into ``folder``; returns its metrics."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cpu = time.process_time()
    avatar = reconstruct(photo, name=name, log=lambda s: None)
    metrics = write_avatar_files(folder, avatar, avatar.rig, title=name)
    metrics["cpu_seconds"] = time.process_time() - cpu
    return metrics, avatar


def cold_command_seconds(image: Path, out: Path) -> float:
    """Wall seconds of one ``toonlift avatar`` in a fresh process (imports and model loads included)."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from toonlift.cli import main; raise SystemExit(main())",
            "avatar",
            "--image",
            str(image),
            "--out",
            str(out),
            "--threads",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def viewer_screenshot(html: Path, png: Path, weights: dict[str, float]) -> None:
    """A PNG of ``viewer.html`` in headless Chromium (software WebGL) with the sliders ``weights`` set."""
    from bench_viewer import _browser, _open

    driver = _browser()
    try:
        _open(driver, html)
        for name, value in weights.items():
            driver.execute_script(
                "const s = document.getElementById(arguments[0]); s.value = arguments[1];"
                "s.dispatchEvent(new Event('input'));",
                f"slider-{name}",
                value,
            )
        time.sleep(1.0)
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--world", type=int, default=4, help="world photo renders with known landmarks")
    p.add_argument("--gallery", type=Path, default=None, help="copy the astronaut's summary.png and GIF here")
    p.add_argument("--cold", action="store_true", help="also time the command cold in a fresh process")
    p.add_argument("--screenshot", type=Path, default=None, help="PNG of the astronaut's viewer (headless Chromium)")
    a = p.parse_args()
    torch.set_num_threads(1)
    print(report_header())
    machine_limits()
    tmp = Path(tempfile.mkdtemp(prefix="bench_avatar_"))
    print(
        "| portrait | found | residual start / coarse / fine (px, 256 crop, vs detector) | vs truth coarse / fine "
        "| dlib cosine / distance | total s (wall) | CPU s | " + " | ".join(PHASES) + " |"
    )
    for name, photo, truth in portraits(a.world):
        folder = tmp / name.replace(" ", "_").replace("/", "_")
        try:
            run_once(photo, name, folder)  # warm-up
        except Exception as err:  # noqa: BLE001 - a refusal is a result here
            print(f"| {name} | no: {str(err).splitlines()[0][:90]} |")
            continue
        totals, cpus, phase = [], [], {k: [] for k in PHASES}
        for _ in range(a.repeats):
            metrics, avatar = run_once(photo, name, folder)
            totals.append(metrics["total_seconds"])
            cpus.append(metrics["cpu_seconds"])
            for k in PHASES:
                phase[k].append(metrics["seconds"][k])
        r = metrics["landmark_residual_px"]
        vs_truth = "–"
        if truth is not None:
            t = to_crop(torch.from_numpy(truth), avatar.crop.origin, avatar.crop.side, CROP)
            from toonlift.stages.rig_fit.photo_fit import landmark_points

            coarse = landmark_points(avatar.rig, avatar.latent[None])[0].double()
            fine = avatar.fine_landmarks.double()
            vs_truth = f"{(coarse - t).norm(dim=1).mean():.2f} / {(fine - t).norm(dim=1).mean():.2f}"
        s = metrics["dlib_resnet_similarity"]
        print(
            f"| {name} | yes | {r['start']:.2f} / {r['coarse']:.2f} / {r['fine']:.3f} | {vs_truth} | "
            f"{s['cosine']:.3f} / {s['distance']:.3f} | {Spread(tuple(totals)).text(fmt='.3g')} | "
            f"{Spread(tuple(cpus)).text(fmt='.3g')} | "
            + " | ".join(f"{statistics.median(phase[k]):.2f}" for k in PHASES)
            + " |"
        )
        if name == "astronaut" and a.gallery is not None:
            a.gallery.mkdir(parents=True, exist_ok=True)
            shutil.copy(folder / "summary.png", a.gallery / "avatar_astronaut.png")
            shutil.copy(folder / "rotation.gif", a.gallery / "avatar_astronaut.gif")
            print(f"gallery: {a.gallery / 'avatar_astronaut.png'}, {a.gallery / 'avatar_astronaut.gif'}")
        if name == "astronaut" and a.screenshot is not None:
            viewer_screenshot(folder / "viewer.html", a.screenshot, {"jaw_open": 0.6, "brow_raise_left": 1.0})
            print(f"viewer screenshot: {a.screenshot}")
    if a.cold:
        Image.fromarray(portraits(0)[0][1]).save(tmp / "astronaut.png")
        cold = cold_command_seconds(tmp / "astronaut.png", tmp / "cold")
        print(f"cold command (fresh process, astronaut): {cold:.1f} s")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
