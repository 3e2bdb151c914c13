"""The trained small parts of StyleFaceUV in one file: ``F_3D`` (:class:`CoeffMLP`), the yaw direction ``d`` and
``F_yaw`` (:class:`YawStepMLP`). Safetensors (prefixed state dicts + ``yaw_normal``) with a JSON sidecar holding
their architectures and the figures measured when they were trained."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP
from toonlift.stages.styleuv.yaw import YawStepMLP
from toonlift.utils.io import load_safetensors, save_safetensors

FORMAT = "toonlift.styleuv.parts"
_HOW = "Train them with `python -m toonlift.stages.styleuv.train_parts --pairs DIR --out FILE`."


@dataclass
class StyleUVParts:
    """``coeff`` (style code -> rig latent), ``yaw_normal [D]`` and ``yaw_step`` (asked yaw -> step along it)."""

    coeff: CoeffMLP
    yaw_normal: Tensor
    yaw_step: YawStepMLP
    metrics: dict = field(default_factory=dict)

    def requires_grad_(self, flag: bool) -> StyleUVParts:
        self.coeff.requires_grad_(flag)
        self.yaw_step.requires_grad_(flag)
        return self


def save_parts(path: str | Path, parts: StyleUVParts) -> Path:
    """Write the parts (atomically) and return the path."""
    tensors = {f"coeff.{k}": v for k, v in parts.coeff.state_dict().items()}
    tensors.update({f"yaw_step.{k}": v for k, v in parts.yaw_step.state_dict().items()})
    tensors["yaw_normal"] = parts.yaw_normal.float()
    meta = {
        "format": FORMAT,
        "version": 1,
        "coeff": parts.coeff.arch_args(),
        "yaw_step": parts.yaw_step.arch_args(),
        "metrics": parts.metrics,
    }
    save_safetensors(path, {k: v.detach().float().contiguous() for k, v in tensors.items()}, meta)
    return Path(path)


def load_parts(path: str | Path) -> StyleUVParts:
    """Read a parts file (strict), in eval mode."""
    tensors, meta = load_safetensors(path, what="StyleFaceUV parts file")
    if meta.get("format") != FORMAT:
        raise ConfigError(f"'{path}' is not a StyleFaceUV parts file (format {meta.get('format')!r}). {_HOW}")
    coeff = CoeffMLP(**meta["coeff"])
    yaw_step = YawStepMLP(**meta["yaw_step"])
    for prefix, module in (("coeff.", coeff), ("yaw_step.", yaw_step)):
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(state)
        except RuntimeError as err:
            msg = f"'{path}': the {prefix[:-1]} weights do not fit their architecture ({err}). {_HOW}"
            raise ConfigError(msg) from err
    return StyleUVParts(coeff.eval(), tensors["yaw_normal"], yaw_step.eval(), dict(meta.get("metrics", {})))


__all__ = ["StyleUVParts", "load_parts", "save_parts"]
