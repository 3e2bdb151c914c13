"""Rig avatars and their offline viewer: rigging time, GLB size, CPU deformation rate, viewer frame time.

For the world's 12 blendshapes and the 57 FACS-style templates on one cartoon world face (high detail):
rigging by deformation transfer (``build_rig_avatar``, seconds per face), the GLB's size, the runtime deformation
``S = S0 + B β`` in numpy (frames per second, one frame at a time), and the viewer's frame time in headless
Chromium with software WebGL (SwiftShader: a floor, not a GPU figure), in alternating rounds between the two pages.

    OMP_NUM_THREADS=1 python benchmarks/bench_viewer.py [--rounds 5] [--screenshot docs/images/viewer.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Spread, measure, report_header  # noqa: E402

from toonlift.stages.rig_fit.avatar_viewer import build_rig_avatar, write_rig_viewer  # noqa: E402


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1000,650",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def _open(driver, html: Path) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.switch_to.new_window("tab")
    driver.get(html.resolve().as_uri())
    WebDriverWait(driver, 120).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
    return driver.current_window_handle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--frames", type=int, default=15, help="renders per round (the page reports their median)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--screenshot", type=Path, default=None, help="write a PNG of the FACS avatar's viewer")
    a = p.parse_args()
    print(report_header())
    tmp = Path(tempfile.mkdtemp())
    pages = {}
    for templates in ("world", "facs"):
        rig = measure(lambda t=templates: build_rig_avatar(seed=a.seed, templates=t), repeats=3, warmup=0)
        info = write_rig_viewer(tmp / templates, seed=a.seed, templates=templates)
        morph, _ = build_rig_avatar(seed=a.seed, templates=templates)
        s0, basis = morph.mesh.vertices.astype(np.float32), morph.targets.reshape(len(morph.targets), -1)
        beta = np.random.default_rng(0).uniform(0, 1, (200, len(morph.targets))).astype(np.float32)

        def deform(s0=s0, basis=basis, beta=beta) -> None:
            for b in beta:  # one frame at a time, as a player would
                _ = s0 + (b @ basis).reshape(-1, 3)

        per_frame = measure(deform, repeats=5, warmup=1)
        print(
            f"{templates:5s}: {len(morph.names)} targets, {info['vertices']} vertices | "
            f"build_rig_avatar {rig.text(fmt='.3g')} s per face | GLB {info['glb_bytes'] / 1e6:.2f} MB, "
            f"viewer.html {info['html_bytes'] / 1e6:.2f} MB | "
            f"deformation {200 / per_frame.median:.0f} frames/s ({per_frame.text(1e3 / 200, '.3g')} ms/frame)"
        )
        pages[templates] = tmp / templates / "viewer.html"
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        print("viewer: skipped (apt-get install -y chromium chromium-driver)")
        return
    driver = _browser()
    try:
        handles = {name: _open(driver, html) for name, html in pages.items()}
        samples: dict[str, list[float]] = {name: [] for name in pages}
        names = list(pages)
        for r in range(a.rounds):
            for name in names[r % 2 :] + names[: r % 2]:  # alternate which page goes first
                driver.switch_to.window(handles[name])
                ms = driver.execute_script("return window.toonliftViewer.frameTime(arguments[0])", a.frames)
                samples[name].append(ms / 1e3)
        for name in names:
            s = Spread(tuple(samples[name]))
            print(
                f"viewer {name}: {s.text(1e3, '.4g')} ms/frame ({1 / s.median:.1f} frames/s), headless Chromium "
                f"{driver.capabilities.get('browserVersion')}, SwiftShader software WebGL, 1000x650 window"
            )
        if a.screenshot is not None:
            driver.switch_to.window(handles["facs"])
            pose = {"jaw_open": 0.35, "smile_left": 0.8, "smile_right": 0.8, "brow_raise_left": 0.7, "blink_right": 1}
            for k, v in pose.items():
                driver.execute_script("window.toonliftViewer.setWeight(arguments[0], arguments[1])", k, v)
            time.sleep(0.2)
            a.screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(a.screenshot))
            print(f"wrote {a.screenshot}")
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
