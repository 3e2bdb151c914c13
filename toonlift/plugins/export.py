"""One export/load path for every generator and discriminator: safetensors + a JSON sidecar read through the registry.

An export is ``name.safetensors`` (the model's :meth:`export_state`) and ``name.json``::

    {"format": "toonlift.model", "version": 2, "kind": "backbones", "name": "stylegan2",
     "class_path": "toonlift.plugins.stylegan2.generator.StyleGAN2Backbone", "arch": {...}, ...provenance}

:func:`load_model` rebuilds the model with ``from_arch(arch)`` (capability ``Exportable``) and fills it strictly.
The class is found **by its registry name** and must be the class that name is registered to: a sidecar cannot make
toonlift import an arbitrary module (importing runs code). Exports written before round 2 carry
``"format": "toonlift.stylegan2.generator"`` / ``".discriminator"`` and load the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.errors import CheckpointError
from toonlift.plugins.backbones.capabilities import Exportable, require
from toonlift.utils.io import load_safetensors, require_file, save_safetensors

MODEL_FORMAT = "toonlift.model"
KINDS = ("backbones", "discriminators")
# sidecars of round-1 exports: format -> (kind, registry name)
LEGACY_FORMATS = {
    "toonlift.stylegan2.generator": ("backbones", "stylegan2"),
    "toonlift.stylegan2.discriminator": ("discriminators", "stylegan2"),
}
HOW_TO_EXPORT = (
    "Export models with toonlift (`toonlift export-generator`, or the `export_path` of a training run), which writes "
    "the .safetensors file and its .json sidecar side by side."
)


def _registry(kind: str) -> Any:
    from toonlift import registry

    return {"backbones": registry.BACKBONES, "discriminators": registry.DISCRIMINATORS}[kind]


def _registered_class(reg: Any, name: str) -> type | None:
    try:
        return reg.get(name)
    except Exception:  # noqa: BLE001 - a broken third-party plugin is simply not this model's class
        return None


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _kind_of(model: nn.Module) -> str:
    from toonlift.plugins.backbones.base import Backbone
    from toonlift.plugins.discriminators.base import Discriminator

    if isinstance(model, Backbone):
        return "backbones"
    if isinstance(model, Discriminator):
        return "discriminators"
    raise CheckpointError(f"Only backbones and discriminators can be exported this way, not {type(model).__name__}.")


def model_meta(model: nn.Module) -> dict[str, Any]:
    """``{"kind", "name", "class_path", "arch"}`` of a model: what rebuilds it (``name`` is None if unregistered)."""
    kind = _kind_of(model)
    require(model, Exportable, stage="Exporting a model", role=kind[:-1])
    path = _class_path(type(model))
    reg = _registry(kind)
    name = next((n for n in reg.names() if _registered_class(reg, n) is type(model)), None)
    return {"kind": kind, "name": name, "class_path": path, "arch": model.arch_args()}


def save_model(model: nn.Module, path: str | Path, provenance: dict[str, Any] | None = None) -> Path:
    """Export ``model`` to ``path`` (``.safetensors``) and its JSON sidecar, both written atomically.

    Args:
        model: a backbone or discriminator offering ``Exportable``.
        path: destination ending in ``.safetensors``.
        provenance: extra JSON-serialisable facts for the sidecar (config, seed, machine, ...).
    """
    p = Path(path)
    if p.suffix != ".safetensors":
        raise CheckpointError(f"Export path '{p}' must end in .safetensors.")
    meta = {"format": MODEL_FORMAT, "version": 2, **model_meta(model)}
    if meta["name"] is None:
        raise CheckpointError(
            f"{type(model).__name__} is not registered under an entry point of toonlift.{meta['kind']}, so an export "
            "of it could not be loaded again. Register it (see docs/architecture.md) before exporting."
        )
    if provenance:
        meta["training"] = provenance
    save_safetensors(p, model.export_state(), meta)
    return p


def read_export_meta(path: str | Path) -> tuple[dict[str, Tensor], dict[str, Any], str, str]:
    """``(tensors, meta, kind, name)`` of an export, with the kind and registry name resolved and checked."""
    p = require_file(path, "The model export", HOW_TO_EXPORT)
    tensors, meta = load_safetensors(p, what="model export")
    legacy = LEGACY_FORMATS.get(str(meta.get("format")))
    if legacy is not None:
        kind, name = legacy
    elif meta.get("format") == MODEL_FORMAT and meta.get("kind") in KINDS and isinstance(meta.get("name"), str):
        kind, name = meta["kind"], meta["name"]
    else:
        raise CheckpointError(
            f"'{p}' is a safetensors file but its sidecar '{p.with_suffix('.json')}' does not describe a toonlift "
            f"model export (format={meta.get('format')!r}). {HOW_TO_EXPORT}"
        )
    if not isinstance(meta.get("arch"), dict):
        raise CheckpointError(f"The sidecar of '{p}' has no 'arch' object; the export is damaged. {HOW_TO_EXPORT}")
    reg = _registry(kind)
    if name not in reg:
        raise CheckpointError(
            f"'{p}' was exported from the {kind[:-1]} '{name}', which is not installed here (registered: "
            f"{', '.join(reg.names()) or 'none'}). Install the package that provides it."
        )
    declared = meta.get("class_path")
    actual = _class_path(reg.get(name))
    if declared is not None and declared != actual:
        raise CheckpointError(
            f"'{p}' names the class '{declared}' for '{name}', but '{name}' is registered to '{actual}'. Refusing "
            "to guess; re-export it with this toonlift."
        )
    return tensors, meta, kind, name


def load_model(path: str | Path, kind: str | None = None) -> nn.Module:
    """Rebuild a model from an export (``.safetensors`` + sidecar) alone, in eval mode.

    Args:
        path: the ``.safetensors`` file.
        kind: ``"backbones"`` or ``"discriminators"`` to insist on one (a discriminator given where a generator is
            expected is refused with a message saying so); ``None`` accepts either.
    """
    tensors, meta, found, name = read_export_meta(path)
    if kind is not None and found != kind:
        raise CheckpointError(
            f"'{path}' holds a {found[:-1]} ('{name}'), but a {kind[:-1]} is needed here. Give the "
            f"{kind[:-1]}'s export instead."
        )
    cls = _registry(found).get(name)
    require(cls, Exportable, stage=f"Loading '{path}'", role=found[:-1])
    with torch.random.fork_rng(devices=[]):  # building draws random weights; keep the caller's stream untouched
        model = cls.from_arch(meta["arch"])
    model.load_export_state(tensors, f"The export '{path}'")
    return model.eval()


def load_state_checked(module: nn.Module, state: dict[str, Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with one message listing what differs, and a refusal of NaN weights."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}" for k, v in own.items()
              if k in state and state[k].shape != v.shape]  # fmt: skip
    if missing or unexpected or shapes:
        found = (("shape mismatch(es)", shapes), ("missing key(s)", missing), ("unexpected key(s)", unexpected))
        parts = [f"{len(x)} {label}: {', '.join(x[:6])}{' ...' if len(x) > 6 else ''}" for label, x in found if x]
        raise CheckpointError(f"{source} does not match {type(module).__name__}: {'; '.join(parts)}.")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{source} contains NaN or infinite values in {', '.join(bad[:5])}; the file is corrupt.")
    module.load_state_dict(state, strict=True)
