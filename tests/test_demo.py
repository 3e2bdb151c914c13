"""The demo end to end (``--quick``) and the shipped generators: they must produce faces, not merely load."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.demo.assets import load_shipped
from toonlift.metrics.synthetic_world import generator_fid_kid
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.synthetic.dataset import SyntheticFaces

REPO = Path(__file__).resolve().parents[1]


def _finite_numbers(obj: object) -> list[float]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _finite_numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _finite_numbers(v)]
    return [float(obj)] if isinstance(obj, int | float) and not isinstance(obj, bool) else []


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    res = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "demo", "--quick", "--out", str(out), "--device", "cpu"],
        capture_output=True,
        text=True,
        cwd=out.parent,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for stage in range(1, 5):
        assert f"[stage {stage}/4]" in res.stdout  # one summary line per stage
    return out


def test_quick_demo_writes_the_gallery_with_sane_contents(quick_run: Path) -> None:
    import trimesh

    summary = json.loads((quick_run / "summary.json").read_text())
    numbers = _finite_numbers({k: summary[k] for k in ("stage1", "stage2", "stage3", "evaluation")})
    assert numbers and all(math.isfinite(x) for x in numbers)
    assert math.isfinite(summary["stage3"]["final"]["side"]) and math.isfinite(summary["stage3"]["prior"]["mad"])
    for key in ("fid", "kid_x1e3"):
        assert all(math.isfinite(v[key]) for v in summary["evaluation"]["fid"].values())
    page = (quick_run / "index.html").read_text()
    images = [v for s in ("stage1", "stage2", "stage3") for v in summary[s]["images"].values()]
    for rel in images:
        path = quick_run / rel
        assert path.is_file() and path.stat().st_size > 0, rel
        assert rel in page, rel  # the gallery links it
        if path.suffix in (".png", ".gif"):
            arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
            assert arr.std() > 2.0, f"{rel} is blank"
    avatar = quick_run / "stage3" / "avatar_0000"
    mesh = trimesh.load(avatar / "mesh.obj", force="mesh", process=False)
    assert len(mesh.vertices) > 100 and np.isfinite(mesh.vertices).all()
    glb = trimesh.load(avatar / "mesh.glb", force="mesh", process=False)
    assert len(glb.vertices) == len(mesh.vertices)
    for name in ("expression_minus", "expression_plus"):
        assert (avatar / name / "mesh.glb").stat().st_size > 0


def test_transformation_row_one_is_the_untouched_photo_generator(quick_run: Path) -> None:
    """Stage 1 trains the photo generator in place; the grid's first row must still be the photo generator."""
    from toonlift.demo.stage1 import fixed_latents

    photo = load_shipped("photo")
    ws = fixed_latents(photo, 0)
    with torch.no_grad():
        expected = photo.synthesis(ws, noise_mode="const").image.clamp(-1, 1)  # [8, 3, 64, 64]
    grid = np.asarray(Image.open(quick_run / "stage1" / "transformation.png").convert("RGB"), dtype=np.float32)
    size, pad = expected.shape[-1], 2
    for i, image in enumerate(expected):
        x = pad + i * (size + pad)
        tile = grid[pad : pad + size, x : x + size]  # row 1, column i
        want = ((image.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
        assert np.abs(tile - want).mean() < 1.0, f"column {i} of row 1 is not the photo generator's image"


def _coverage(images: torch.Tensor, analyser: FaceAnalyser) -> torch.Tensor:
    """Fraction of each image the analyser's mask head calls face ``[B]``."""
    with torch.no_grad():
        return analyser(images).mask_logits.sigmoid().gt(0.5).float().mean((1, 2, 3))


@pytest.mark.parametrize("domain", ["photo", "cartoon"])
def test_shipped_generators_draw_faces_of_their_domain(domain: str) -> None:
    g = load_shipped(domain)
    n = 96
    # a broken or random checkpoint is far from the synthetic world in the analyser's feature space
    fid = generator_fid_kid(g, domain, n, seed=123)["fid"]
    random_g = StyleGAN2Backbone(**g.arch_args()).eval()
    fid_random = generator_fid_kid(random_g, domain, n, seed=123)["fid"]
    assert fid < 0.5 * fid_random, (fid, fid_random)
    # face-like: the analyser finds a face region of the real world's size in most samples
    analyser = FaceAnalyser.load()
    with torch.no_grad():
        fake = g(torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(5)), noise_mode="const").image
    real = SyntheticFaces(domain, g.resolution, n, seed=321).render(list(range(n)))["image"]
    cov_fake, cov_real = _coverage(fake.clamp(-1, 1), analyser), _coverage(real, analyser)
    ok = (cov_fake > 0.5 * cov_real.median()) & (cov_fake < 2.0 * cov_real.median())
    assert ok.float().mean() > 0.8, (cov_fake.median(), cov_real.median())
    if domain == "cartoon":  # Stage 1 moved it toward cartoons: closer to them than the photo generator it came from
        assert fid < generator_fid_kid(load_shipped("photo"), "cartoon", n, seed=123)["fid"]
