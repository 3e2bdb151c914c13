"""The ``clip`` feature extractor equals open_clip's ViT at the same weights (stored reference, no open_clip here),
and without weights it fails with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from toonlift.errors import CheckpointError, ConfigError, WeightsNotFoundError
from toonlift.plugins.features.clip_vit import ClipVisionFeatureExtractor, tiny_random_clip_state

# tests/data/clip/vit_tiny_open_clip.safetensors: open_clip_torch 3.3.0 VisionTransformer (32 px, patch 8, width 64,
# 2 layers, 1 head, embed 16), random weights, CPU float32; outputs with QuickGELU and with GELU (header metadata)
REFERENCE = Path(__file__).parent / "data" / "clip" / "vit_tiny_open_clip.safetensors"
TOL = 1e-5  # same float32 kernels on both sides; measured max |diff| 0 on the machine that made the file


@pytest.mark.parametrize("activation", ["quick_gelu", "gelu"])
def test_matches_open_clip_vision_transformer(activation: str) -> None:
    ref = load_file(str(REFERENCE))
    enc = ClipVisionFeatureExtractor(str(REFERENCE), activation=activation)
    assert enc.image_size == 32 and enc.num_features == 16 and len(enc.transformer["resblocks"]) == 2
    with torch.no_grad():
        out = enc(ref["input"])
    torch.testing.assert_close(out, ref[f"output_{activation}"], atol=TOL, rtol=0)


def test_other_activation_differs_and_normalize_gives_unit_vectors() -> None:
    ref = load_file(str(REFERENCE))
    with torch.no_grad():
        wrong = ClipVisionFeatureExtractor(str(REFERENCE), activation="gelu")(ref["input"])
        unit = ClipVisionFeatureExtractor(str(REFERENCE), normalize=True)(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert (wrong - ref["output_quick_gelu"]).abs().max() > 1e-3  # the test above can tell the two apart
    torch.testing.assert_close(unit.norm(dim=1), torch.ones(2))


def test_missing_or_wrong_weights_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError, match=r"(?s)does not download.*ViT-B-32"):
        ClipVisionFeatureExtractor(str(tmp_path / "ViT-B-32.pt"))
    with pytest.raises(ConfigError, match="needs its weights file"):
        ClipVisionFeatureExtractor()
    other = tmp_path / "resnet.safetensors"
    save_file({"visual.layer1.0.conv1.weight": torch.zeros(4, 3, 1, 1)}, str(other))
    with pytest.raises(CheckpointError, match="no ViT image tower"):
        ClipVisionFeatureExtractor(str(other))


def test_reads_a_torch_state_dict_and_backpropagates(tmp_path: Path) -> None:
    path = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(tiny_random_clip_state(), path)
    enc = ClipVisionFeatureExtractor(str(path))
    x = (torch.rand(1, 3, 40, 40) * 2 - 1).requires_grad_(True)
    enc(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_reads_a_torchscript_archive_and_refuses_a_bad_file(tmp_path: Path) -> None:
    # OpenAI's ViT-B-32.pt is a TorchScript archive: a traced model with a CLIP-named ``visual`` tower stands in
    tiny = tmp_path / "tiny.safetensors"
    save_file(tiny_random_clip_state(), str(tiny))
    enc = ClipVisionFeatureExtractor(str(tiny))

    class Holder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = enc

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.visual(x)

    x = torch.rand(1, 3, 16, 16) * 2 - 1
    path = tmp_path / "ViT-tiny.pt"
    torch.jit.save(torch.jit.trace(Holder(), x), str(path))
    with torch.no_grad():
        torch.testing.assert_close(ClipVisionFeatureExtractor(str(path))(x), enc(x), atol=0, rtol=0)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        ClipVisionFeatureExtractor(str(bad))
