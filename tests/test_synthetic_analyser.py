"""The face analyser: the shipped weights' accuracy on fresh seeds, the three plugins, training and export."""

from __future__ import annotations

import json

import pytest
import pytorch_lightning as pl
import torch

from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.errors import CheckpointError
from toonlift.lightning_modules.analyser import AnalyserModule, face_mask_target, r2_score
from toonlift.registry import FACE_PARSERS, FEATURE_EXTRACTORS, IDENTITY_ENCODERS
from toonlift.synthetic.analyser import DEFAULT_WEIGHTS, FaceAnalyser
from toonlift.synthetic.analyser_eval import evaluate_analyser
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params

# Accuracy the shipped analyser must reach on seeds it never saw (documented in BENCHMARKS.md, measured there on
# 512 faces of seed 1000; here re-measured on 256 faces of seed 4242 with a margin for the smaller sample).
# Of the expressions only jaw opening and blinks are read (R^2 0.95 and ~0.6 in BENCHMARKS.md); smiles, brows and the
# other small blendshapes move too few pixels at 64 px and are not read yet, so they have no threshold.
THRESHOLDS = {"pose": 0.9, "light": 0.85, "identity": 0.2, "expression": 0.1}
PER_COEFFICIENT = {
    ("pose", "yaw"): 0.95,
    ("identity", "head_width"): 0.8,
    ("identity", "hair_volume"): 0.8,
    ("identity", "jaw_width"): 0.7,
    ("expression", "jaw_open"): 0.8,
    ("expression", "blink_left"): 0.35,
    ("expression", "blink_right"): 0.35,
}
MAX_YAW_MAE_DEG = 6.0
MIN_MASK_IOU = 0.85


def test_r2_score() -> None:
    t = torch.randn(100, 3)
    torch.testing.assert_close(r2_score(t, t), torch.ones(3))
    torch.testing.assert_close(r2_score(t.mean(0).expand_as(t), t), torch.zeros(3), atol=1e-6, rtol=0)


def test_shipped_analyser_accuracy_on_fresh_seeds() -> None:
    report = evaluate_analyser(FaceAnalyser.load(), seed=4242, count=256)
    for group, threshold in THRESHOLDS.items():
        assert report[group]["r2"]["mean"] >= threshold, (group, report[group]["r2"])
    for (group, name), threshold in PER_COEFFICIENT.items():
        assert report[group]["r2"][name] >= threshold, (group, name, report[group]["r2"][name])
    assert report["pose"]["mae"]["yaw"] <= MAX_YAW_MAE_DEG, report["pose"]["mae"]


def test_parser_mask_matches_ground_truth() -> None:
    parser = FACE_PARSERS.build("synthetic_parser")
    out = FaceRenderer()(sample_params(4243, range(32)), "photo", 64, outputs=("parts",))
    pred = parser(out["image"]) > 0.5  # [B, 1, 64, 64]
    true = face_mask_target(out["parts"], 64) > 0.5
    iou = (pred & true).sum() / (pred | true).sum()
    assert iou >= MIN_MASK_IOU, iou


def test_plugins_shapes_and_gradients() -> None:
    enc = IDENTITY_ENCODERS.build("synthetic_analyser")
    feat = FEATURE_EXTRACTORS.build("synthetic_analyser")
    img = FaceRenderer()(sample_params(5, range(2)), "photo", 96, outputs=())["image"].requires_grad_(True)
    emb = enc(img)
    assert emb.shape == (2, enc.embedding_dim) == (2, 17)
    assert enc.low_level(img).shape == (2, 64, 16, 16)
    assert enc.expression(img).shape == (2, 12)
    assert feat(img).shape == (2, feat.num_features) == (2, 256)
    emb.sum().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    enc.train()
    assert not enc.analyser.training  # batch-norm statistics stay frozen


def test_corrupt_weights_are_refused(tmp_path) -> None:
    bad = tmp_path / "analyser.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError):
        FaceAnalyser.load(bad)
    other = tmp_path / "other.safetensors"
    FaceAnalyser(width=8).save(other)
    meta = json.loads(other.with_suffix(".json").read_text())
    meta["architecture"] = "Something"
    other.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a toonlift face-analyser"):
        FaceAnalyser.load(other)


def test_training_and_export_round_trip(tmp_path) -> None:
    dm = SyntheticFacesDataModule(
        resolution=32,
        num_samples=8,
        batch_size=4,
        outputs=["image", "identity", "expression", "pose", "light", "parts"],
        val_samples=4,
    )
    out = tmp_path / "analyser.safetensors"
    module = AnalyserModule(width=8, export_path=str(out))
    trainer = pl.Trainer(
        max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(module, dm)
    loaded = FaceAnalyser.load(out)
    assert loaded.width == 8
    x = torch.zeros(1, 3, 64, 64)
    module.analyser.eval()
    torch.testing.assert_close(loaded(x).identity, module.analyser(x).identity)
    assert json.loads(out.with_suffix(".json").read_text())["trained_steps"] == 2


def test_shipped_file_is_small() -> None:
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 8 * 2**20
