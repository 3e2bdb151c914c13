"""The demo's Stage-2 direction: an InterFaceGAN ``jaw_open`` boundary that Stage 2 reads as a directions file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from toonlift.demo.assets import load_shipped
from toonlift.demo.stage1 import fixed_latents
from toonlift.demo.stage2 import expression_boundary, search_identity
from toonlift.stages.offsets.directions import load_directions
from toonlift.stages.offsets.evaluation import analyser_readout


def test_the_boundary_opens_the_jaw_and_is_a_directions_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    photo = load_shipped("photo")
    _, read, names = analyser_readout()
    path, info = expression_boundary(photo, read, names, latents=200, seed=0, folder=tmp_path)
    eigvec = load_directions(path)  # what OffsetModule(directions_file=...) reads
    assert eigvec.shape == (photo.w_dim, 1)
    n = eigvec[:, 0]
    assert abs(float(n.norm()) - 1.0) < 1e-5
    assert set(info) == {"yaw", "pitch", "jaw"} and info["jaw"]["val_accuracy"] > 0.7
    # walking it opens the jaw on fresh latents (measured +0.15 per unit step on 64 latents; require a clear sign)
    ws = fixed_latents(photo, 4321, 16)
    jaw = names.index("expr_jaw_open")
    with torch.no_grad():
        plus = read(photo.synthesis(ws + 3 * n, noise_mode="const").image)[:, jaw]
        minus = read(photo.synthesis(ws - 3 * n, noise_mode="const").image)[:, jaw]
    assert float((plus - minus).mean()) > 0.15


def test_search_identity_is_a_real_face_network_when_installed() -> None:
    name, encoder = search_identity()
    assert name in ("dlib_resnet", "synthetic_analyser")
    # the dev extra installs dlib's weights: then the loss must use them, not silently fall back to the analyser
    if importlib.util.find_spec("face_recognition_models") is not None:
        assert name == "dlib_resnet"
    emb = encoder(torch.zeros(2, 3, 64, 64))
    assert emb.shape[0] == 2 and torch.isfinite(emb).all()
