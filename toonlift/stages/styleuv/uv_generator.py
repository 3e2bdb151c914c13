"""StyleFaceUV's 3D generator: the StyleGAN2 synthesis with an extra head for a diffuse and a displacement UV map.

The official ``Generator3D`` adds a ``uv_conv`` ToRGB on the last block and applies ``tanh`` to both maps. Here the
synthesis is a copy of the user's generator (so training starts from it), its own RGB path gives the diffuse map
(at the start the map *is* the generator's image, a face roughly where the rig's azimuth/elevation unwrap puts
it), and the extra head, a 4-channel ToRGB on the last block fed by the last W+ layer, adds a residual to the
diffuse map and gives the displacement (``tanh``). The head starts at zero, so the untrained model reproduces the
generator's image as its texture with a flat displacement.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.layers import ToRGB
from toonlift.utils.io import load_safetensors, save_safetensors

FORMAT = "toonlift.styleuv.uv_generator"


class UVGenerator(nn.Module):
    """W+ codes ``[B, L, D]`` -> diffuse ``[B, 3, T, T]`` (about ``[-1, 1]``) and displacement ``[B, 1, T, T]``
    (``[-1, 1]``), ``T`` = the generator's resolution.

    Args:
        generator: the StyleGAN2 generator to start from (copied; the original is not touched).
    """

    def __init__(self, generator: StyleGAN2Backbone) -> None:
        super().__init__()
        if not isinstance(generator, StyleGAN2Backbone):
            raise ConfigError(
                f"UVGenerator builds on the StyleGAN2 synthesis (its blocks and ToRGB layers); got "
                f"{type(generator).__name__}. Load a StyleGAN2 export with toonlift.plugins.export.load_model."
            )
        self.synthesis_net = copy.deepcopy(generator).train().requires_grad_(True)
        last = self.synthesis_net.channels[self.synthesis_net.size]
        self.uv_head = ToRGB(last, self.synthesis_net.style_dim, upsample=False, out_channel=4)
        with torch.no_grad():
            self.uv_head.conv.weight.zero_()
        self.last_block = f"block_{self.synthesis_net.size}"

    @property
    def size(self) -> int:
        return self.synthesis_net.size

    def arch_args(self) -> dict:
        return {"generator": self.synthesis_net.arch_args()}

    def forward(self, w_plus: Tensor) -> tuple[Tensor, Tensor]:
        out = self.synthesis_net.synthesis(w_plus, noise_mode="const", return_features=(self.last_block,))
        head = self.uv_head(out.features[self.last_block], out.ws[:, -1])
        diffuse = out.image + head[:, :3]
        return diffuse, torch.tanh(head[:, 3:])


def save_uv_generator(path: str | Path, model: UVGenerator, meta: dict | None = None) -> Path:
    """Write the UV generator (safetensors + JSON sidecar with its generator's architecture)."""
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(path, tensors, {"format": FORMAT, "version": 1, **model.arch_args(), **(meta or {})})
    return Path(path)


def load_uv_generator(path: str | Path) -> tuple[UVGenerator, dict]:
    """Rebuild a UV generator from its file (strict), in eval mode, with its sidecar."""
    tensors, meta = load_safetensors(path, what="StyleFaceUV UV generator")
    if meta.get("format") != FORMAT:
        raise ConfigError(
            f"'{path}' is not a StyleFaceUV UV generator (format {meta.get('format')!r}); train one with "
            "`python cli.py fit --config configs/styleuv_synthetic.yaml`."
        )
    model = UVGenerator(StyleGAN2Backbone(**meta["generator"]))
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        raise ConfigError(f"'{path}': the UV generator's weights do not fit its architecture ({err}).") from err
    return model.eval().requires_grad_(False), meta


__all__ = ["UVGenerator", "load_uv_generator", "save_uv_generator"]
