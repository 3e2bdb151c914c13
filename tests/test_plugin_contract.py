"""The plugin contract: every name of every registry builds from its smallest settings and behaves (timm's
``test_models.py`` idea). A plugin is covered the moment it is registered; its hooks are ``example_args`` and
``example_inputs`` (``toonlift.plugins.examples``).

Per kind: backbones map, synthesise, backpropagate, move to float64 and round-trip through the one export path;
discriminators score, backpropagate and round-trip; losses, renderers, identity encoders, feature extractors and
face parsers run forward on their example inputs with finite outputs, backward where an input is trainable, a
float64 move and a state-dict rebuild; data modules yield a batch; LightningModules build with plain (checkpoint-safe)
hyper-parameters. Landmark detectors also answer 68 points and their flags in the documented shapes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from toonlift import registry
from toonlift.lightning_modules.base import ToonModule
from toonlift.plugins.backbones.base import BackboneOutput
from toonlift.plugins.backbones.capabilities import CameraConditioned, Exportable, NoiseInputs, has
from toonlift.plugins.export import load_model, save_model
from toonlift.plugins.landmarks.base import Landmarks

REGISTRIES = [name for name in dir(registry) if isinstance(getattr(registry, name), registry.Registry)]
CASES = [(kind, name) for kind in REGISTRIES for name in getattr(registry, kind).names()]


def tensors(obj: Any) -> Iterator[Tensor]:
    """Every tensor inside an output (tensor, dataclass, mapping or sequence)."""
    if isinstance(obj, Tensor):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from tensors(getattr(obj, f.name))
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from tensors(v)


def floating(obj: Any) -> list[Tensor]:
    return [t for t in tensors(obj) if t.is_floating_point()]


def inputs_in(obj: Any, dtype: torch.dtype) -> tuple:
    """``obj.example_inputs(2)`` made with ``dtype`` as the default floating type (graph-linked inputs stay linked)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return obj.example_inputs(2)
    finally:
        torch.set_default_dtype(old)


def check_outputs(out: Any, what: str) -> list[Tensor]:
    outs = floating(out)
    assert outs, f"{what} returned no floating-point tensor"
    for t in outs:
        assert torch.isfinite(t).all(), f"{what} returned a non-finite tensor of shape {tuple(t.shape)}"
    return outs


def backward_reaches(outs: list[Tensor], leaves: list[Tensor]) -> None:
    total = sum(t.float().mean() for t in outs if t.requires_grad)
    assert isinstance(total, Tensor), "no output depends on a trainable input or parameter"
    total.backward()
    assert any(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in leaves)


def check_backbone(g: Any, tmp: Path) -> None:
    cond = g.sample_cond(2, generator=torch.Generator().manual_seed(0)) if has(g, CameraConditioned) else None
    z = g.sample_z(2, generator=torch.Generator().manual_seed(1))
    ws = g.mapping(z, cond)
    assert ws.shape == (2, g.num_ws, g.w_dim)
    out = g.synthesis(ws, cond)
    assert isinstance(out, BackboneOutput)
    assert out.image.shape == (2, 3, g.resolution, g.resolution)
    outs = check_outputs(out, "synthesis")
    backward_reaches(outs, list(g.parameters()))
    assert g.mean_latent(
        8, generator=torch.Generator().manual_seed(0), cond=None if cond is None else cond[:1]
    ).shape == (
        1,
        g.w_dim,
    )
    if has(g, NoiseInputs):
        noise = g.make_noise(2, generator=torch.Generator().manual_seed(2))
        a = g.synthesis(ws.detach(), cond, noise=noise).image
        b = g.synthesis(ws.detach(), cond, noise=noise).image
        torch.testing.assert_close(a, b)  # the same noise maps give the same images
    g64 = g.double()
    out64 = g64.synthesis(ws.detach().double(), None if cond is None else cond.double())
    assert out64.image.dtype == torch.float64 and torch.isfinite(out64.image).all()
    g.float()
    if has(g, Exportable):
        path = save_model(g, tmp / "g.safetensors")
        again = load_model(path, kind="backbones")
        torch.testing.assert_close(
            again.synthesis(ws.detach(), cond).image, g.eval().synthesis(ws.detach(), cond).image
        )


def check_discriminator(d: Any, tmp: Path) -> None:
    inputs = d.example_inputs(2)
    image = inputs[0].requires_grad_(True)
    logits = d(image, *inputs[1:])
    assert logits.shape == (2, 1)
    check_outputs(logits, "discriminator")
    backward_reaches([logits], list(d.parameters()) + [image])
    if has(d, Exportable):
        again = load_model(save_model(d, tmp / "d.safetensors"), kind="discriminators")
        torch.testing.assert_close(again(inputs[0], *inputs[1:]), d.eval()(inputs[0], *inputs[1:]))


def check_module_like(cls: type, obj: Any, tmp: Path, kind: str) -> None:
    inputs = obj.example_inputs(2)
    outs = check_outputs(obj(*inputs), f"{kind} forward")
    leaves = [x for x in tensors(inputs) if x.requires_grad] + [p for p in obj.parameters() if p.requires_grad]
    if any(t.requires_grad for t in outs):
        backward_reaches(outs, leaves)
    # a float64 copy runs on float64 inputs and answers in float64
    obj64 = cls(**cls.example_args(tmp)).double()
    out64 = floating(obj64(*inputs_in(obj64, torch.float64)))
    assert out64 and all(t.dtype == torch.float64 for t in out64), f"{kind} did not follow the move to float64"
    # a rebuilt instance filled from the state dict gives the same outputs (fresh inputs: the first graph is spent)
    rebuilt = cls(**cls.example_args(tmp))
    rebuilt.load_state_dict(obj.state_dict())
    obj.eval(), rebuilt.eval()
    for a, b in zip(floating(obj(*obj.example_inputs(2))), floating(rebuilt(*rebuilt.example_inputs(2)))):
        torch.testing.assert_close(a, b)


def check_landmark_detector(cls: type, obj: Any, tmp: Path) -> None:
    inputs = obj.example_inputs(2)
    out = obj(*inputs)
    assert isinstance(out, Landmarks), "a landmark detector returns toonlift.plugins.landmarks.base.Landmarks"
    assert out.points.shape == (2, obj.num_landmarks, 2) and out.points.dtype == inputs[0].dtype
    assert out.found.dtype == torch.bool and out.found.shape == (2,) and out.visible.shape == (2, obj.num_landmarks)
    assert out.box.shape == (2, 4) and out.score.shape == (2,)
    check_module_like(cls, obj, tmp, "landmark detector")


def check_datamodule(dm: Any) -> None:
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    check_outputs(batch, "the first training batch") if floating(batch) else None
    assert list(tensors(batch)), "the data module yielded a batch without tensors"


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k.lower()}:{n}" for k, n in CASES])
def test_plugin_contract(kind: str, name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    cls = getattr(registry, kind).get(name)
    reason = cls.unavailable() if hasattr(cls, "unavailable") else None
    if reason:
        pytest.skip(reason)
    obj = cls(**cls.example_args(tmp_path))
    if kind == "BACKBONES":
        check_backbone(obj, tmp_path)
    elif kind == "DISCRIMINATORS":
        check_discriminator(obj, tmp_path)
    elif kind == "MODULES":
        assert isinstance(obj, ToonModule)
        json.dumps(dict(obj.hparams), default=str)  # plain values: checkpoints load with weights_only=True
        assert all(not isinstance(v, torch.nn.Module) for v in obj.hparams.values())
    elif kind == "DATAMODULES":
        check_datamodule(obj)
    elif kind == "LANDMARK_DETECTORS":
        check_landmark_detector(cls, obj, tmp_path)
    else:
        check_module_like(cls, obj, tmp_path, kind.lower())


def test_every_registry_is_covered() -> None:
    assert {k for k, _ in CASES} == set(REGISTRIES)
    assert len(CASES) >= 28
