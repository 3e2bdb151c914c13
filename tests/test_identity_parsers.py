"""ArcFace IR-SE50 and BiSeNet load random weights saved in the released files' exact key layouts, strictly.

The layouts below are written out from the reference architectures (InsightFace_Pytorch ``Backbone(50, "ir_se")``,
face-parsing.PyTorch ``BiSeNet(19)``), independently of toonlift's modules; the parameter counts match the released
files' sizes (175.3 MB and 53.3 MB of float32).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from toonlift.errors import CheckpointError, WeightsNotFoundError
from toonlift.plugins.identity.arcface import ArcFaceIdentityEncoder
from toonlift.plugins.parsers.bisenet import BiSeNetFaceParser


def _bn(shapes: dict, prefix: str, c: int) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"{prefix}.{name}"] = (c,)
    shapes[f"{prefix}.num_batches_tracked"] = ()


def arcface_ir_se50_layout() -> dict[str, tuple]:
    s: dict[str, tuple] = {"input_layer.0.weight": (64, 3, 3, 3), "input_layer.2.weight": (64,)}
    _bn(s, "input_layer.1", 64)
    unit, in_ch = 0, 64
    for depth, count in ((64, 3), (128, 4), (256, 14), (512, 3)):
        for _ in range(count):
            p = f"body.{unit}"
            if in_ch != depth:
                s[f"{p}.shortcut_layer.0.weight"] = (depth, in_ch, 1, 1)
                _bn(s, f"{p}.shortcut_layer.1", depth)
            _bn(s, f"{p}.res_layer.0", in_ch)
            s[f"{p}.res_layer.1.weight"] = (depth, in_ch, 3, 3)
            s[f"{p}.res_layer.2.weight"] = (depth,)
            s[f"{p}.res_layer.3.weight"] = (depth, depth, 3, 3)
            _bn(s, f"{p}.res_layer.4", depth)
            s[f"{p}.res_layer.5.fc1.weight"] = (depth // 16, depth, 1, 1)
            s[f"{p}.res_layer.5.fc2.weight"] = (depth, depth // 16, 1, 1)
            unit, in_ch = unit + 1, depth
    _bn(s, "output_layer.0", 512)
    s["output_layer.3.weight"], s["output_layer.3.bias"] = (512, 512 * 7 * 7), (512,)
    _bn(s, "output_layer.4", 512)
    return s


def bisenet_layout(n_classes: int = 19) -> dict[str, tuple]:
    s: dict[str, tuple] = {"cp.resnet.conv1.weight": (64, 3, 7, 7)}
    _bn(s, "cp.resnet.bn1", 64)
    for i, (cin, cout) in enumerate(((64, 64), (64, 128), (128, 256), (256, 512)), start=1):
        for b in range(2):
            p = f"cp.resnet.layer{i}.{b}"
            first_in = cin if b == 0 else cout
            s[f"{p}.conv1.weight"] = (cout, first_in, 3, 3)
            _bn(s, f"{p}.bn1", cout)
            s[f"{p}.conv2.weight"] = (cout, cout, 3, 3)
            _bn(s, f"{p}.bn2", cout)
            if b == 0 and i > 1:
                s[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                _bn(s, f"{p}.downsample.1", cout)

    def cbr(prefix: str, cin: int, cout: int, k: int) -> None:
        s[f"{prefix}.conv.weight"] = (cout, cin, k, k)
        _bn(s, f"{prefix}.bn", cout)

    for name, cin in (("arm16", 256), ("arm32", 512)):
        cbr(f"cp.{name}.conv", cin, 128, 3)
        s[f"cp.{name}.conv_atten.weight"] = (128, 128, 1, 1)
        _bn(s, f"cp.{name}.bn_atten", 128)
    cbr("cp.conv_head32", 128, 128, 3)
    cbr("cp.conv_head16", 128, 128, 3)
    cbr("cp.conv_avg", 512, 128, 1)
    cbr("ffm.convblk", 256, 256, 1)
    s["ffm.conv1.weight"], s["ffm.conv2.weight"] = (64, 256, 1, 1), (256, 64, 1, 1)
    for name, cin, mid in (("conv_out", 256, 256), ("conv_out16", 128, 64), ("conv_out32", 128, 64)):
        cbr(f"{name}.conv", cin, mid, 3)
        s[f"{name}.conv_out.weight"] = (n_classes, mid, 1, 1)
    return s


def random_state(layout: dict[str, tuple], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith("running_mean") or key.endswith("bias"):
            state[key] = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # BN gamma, PReLU slope
            state[key] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            state[key] = torch.randn(shape, generator=g) / fan_in**0.5
    return state


@pytest.fixture(scope="module")
def arcface_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w") / "model_ir_se50.pth"
    torch.save(random_state(arcface_ir_se50_layout()), path)
    return path


@pytest.fixture(scope="module")
def bisenet_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w") / "79999_iter.pth"
    torch.save(random_state(bisenet_layout()), path)
    return path


def test_layouts_have_the_released_sizes():
    count = lambda layout: sum(int(torch.tensor(s).prod()) for s in layout.values())  # noqa: E731
    assert count(arcface_ir_se50_layout()) == 43_824_118  # x4 bytes = 175.3 MB = model_ir_se50.pth
    assert count(bisenet_layout()) == 13_313_119  # x4 bytes = 53.3 MB = 79999_iter.pth


def test_arcface_loads_the_layout_strictly_and_embeds(arcface_file):
    enc = ArcFaceIdentityEncoder(str(arcface_file))
    state = torch.load(arcface_file, weights_only=True)
    for key, value in state.items():
        assert torch.equal(enc.state_dict()[key], value), key
    image = (torch.rand(1, 3, 64, 64) * 2 - 1).requires_grad_(True)
    emb = enc(image)
    assert emb.shape == (1, 512)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(1))
    assert enc.low_level(image).shape == (1, 64, 56, 56)
    emb.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_arcface_rejects_other_layouts(tmp_path, arcface_file):
    state = torch.load(arcface_file, weights_only=True)
    del state["body.3.res_layer.1.weight"]
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(CheckpointError, match=r"missing \['body.3.res_layer.1.weight'\]"):
        ArcFaceIdentityEncoder(str(bad))


def test_bisenet_loads_strictly_and_masks_the_face(bisenet_file, tmp_path):
    parser = BiSeNetFaceParser(str(bisenet_file), input_size=64)
    image = torch.rand(2, 3, 48, 48) * 2 - 1
    logits = parser.logits(image)
    assert logits.shape == (2, 19, 64, 64)
    mask = parser(image)
    assert mask.shape == (2, 1, 48, 48)
    labels = parser.labels(image)
    assert torch.equal(mask[:, 0].bool(), (labels != 0) & (labels != 16))
    # steer the final classifier: all evidence for "cloth" -> nothing is face; for "skin" -> everything is
    state = torch.load(bisenet_file, weights_only=True)
    for label, expected in ((16, 0.0), (1, 1.0)):
        w = torch.zeros_like(state["conv_out.conv_out.weight"])
        w[label] = 1.0
        state["conv_out.conv_out.weight"] = w
        path = tmp_path / f"steer{label}.pth"
        torch.save(state, path)
        steered = BiSeNetFaceParser(str(path), input_size=64)
        steered.cp.resnet.bn1.bias.data.fill_(5.0)  # keep ReLU features positive so the steered class wins
        assert (steered(image) == expected).float().mean() > 0.99


def test_missing_weights_name_the_file_and_where_it_comes_from(tmp_path):
    with pytest.raises(WeightsNotFoundError, match=r"model_ir_se50\.pth.*InsightFace_Pytorch"):
        ArcFaceIdentityEncoder(str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsNotFoundError, match=r"79999_iter\.pth.*face-parsing\.PyTorch"):
        BiSeNetFaceParser(str(tmp_path / "nope.pth"))
    not_weights = tmp_path / "list.pth"
    torch.save([1, 2], not_weights)
    with pytest.raises(CheckpointError, match="not a state dict"):
        BiSeNetFaceParser(str(not_weights))
