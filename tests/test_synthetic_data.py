"""The synthetic data module, its cache, the export script and the registry entries."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.errors import ConfigError
from toonlift.registry import DATAMODULES, MODULES
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.synthetic.export import export_folder, main
from toonlift.utils.io import load_safetensors


def test_registered() -> None:
    assert DATAMODULES.get("synthetic_faces") is SyntheticFacesDataModule
    assert MODULES.get("analyser").__name__ == "AnalyserModule"


def test_data_module_batches() -> None:
    dm = SyntheticFacesDataModule(
        resolution=32, num_samples=6, batch_size=4, outputs=["image", "depth", "expression", "landmarks_visible"]
    )
    dm.val_samples = 2
    batches = list(dm.train_dataloader())
    assert [len(b["index"]) for b in batches] == [4, 2]
    b = batches[0]
    assert b["image"].shape == (4, 3, 32, 32) and b["depth"].shape == (4, 1, 32, 32)
    assert b["expression"].shape == (4, 12) and b["landmarks_visible"].dtype == torch.bool
    assert sorted(torch.cat([x["index"] for x in batches]).tolist()) == list(range(6))
    val = next(iter(dm.val_dataloader()))
    # validation comes from another seed: different faces
    assert not torch.equal(val["expression"], b["expression"][:2])


def test_item_equals_batch_row() -> None:
    ds = SyntheticFaces("cartoon", 32, 5, seed=3, outputs=("image", "pose"))
    batch = ds.__getitems__([4, 1])
    single = ds[1]
    # the same face whatever the batch; the image up to float rounding (matmul kernels may sum in another order
    # for another batch size: one ulp, 2.4e-7, seen with torch 2.14)
    torch.testing.assert_close(batch[1]["image"], single["image"], atol=1e-6, rtol=0)
    assert torch.equal(batch[1]["pose"], single["pose"])
    with pytest.raises(IndexError):
        ds[5]


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="domain"):
        SyntheticFacesDataModule(domain="watercolour")
    with pytest.raises(ConfigError, match="ground truth"):
        SyntheticFacesDataModule(outputs=["image", "thoughts"])
    with pytest.raises(ConfigError):
        SyntheticFacesDataModule(batch_size=0)


def test_cache_round_trip(tmp_path) -> None:
    a = SyntheticFaces("photo", 32, 4, seed=1, outputs=("image", "landmarks_visible"), cache_dir=tmp_path)
    files = list(tmp_path.glob("*.safetensors"))
    assert len(files) == 1
    b = SyntheticFaces("photo", 32, 4, seed=1, outputs=("image", "landmarks_visible"), cache_dir=tmp_path)
    fresh = SyntheticFaces("photo", 32, 4, seed=1, outputs=("image", "landmarks_visible"))
    for i in range(4):
        assert torch.equal(a[i]["image"], b[i]["image"])
        # rendered alone instead of in a batch: equal up to float rounding of batched kernels
        torch.testing.assert_close(b[i]["image"], fresh[i]["image"], atol=1e-4, rtol=0)
        assert b[i]["landmarks_visible"].dtype == torch.bool


def test_export_folder(tmp_path) -> None:
    out = tmp_path / "toons"
    assert main(["--out", str(out), "--domain", "ink", "--count", "3", "--resolution", "32", "--ground-truth"]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["00000000.png", "00000001.png", "00000002.png"]
    assert Image.open(pngs[0]).size == (32, 32)
    assert json.loads((out / "meta.json").read_text())["domain"] == "ink"
    gt, _ = load_safetensors(out / "ground_truth.safetensors")
    assert gt["identity"].shape == (3, 17) and gt["landmarks"].shape == (3, 68, 2)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary folder left behind
    # an existing folder is refused without --overwrite, and nothing is touched
    assert main(["--out", str(out), "--count", "1", "--resolution", "16"]) == 2
    assert len(list(out.glob("*.png"))) == 3
    export_folder(out, "photo", 1, 16, overwrite=True)
    assert len(list(out.glob("*.png"))) == 1
