"""``benchmarks/oneshot_table.py`` on tiny random generators: every method's record with every column, the λ sweep's
rows, resuming without recomputing, and the batched scores equal to the per-view ones."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from tests.oneshot_helpers import tiny_oneshot_models

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):  # noqa: ANN202
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(name, module)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_batched_scores_equal_the_per_view_scores() -> None:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    scores = _load("oneshot_scores")
    gen = torch.Generator().manual_seed(0)
    true = torch.rand(4, 3, 32, 32, generator=gen) * 2 - 1
    pred = (true + 0.3 * torch.randn(4, 3, 32, 32, generator=gen)).clamp(-1, 1)
    sc = scores.Scorer(0.75).images(pred, true)
    p01, t01 = (scores.crop(pred, 0.75) + 1) / 2, (scores.crop(true, 0.75) + 1) / 2
    for i in range(4):
        psnr = float(peak_signal_noise_ratio(p01[i : i + 1], t01[i : i + 1], data_range=1.0))
        ssim = float(structural_similarity_index_measure(p01[i : i + 1], t01[i : i + 1], data_range=1.0))
        assert sc["psnr"][i] == pytest.approx(psnr, abs=1e-4) and sc["ssim"][i] == pytest.approx(ssim, abs=1e-5)
    assert sc["psnr"][0] != pytest.approx(sc["psnr"][1], abs=1e-6)  # one value per view, not a batch mean
    same = scores.Scorer(0.75).images(true, true)
    assert all(d < 1e-6 for d in same["perceptual"]) and all(s == pytest.approx(1.0, abs=1e-4) for s in same["ssim"])


def test_diversity_from_features_once_equals_the_pairwise_distances() -> None:
    from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss

    scores = _load("oneshot_scores")
    perc = AnalyserPerceptualLoss().eval()
    img = torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    brute = [float(perc.distance(img[i : i + 1], img[j : j + 1])) for i in range(5) for j in range(5) if i != j]
    assert scores.pairwise_perceptual(img, perc) == pytest.approx(sum(brute) / len(brute), rel=1e-5)
    assert scores.pairwise_perceptual(img[:1].expand(3, -1, -1, -1), perc) == pytest.approx(0.0, abs=1e-6)
    s = scores.Scorer(0.75)
    row = s.summary(img, img.flip(0), [0, 1, 3, 4], [0, 1])
    per = s.images(img[[0, 1]], img.flip(0)[[0, 1]])["perceptual"]
    assert row["far_perceptual"] == pytest.approx(sum(per) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="among the scored"):
        s.summary(img, img, [0, 1], [2])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return tiny_oneshot_models(tmp_path_factory.mktemp("table_models"))


def test_the_table_writes_every_column_and_resumes(models, tmp_path: Path, capsys) -> None:
    table = _load("oneshot_table")
    out = tmp_path / "t.jsonl"
    argv = ["--generator", models["g3"], "--generator-2d", models["g2"], "--discriminator-2d", models["d2"],
            "--faces", "2", "--styles", "ink", "--steps-scale", "0.01", "--diversity", "3", "--edit-samples", "12",
            "--lambdas", "0,1", "--out", str(out)]  # fmt: skip
    table.main(argv)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    methods = [*table.METHODS, "your3demoji[0,1]"]
    assert sorted((r["method"], r["face"]) for r in rows) == sorted((m, f) for m in methods for f in (1, 2))
    image_keys = {"perceptual", "psnr", "ssim", "identity", "far_perceptual", "seconds", "prepare_s"}
    for r in rows:
        assert image_keys <= set(r)
        if r["method"] != "frame2d":
            assert {"relief", "expr_kept"} <= set(r)
            assert ("diversity_photo" in r) == (r["face"] == 1)
    # the exemplar-independent work is counted in each avatar's seconds, not hidden by the reuse
    by = {(r["method"], r["face"]): r for r in rows}
    assert by[("your3demoji", 2)]["seconds"] > by[("artmator", 2)]["seconds"] > 0
    printed = capsys.readouterr().out
    assert "| ink | your3demoji[0,1] | 2 |" in printed and "per face (all styles and methods)" in printed
    assert "optimisation steps: " in printed
    # the cost model counts what runs: at scale 1, per face 200 (2D, 7 views batched) + 150 (3D inversion) + 100 (PTI)
    # + per style 100 (dual) + 250 (PTI baseline); to prepare 200 + 200 (2D) + 300 (anchor) + 2 x 300 (stage 2)
    full = table.argparse.Namespace(steps_scale=1.0, methods=list(table.METHODS), styles=["ink"], lambdas=[])
    assert table.step_counts(full) == (1300, 800)
    full.styles, full.lambdas = ["ink", "cartoon"], [(0.0, 1.0)]
    assert table.step_counts(full) == (2600, 450 + 2 * 450)
    full.methods, full.lambdas = ["artmator"], []
    assert table.step_counts(full) == (2 * 600, 150)
    table.main(argv)  # everything is done: nothing is recomputed or appended
    assert len(out.read_text().splitlines()) == len(rows)
    assert "per face (all styles" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="LAMBDA_EXEMPLAR"):
        table.main([*argv[:-4], "--lambdas", "x", "--out", str(out)])
