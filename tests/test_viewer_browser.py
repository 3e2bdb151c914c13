"""The offline viewer in headless Chromium (Debian's chromium + chromium-driver, driven by selenium).

The page must load from file:// with no console errors, draw the head, and "jaw_open" must change the pixels around
the mouth far more than elsewhere. Skipped only where Chromium or its driver is absent (``.ci/run`` installs them).
"""

from __future__ import annotations

import base64
import io
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.export.gltf_morph import MorphMesh, load_morph_glb, morph_mesh_from_offsets, save_morph_glb
from toonlift.export.mesh_export import mesh_from_tensors
from toonlift.export.viewer import write_viewer
from toonlift.synthetic.head_model import build_head_model

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless Chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does this)",
)
# a few distinct colours per part label (background, skin, nose, brows, sclera, iris, pupil, lips, mouth, hair, ...)
_PALETTE = np.array(
    [[0, 0, 0], [235, 190, 160], [225, 175, 145], [90, 60, 40], [250, 250, 250], [70, 110, 170], [10, 10, 10]]
    + [[200, 80, 90], [60, 20, 25], [110, 70, 40], [225, 175, 145], [220, 180, 150]],
    dtype=np.float32,
)


def _avatar(tmp_path, animation: bool) -> tuple[MorphMesh, object]:
    head = build_head_model("low")
    colours = torch.from_numpy(_PALETTE[head.vertex_parts.numpy()] / 127.5 - 1)
    mesh = mesh_from_tensors(head.mean, head.faces, vertex_colors=colours)
    morph = morph_mesh_from_offsets(mesh, head.expression_basis.numpy(), list(head.expression_names))
    path = save_morph_glb(morph, tmp_path / "avatar.glb")
    if animation:
        frames = [[0.5 + 0.5 * np.sin(t / 4 + k) for k in range(12)] for t in range(20)]
        names = list(head.expression_names)
        (tmp_path / "animation.json").write_text(json.dumps({"fps": 10, "names": names, "weights": frames}))
    return morph, write_viewer(path)


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=900,600",
        "--use-angle=swiftshader",  # software WebGL: no GPU on CI
        "--enable-unsafe-swiftshader",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield d
    d.quit()


def _open(driver, html) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(html.resolve().as_uri())
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def _pixels(driver) -> np.ndarray:
    url = driver.execute_script("return document.getElementById('view').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(np.float32)


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_viewer_draws_the_head_and_jaw_open_moves_the_mouth(tmp_path, driver) -> None:
    morph, html = _avatar(tmp_path, animation=False)
    _open(driver, html)
    assert _errors(driver) == []
    names = driver.execute_script("return window.toonliftViewer.names")
    assert names == morph.names
    assert len(driver.find_elements("css selector", "#sliders input[type=range]")) == 12

    neutral = _pixels(driver)
    background = neutral[0, 0]
    drawn = np.abs(neutral - background).sum(-1) > 30
    assert drawn.mean() > 0.1, f"the head covers only {drawn.mean():.3f} of the canvas"

    # move the jaw_open slider as a user does (value + input event), then compare pixels near the mouth and elsewhere
    driver.execute_script(
        "const s = document.getElementById('slider-jaw_open'); s.value = 1; s.dispatchEvent(new Event('input'));"
    )
    opened = _pixels(driver)
    diff = np.abs(opened - neutral).sum(-1)
    head = build_head_model("low")
    mouth = head.mean[head.landmarks[48:68]].mean(0).tolist()
    cx, cy = driver.execute_script("return window.toonliftViewer.project(...arguments)", *mouth)
    height, width = diff.shape
    yy, xx = np.mgrid[0:height, 0:width]
    radius = 0.12 * height
    near = (np.abs(xx - cx) < 1.5 * radius) & (np.abs(yy - cy) < radius)
    assert diff[near].mean() > 10.0
    assert diff[near].mean() > 8 * diff[~near].mean(), (diff[near].mean(), diff[~near].mean())
    assert _errors(driver) == []


def test_viewer_plays_an_animation(tmp_path, driver) -> None:
    morph, html = _avatar(tmp_path, animation=True)
    _open(driver, html)
    first = _pixels(driver)
    from selenium.webdriver.support.ui import WebDriverWait

    assert driver.find_element("id", "frame").text == "frame 1 / 20"
    driver.find_element("id", "play").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element("id", "frame").text not in ("frame 1 / 20", ""))
    driver.find_element("id", "play").click()
    assert np.abs(_pixels(driver) - first).sum(-1).max() > 30
    frame_ms = driver.execute_script("return window.toonliftViewer.frameTime(30)")
    assert 0 < frame_ms < 1000
    assert _errors(driver) == []
    assert load_morph_glb(tmp_path / "avatar.glb").names == morph.names


@pytest.mark.parametrize("photo", ["world", pytest.param("astronaut", marks=pytest.mark.slow)])
def test_avatar_command_viewer_shows_the_textured_photo_face_and_moves_its_mouth(tmp_path, driver, photo) -> None:
    """Issue 19's Done-when on the page ``toonlift avatar`` writes (fast settings): a world photo in the default
    run, scikit-image's astronaut in the slow one (CI runs both)."""
    from tests.test_avatar_command import FAST, world_photo
    from toonlift.cli import main

    image = pytest.importorskip("skimage.data").astronaut() if photo == "astronaut" else world_photo()
    Image.fromarray(image).save(tmp_path / "face.png")
    out = tmp_path / "avatar"
    assert main(["avatar", "--image", str(tmp_path / "face.png"), "--out", str(out), *FAST]) == 0
    _open(driver, out / "viewer.html")
    assert _errors(driver) == []
    glb = load_morph_glb(out / "avatar.glb")
    names = driver.execute_script("return window.toonliftViewer.names")
    assert names == glb.names and len(names) >= 46
    assert len(driver.find_elements("css selector", "#sliders input[type=range]")) == len(names)
    # the sliders start at the GLB's default weights: the fitted expression the texture was taken with
    values = driver.execute_script("return [...document.querySelectorAll('#sliders input')].map(s => +s.value)")
    np.testing.assert_allclose(values, glb.weights, atol=0.006)
    neutral = _pixels(driver)
    drawn = np.abs(neutral - neutral[0, 0]).sum(-1) > 30
    assert drawn.mean() > 0.1, f"the head covers only {drawn.mean():.3f} of the canvas"
    assert neutral[drawn].std(0).mean() > 15  # the photo texture, not one flat colour
    driver.execute_script(
        "const s = document.getElementById('slider-jaw_open'); s.value = 1; s.dispatchEvent(new Event('input'));"
    )
    diff = np.abs(_pixels(driver) - neutral).sum(-1)
    head = build_head_model("low")
    mouth = glb.mesh.vertices[head.landmarks[48:68].numpy()].mean(0).tolist()
    cx, cy = driver.execute_script("return window.toonliftViewer.project(...arguments)", *mouth)
    height, width = diff.shape
    yy, xx = np.mgrid[0:height, 0:width]
    radius = 0.12 * height
    near = (np.abs(xx - cx) < 1.5 * radius) & (np.abs(yy - cy) < radius)
    assert diff[near].mean() > 5.0
    assert diff[near].mean() > 5 * diff[~near].mean(), (diff[near].mean(), diff[~near].mean())
    assert _errors(driver) == []
