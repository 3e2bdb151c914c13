"""The PyTorch port of dlib's face-recognition ResNet against dlib itself (dev extra: dlib-bin,
face-recognition-models, scikit-image), and its errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from toonlift.errors import CheckpointError, WeightsNotFoundError
from toonlift.plugins.identity.dlib_resnet import DlibResnetIdentityEncoder

HAVE_WEIGHTS = importlib.util.find_spec("face_recognition_models") is not None
HAVE_DLIB = importlib.util.find_spec("dlib") is not None and importlib.util.find_spec("skimage") is not None
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason="needs the dev extra face-recognition-models")

# float32 throughout on both sides; measured L2 ~1e-6 on the astronaut (descriptor norm ~1.46)
TOLERANCE_L2 = 1e-4


@pytest.fixture(scope="module")
def encoder() -> DlibResnetIdentityEncoder:
    return DlibResnetIdentityEncoder(face_box=None)


@needs_weights
@pytest.mark.skipif(not HAVE_DLIB, reason="needs the dev extras dlib-bin and scikit-image")
def test_matches_dlib_descriptor_on_a_real_face(encoder):
    import dlib
    from skimage import data

    from toonlift.plugins.identity.dlib_resnet import packaged_weights_path

    models = packaged_weights_path().parent
    image = data.astronaut()  # 512x512 RGB photograph of Eileen Collins
    rect = dlib.get_frontal_face_detector()(image, 1)[0]
    shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))(image, rect)
    chip = dlib.get_face_chip(image, shape, 150, 0.25)  # what compute_face_descriptor aligns internally
    reference = np.array(dlib.face_recognition_model_v1(str(packaged_weights_path())).compute_face_descriptor(chip))
    pixels = torch.from_numpy(chip).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        ours = encoder.features(encoder.normalise(pixels))[0].double().numpy()
    assert np.linalg.norm(ours - reference) < TOLERANCE_L2
    # the same chip through the [-1, 1] image path (bilinear resize is the identity at 150 px)
    with torch.no_grad():
        via_image = encoder(pixels / 127.5 - 1)[0].double().numpy()
    assert np.linalg.norm(via_image - reference) < TOLERANCE_L2


@needs_weights
def test_is_differentiable_and_low_level_shape(encoder):
    image = (torch.rand(2, 3, 150, 150) * 2 - 1).requires_grad_(True)
    emb = encoder(image)
    assert emb.shape == (2, 128)
    assert encoder.low_level(image).shape == (2, 32, 72, 72)
    emb.pow(2).sum().backward()
    assert image.grad.abs().sum() > 0


def test_missing_or_wrong_file_errors(tmp_path):
    with pytest.raises(
        WeightsNotFoundError, match=r"dlib_face_recognition_resnet_model_v1\.dat.*face-recognition-models"
    ):
        DlibResnetIdentityEncoder(weights=str(tmp_path / "nope.dat"))
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="no dlib DNN layers"):
        DlibResnetIdentityEncoder(weights=str(junk))
