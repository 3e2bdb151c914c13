"""FID/KID: a set against itself is ~0, against noise it is large; Inception weights are never downloaded."""

from __future__ import annotations

import pytest
import torch

from tests.helpers_stage1 import register_random_conv_extractor, write_image_folder
from toonlift.datamodules.image_folder import ImageFolderDataModule
from toonlift.errors import WeightsNotFoundError
from toonlift.metrics.generative import GenerativeMetrics, build_feature_extractor


def _real_images(tmp_path, n=24):
    dm = ImageFolderDataModule(str(write_image_folder(tmp_path / "imgs", n=n, size=20)), resolution=16, hflip=False)
    dm.setup()
    ds = dm._dataset(dm.train_records, hflip=False)
    return torch.stack([ds[i] for i in range(len(ds))])


def test_fid_of_a_set_against_itself_is_zero_and_against_noise_large(tmp_path):
    extractor = build_feature_extractor(register_random_conv_extractor())
    real = _real_images(tmp_path)
    metrics = GenerativeMetrics(extractor.num_features)
    with torch.no_grad():
        feats = extractor(real)
        metrics.update(feats, real=True)
        metrics.update(feats, real=False)
        same = metrics.compute()
        metrics.reset()
        noise = torch.rand(real.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        metrics.update(feats, real=True)
        metrics.update(extractor(noise), real=False)
        far = metrics.compute()
    assert abs(float(same["fid"])) < 1e-3
    assert float(far["fid"]) > 1.0
    assert float(far["fid"]) > 1e3 * max(abs(float(same["fid"])), 1e-9)
    assert float(far["kid_mean"]) > 10 * abs(float(same["kid_mean"]))


def test_inception_needs_a_user_supplied_weights_file(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="inception_weights"):
        build_feature_extractor("inception", None)
    with pytest.raises(WeightsNotFoundError, match="pt_inception-2015-12-05"):
        build_feature_extractor("inception", str(tmp_path / "missing.pth"))
