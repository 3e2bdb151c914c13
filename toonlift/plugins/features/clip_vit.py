"""CLIP's ViT image encoder from user-supplied weights (registry ``clip``): the style encoder of 3DArtmator.

toonlift downloads nothing. The user gives the weights file of a CLIP ViT (OpenAI's ``ViT-B-32.pt`` TorchScript
archive, or open_clip's ``open_clip_pytorch_model.bin`` / ``open_clip_model.safetensors``); the architecture
(width, depth, patch and image size, output size) is read from the tensors' shapes, so any CLIP ViT loads.

The forward pass (Radford et al. 2021; open_clip ``VisionTransformer`` with token pooling):

* resize to the model's input size (bicubic), scale ``[-1, 1]`` to ``[0, 1]`` and normalise by CLIP's mean/std;
* patch embedding (``conv1``, no bias) ``[B, width, g, g]`` -> tokens ``[B, g², width]``; prepend the class token,
  add positional embeddings, ``ln_pre``;
* ``layers`` pre-norm residual blocks: ``x + attn(ln_1(x))``, ``x + mlp(ln_2(x))`` with ``heads = width / 64``
  attention heads and a 4x MLP (QuickGELU ``x·σ(1.702 x)`` for OpenAI weights, GELU for LAION's open_clip ones);
* ``ln_post`` of the class token, times ``proj`` ``[width, embed]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.features.base import FeatureExtractor
from toonlift.utils.io import require_file, safe_torch_load

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
ACTIVATIONS = ("quick_gelu", "gelu")
_HOW_TO_GET = (
    "toonlift does not download it: fetch OpenAI's ViT-B-32.pt (the URL is listed in github.com/openai/CLIP, "
    "clip/clip.py, _MODELS) or open_clip's ViT-B-32 weights (huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K, "
    "open_clip_model.safetensors; then set activation: gelu) and pass the file's path as 'weights'."
)


def read_clip_state(path: str | Path) -> dict[str, Tensor]:
    """The visual tower's tensors (keys without ``visual.``) of a CLIP weights file (safetensors, state dict or
    OpenAI's TorchScript archive)."""
    p = require_file(path, "The CLIP weights file", _HOW_TO_GET)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(p))
    else:
        try:
            state = safe_torch_load(p, what="CLIP weights file")
        except CheckpointError as err:
            # OpenAI's release is a TorchScript archive: torch.jit.load runs no Python pickle, only TorchScript
            try:
                state = torch.jit.load(str(p), map_location="cpu").state_dict()
            except RuntimeError:
                raise err from None
        if isinstance(state, nn.Module):  # torch.load hands a TorchScript archive to torch.jit.load itself
            state = state.state_dict()
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise CheckpointError(f"The CLIP weights file '{p}' holds no state dict. {_HOW_TO_GET}")
    visual = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}
    visual = visual or dict(state)  # a visual-tower-only state dict
    if "conv1.weight" not in visual or "proj" not in visual:
        raise CheckpointError(
            f"The CLIP weights file '{p}' has no ViT image tower (no visual.conv1.weight / visual.proj): a ResNet "
            f"CLIP or another model? {_HOW_TO_GET}"
        )
    return {k: v.float() for k, v in visual.items()}


class _Block(nn.Module):
    """One pre-norm transformer block (names as in CLIP: ``ln_1``, ``attn``, ``ln_2``, ``mlp.c_fc``, ``mlp.c_proj``)."""

    def __init__(self, width: int, heads: int, activation: str) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.ModuleDict({"c_fc": nn.Linear(width, 4 * width), "c_proj": nn.Linear(4 * width, width)})
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        h = self.mlp["c_fc"](self.ln_2(x))
        h = h * torch.sigmoid(1.702 * h) if self.activation == "quick_gelu" else F.gelu(h)
        return x + self.mlp["c_proj"](h)


class ClipVisionFeatureExtractor(FeatureExtractor):
    """CLIP ViT image embeddings ``[B, embed]`` (ViT-B/32: 512) from a user-supplied weights file.

    Args:
        weights: path to the CLIP weights (see the module docstring); required, never downloaded.
        activation: ``"quick_gelu"`` (OpenAI's weights) or ``"gelu"`` (LAION open_clip ``ViT-B-32``).
        normalize: return unit-norm embeddings (CLIP's cosine space).
    """

    def __init__(self, weights: str | None = None, activation: str = "quick_gelu", normalize: bool = False) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(f"clip feature extractor: activation must be one of {ACTIVATIONS}, got {activation!r}.")
        if weights is None:
            raise ConfigError(f"The 'clip' feature extractor needs its weights file ('weights: path'). {_HOW_TO_GET}")
        state = read_clip_state(weights)
        width, _, patch, _ = state["conv1.weight"].shape
        grid = int(round((state["positional_embedding"].shape[0] - 1) ** 0.5))
        layers = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
        self.image_size, self.normalize = grid * patch, bool(normalize)
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.transformer = nn.ModuleDict(
            {"resblocks": nn.ModuleList(_Block(width, max(1, width // 64), activation) for _ in range(layers))}
        )
        self.proj = nn.Parameter(torch.zeros(width, state["proj"].shape[1]))
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))
        own = self.state_dict()
        extra = sorted(k for k in state if k not in own)
        if extra:
            raise CheckpointError(
                f"The CLIP weights '{weights}' have tensors this ViT does not know ({', '.join(extra[:4])}...): not "
                "a plain CLIP ViT with token pooling."
            )
        state.update({"mean": self.mean, "std": self.std})
        self.load_state_dict(state, strict=True)
        self.requires_grad_(False).eval()

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        """A tiny random CLIP ViT (width 64, 2 layers, 16-px input) written to ``workdir``."""
        from safetensors.torch import save_file

        path = Path(workdir) / "tiny_clip.safetensors"
        save_file(tiny_random_clip_state(), str(path))
        return {"weights": str(path)}

    @property
    def num_features(self) -> int:
        return self.proj.shape[1]

    def forward(self, image: Tensor) -> Tensor:
        """Embeddings ``[B, embed]`` of images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable)."""
        x = image.to(self.proj.dtype)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size,) * 2, mode="bicubic", align_corners=False, antialias=True)
        x = ((x + 1) / 2 - self.mean) / self.std
        x = self.conv1(x).flatten(2).transpose(1, 2)  # [B, g², width]
        cls = self.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        for block in self.transformer["resblocks"]:
            x = block(x)
        out = self.ln_post(x[:, 0]) @ self.proj
        return F.normalize(out, dim=1) if self.normalize else out


def tiny_random_clip_state(width: int = 64, layers: int = 2, patch: int = 4, grid: int = 4, embed: int = 16) -> dict:
    """Random tensors in CLIP's naming (prefix ``visual.``) for tests and the contract hooks."""
    gen = torch.Generator().manual_seed(0)

    def rnd(*shape: int, scale: float = 0.05) -> Tensor:
        return torch.randn(*shape, generator=gen) * scale

    s = {
        "conv1.weight": rnd(width, 3, patch, patch),
        "class_embedding": rnd(width),
        "positional_embedding": rnd(grid * grid + 1, width),
        "ln_pre.weight": 1 + rnd(width),
        "ln_pre.bias": rnd(width),
        "ln_post.weight": 1 + rnd(width),
        "ln_post.bias": rnd(width),
        "proj": rnd(width, embed),
    }
    for i in range(layers):
        b = f"transformer.resblocks.{i}."
        s |= {
            b + "ln_1.weight": 1 + rnd(width),
            b + "ln_1.bias": rnd(width),
            b + "attn.in_proj_weight": rnd(3 * width, width, scale=0.1),
            b + "attn.in_proj_bias": rnd(3 * width),
            b + "attn.out_proj.weight": rnd(width, width, scale=0.1),
            b + "attn.out_proj.bias": rnd(width),
            b + "ln_2.weight": 1 + rnd(width),
            b + "ln_2.bias": rnd(width),
            b + "mlp.c_fc.weight": rnd(4 * width, width, scale=0.1),
            b + "mlp.c_fc.bias": rnd(4 * width),
            b + "mlp.c_proj.weight": rnd(width, 4 * width, scale=0.1),
            b + "mlp.c_proj.bias": rnd(width),
        }
    return {"visual." + k: v for k, v in s.items()}
