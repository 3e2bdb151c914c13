"""EG3D equals NVlabs/eg3d at the same weights, latent, camera and noise (stored reference tensors, no NVlabs code).

``tests/data/eg3d/*.safetensors`` hold inputs and outputs of NVlabs' ``TriPlaneGenerator`` / ``DualDiscriminator``
(commit 7cf1fd1, run on CPU with deterministic depth sampling: no stratified jitter, importance samples at
``linspace(0, 1, n)``), whose weights were copied from a toonlift model filled by ``eg3d_helpers.seeded_state`` through
the converter's key mapping. Each file's metadata records the architecture and the seed. Configurations: ``small``
(256-px tri-planes of narrow widths, 16^2 rays with 12 + 12 samples, ``hybrid2x`` to 128 px, batch 2) and
``official`` (EG3D's FFHQ 512 generator at 64^2 rays, 48 + 48 samples, ``hybrid8xdc``; the image is stored at every
8th pixel and as a 64^2 centre crop).
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from tests.eg3d_helpers import DATA, seeded
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator

TOL = 1e-4


def reference(name: str) -> tuple[dict[str, torch.Tensor], dict, int]:
    path = DATA / f"{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return load_file(str(path)), json.loads(meta["arch"]), int(meta["seed"])


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


def check_generator(name: str) -> None:
    ref, arch, seed = reference(name)
    g = seeded(EG3DBackbone(**arch), seed)
    with torch.no_grad():
        ws = g.mapping(ref["z"], ref["c"])
        out = g.synthesis(ws, ref["c"], noise_mode="const")
    assert max_err(ws, ref["ws"]) <= TOL
    assert max_err(out.image_raw, ref["image_raw"]) <= TOL
    assert max_err(out.depth, ref["depth"]) <= TOL
    if "image" in ref:
        assert max_err(out.image, ref["image"]) <= TOL
    else:
        assert max_err(out.image[:, :, ::8, ::8], ref["image_stride8"]) <= TOL
        assert max_err(out.image[:, :, 224:288, 224:288], ref["image_crop"]) <= TOL
    # the comparison has teeth: the render is not flat and depends on the camera
    assert out.image.std() > 0.05 and out.depth.std() > 1e-3


def test_generator_small_equals_nvlabs() -> None:
    check_generator("generator_small")


@pytest.mark.slow
def test_generator_official_ffhq512_equals_nvlabs() -> None:
    check_generator("generator_official")


def test_dual_discriminator_equals_nvlabs() -> None:
    ref, arch, seed = reference("discriminator_small")
    d = seeded(EG3DDualDiscriminator(**arch), seed)
    with torch.no_grad():
        logits = d(ref["image"], ref["c"], ref["image_raw"])
    assert max_err(logits, ref["logits"]) <= 1e-5
    assert ref["logits"].std() > 0.01
