"""The StyleGAN2 generator as a toonlift backbone, state-dict compatible with rosinality/stylegan2-pytorch.

Layer / latent layout (``size = 2 ** L``, ``num_ws = 2 L - 2``; 14 at 256 px):

=====================  ==========================  ======================  =====================================
module                 resolution                  latent ``ws[:, i]``     noise buffer
=====================  ==========================  ======================  =====================================
``input``              4 (learned constant)        --                      --
``conv1``              4                           0                       ``noises.noise_0``
``to_rgb1``            4                           1                       --
``convs[2k]`` (up)     ``2 ** (k + 3)``            ``2k + 1``              ``noises.noise_{2k+1}``
``convs[2k+1]``        ``2 ** (k + 3)``            ``2k + 2``              ``noises.noise_{2k+2}``
``to_rgbs[k]``         ``2 ** (k + 3)``            ``2k + 3``              --
=====================  ==========================  ======================  =====================================

Feature taps: ``"block_4"`` is the ``conv1`` output and ``"block_{res}"`` the output of ``convs[2k+1]`` (before its
ToRGB), e.g. ``("block_8", "block_16")`` for the Stage-1 structure loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import Backbone, BackboneOutput
from toonlift.plugins.backbones.capabilities import select_noise
from toonlift.plugins.stylegan2.layers import ConstantInput, EqualLinear, PixelNorm, StyledConv, ToRGB
from toonlift.plugins.stylegan2.modulation import modulation_weights


def stylegan2_channels(
    size: int, channel_multiplier: int = 2, channel_max: int = 512, channel_base: int | None = None
) -> dict[int, int]:
    """Channels per resolution: ``min(channel_max, channel_base // res)``.

    Rosinality's table (512 up to 32 px, then ``2**(14 - log2 res) * cm``) is exactly this rule with
    ``channel_base = 16384 * cm`` and ``channel_max = 512``; an explicit ``channel_base`` (StyleGAN2-ADA's name)
    narrows the high-resolution blocks of small models without touching the low-resolution ones.
    """
    base_total = 16384 * channel_multiplier if channel_base is None else channel_base
    table = {}
    res = 4
    while res <= size:
        table[res] = max(1, min(channel_max, base_total // res))
        res *= 2
    return table


def check_widths(**values: int | None) -> None:
    """Raise a :class:`ConfigError` naming every width argument that is not a positive integer (``None`` passes)."""
    bad = [f"{k}={v!r}" for k, v in values.items() if v is not None and (not isinstance(v, int) or v < 1)]
    if bad:
        raise ConfigError(f"StyleGAN2 widths must be positive integers, got {', '.join(bad)}.")


def check_size(size: int, what: str = "size") -> int:
    """Validate a power-of-two resolution in [8, 1024]."""
    if not isinstance(size, int) or size < 8 or size > 1024 or size & (size - 1):
        raise ConfigError(f"StyleGAN2 {what} must be a power of two between 8 and 1024, got {size!r}.")
    return size


class StyleGAN2Backbone(Backbone):
    """StyleGAN2 generator (rosinality layout: its ``g``/``g_ema`` state dicts load strictly).

    Args:
        size: output resolution (power of two, 8-1024).
        style_dim: size of ``z`` and ``w`` (512 in every released model).
        n_mlp: layers of the mapping network.
        channel_multiplier: width multiplier of the 64 px and larger blocks (2 for config-F FFHQ).
        channel_max: cap on every block's channels (512 = reference; e.g. 32 for tiny CPU models).
        channel_base: width budget ``C(res) = min(channel_max, channel_base // res)``; ``None`` = rosinality's table
            (``16384 * channel_multiplier``). E.g. 4096 gives 128/128/128/128/64 channels at 4..64 px.
        lr_mlp: learning-rate multiplier of the mapping network.
        checkpoint: a rosinality ``.pt`` checkpoint or a toonlift ``.safetensors`` export (with its ``.json``
            sidecar) to load at construction; ``None`` keeps the random initialisation.
        checkpoint_key: which generator of a ``.pt`` checkpoint to load (``g_ema`` or ``g``).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"size": 16, "style_dim": 16, "n_mlp": 2, "channel_max": 16}

    def __init__(
        self,
        size: int = 256,
        style_dim: int = 512,
        n_mlp: int = 8,
        channel_multiplier: int = 2,
        channel_max: int = 512,
        channel_base: int | None = None,
        lr_mlp: float = 0.01,
        checkpoint: str | None = None,
        checkpoint_key: str = "g_ema",
    ) -> None:
        super().__init__()
        self.size = check_size(size)
        check_widths(style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=channel_multiplier, channel_max=channel_max)
        check_widths(channel_base=channel_base)
        self.style_dim, self.n_mlp = style_dim, n_mlp
        self.channel_multiplier, self.channel_max, self.lr_mlp = channel_multiplier, channel_max, lr_mlp
        self.channel_base = channel_base
        self.channels = stylegan2_channels(size, channel_multiplier, channel_max, channel_base)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1  # noise inputs / StyledConvs
        self.n_latent = self.log_size * 2 - 2

        self.style = nn.Sequential(
            PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True) for _ in range(n_mlp)]
        )
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, style_dim)
        self.to_rgb1 = ToRGB(c4, style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        in_ch = c4
        for log_res in range(3, self.log_size + 1):
            out_ch = self.channels[2**log_res]
            self.convs.append(StyledConv(in_ch, out_ch, style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, style_dim))
            self.to_rgbs.append(ToRGB(out_ch, style_dim))
            in_ch = out_ch
        # W average from a converted checkpoint (``latent_avg``); not part of rosinality's state dict
        self.register_buffer("latent_avg", torch.zeros(style_dim), persistent=False)
        self.has_latent_avg = False
        # memory layout of activations: None = channels-last on CPU, contiguous elsewhere
        self.channels_last: bool | None = None
        self.checkpoint = checkpoint
        if checkpoint is not None:
            from toonlift.plugins.stylegan2.checkpoint import load_generator_checkpoint

            load_generator_checkpoint(self, checkpoint, checkpoint_key)

    # ------------------------------------------------------------------ sizes
    @property
    def resolution(self) -> int:
        return self.size

    @property
    def z_dim(self) -> int:
        return self.style_dim

    @property
    def w_dim(self) -> int:
        return self.style_dim

    @property
    def num_ws(self) -> int:
        return self.n_latent

    def arch_args(self) -> dict:
        """Constructor arguments that fix the architecture (what the safetensors sidecar stores)."""
        return {
            "size": self.size,
            "style_dim": self.style_dim,
            "n_mlp": self.n_mlp,
            "channel_multiplier": self.channel_multiplier,
            "channel_max": self.channel_max,
            "lr_mlp": self.lr_mlp,
            # only written when set, so sidecars of rosinality-width models stay as they were
            **({"channel_base": self.channel_base} if self.channel_base is not None else {}),
        }

    def export_state(self) -> dict[str, Tensor]:
        """The rosinality state dict, plus ``latent_avg`` when the generator has one (the truncation centre)."""
        tensors = dict(self.state_dict())
        if self.has_latent_avg:
            tensors["latent_avg"] = self.latent_avg
        return tensors

    def load_export_state(self, tensors: dict[str, Tensor], source: str) -> None:
        """Fill from an export's tensors (strict, with the StyleGAN2 architecture in the message)."""
        from toonlift.plugins.stylegan2.checkpoint import load_state_strict, set_latent_avg

        tensors = dict(tensors)
        set_latent_avg(self, tensors.pop("latent_avg", None))
        load_state_strict(self, tensors, source, ", ".join(f"{k}={v}" for k, v in self.arch_args().items()))

    def feature_names(self) -> list[str]:
        """Names accepted by ``return_features`` / ``swap_features``: ``block_4`` ... ``block_{size}``."""
        return [f"block_{2**i}" for i in range(2, self.log_size + 1)]

    def structure_feature_names(self, num_blocks: int) -> list[str]:
        """The ``num_blocks`` coarsest upsampling blocks' outputs (``block_8``, ``block_16``, ...): the paper's
        ``G^k`` of the structure loss (the 4 px block holds only the constant input's first conv)."""
        names = self.feature_names()[1:]
        if not 1 <= num_blocks <= len(names):
            raise ConfigError(
                f"the structure loss can compare 1 to {len(names)} blocks of this {self.size} px StyleGAN2 "
                f"({', '.join(names)}), got num_blocks={num_blocks}."
            )
        return names[:num_blocks]

    def split_mapping(self, tail_layers: int) -> tuple[nn.Module, nn.Module]:
        """``(head, tail)`` of the mapping network (``PixelNorm`` + ``n_mlp`` linear layers), the tail being its last
        ``tail_layers`` layers (GAN2Shape's ``F1_d``); ``tail(head(z)) == get_latent(z)``."""
        n = len(self.style)
        if not 1 <= tail_layers < n:
            raise ConfigError(
                f"tail_layers must be in [1, {n - 1}] for this mapping network of {n - 1} layers, got {tail_layers}."
            )
        return self.style[: n - tail_layers], self.style[n - tail_layers :]

    def modulation_weights(self, layers: Sequence[int] | str = "all", convention: str = "rosinality") -> list[Tensor]:
        """Style-modulation weights ``[C_l, style_dim]`` that SeFa stacks (see ``toonlift.functional.sefa``).

        Args:
            layers: ``"all"`` or W+ indices (only the genforce convention chooses layers).
            convention: ``"rosinality"`` (conv1, to_rgb1 and every conv, the filter of its
                ``closed_form_factorization.py``) or ``"genforce"`` (the modulated conv fed by each chosen W+
                index; the last index is the final ToRGB).
        """
        return modulation_weights(self, layers, convention)

    # ------------------------------------------------------------------ mapping
    def get_latent(self, z: Tensor) -> Tensor:
        """Mapping network: ``z [B, style_dim] -> w [B, style_dim]``."""
        return self.style(z)

    def _truncate(self, w: Tensor, truncation: float, truncation_latent: Tensor | None) -> Tensor:
        if truncation == 1.0:
            return w
        if truncation_latent is None:
            if not self.has_latent_avg:
                raise ConfigError(
                    f"truncation={truncation} needs a truncation_latent (e.g. backbone.mean_latent(4096)); this "
                    "generator has no stored latent_avg."
                )
            truncation_latent = self.latent_avg
        truncation_latent = truncation_latent.to(w)
        return truncation_latent + truncation * (w - truncation_latent)

    def mapping(
        self,
        z: Tensor,
        cond: Tensor | None = None,
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
    ) -> Tensor:
        """``z [B, style_dim]`` -> W+ ``[B, num_ws, style_dim]`` (same ``w`` on every layer), truncated toward
        ``truncation_latent`` (default: the checkpoint's ``latent_avg``) when ``truncation < 1``. ``cond`` is unused.
        """
        del cond
        w = self._truncate(self.get_latent(z), truncation, truncation_latent)
        return w.unsqueeze(1).repeat(1, self.n_latent, 1)

    # ------------------------------------------------------------------ noise
    def make_noise(
        self, batch: int = 1, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> list[Tensor]:
        """One standard-normal map per noise input, ``[batch, 1, res, res]`` (4, 8, 8, 16, 16, ...).

        Pass the same list to two generators' :meth:`synthesis` to give them the same random noise.
        """
        device = self.input.input.device if device is None else device
        return [
            torch.randn(batch, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2), generator=generator, device=device)
            for i in range(self.num_layers)
        ]

    def _noise_list(self, batch: int, noise_mode: str, noise: list[Tensor] | None) -> list[Tensor | None]:
        stored = lambda: [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]  # noqa: E731
        return select_noise(noise, noise_mode, self.num_layers, stored, lambda: self.make_noise(batch))

    # ------------------------------------------------------------------ synthesis
    def synthesis(
        self,
        ws: Tensor,
        cond: Tensor | None = None,
        noise_mode: str = "const",
        return_features: tuple[str, ...] = (),
        noise: list[Tensor] | None = None,
        swap_features: dict[str, Tensor] | None = None,
    ) -> BackboneOutput:
        """Render latents (``[B, w_dim]`` or W+ ``[B, num_ws, w_dim]``) to images ``[B, 3, size, size]``.

        Args:
            ws: latents.
            cond: unused.
            noise_mode: ``"const"`` (stored buffers), ``"random"`` (fresh per call) or ``"none"``.
            return_features: block outputs to return, e.g. ``("block_8", "block_16")``.
            noise: explicit noise maps (one per layer, see :meth:`make_noise`); overrides ``noise_mode``.
            swap_features: block outputs to *replace* (feature-level layer swap), e.g. ``{"block_16": t}``; the
                replacement feeds that block's ToRGB and everything after it. ``features`` still reports the
                block's own output.
        """
        del cond
        ws = self.broadcast_ws(ws)
        batch = ws.shape[0]
        names = set(self.feature_names())
        swap_features = dict(swap_features or {})
        unknown = (set(return_features) | set(swap_features)) - names
        if unknown:
            raise ConfigError(f"unknown StyleGAN2 feature(s) {sorted(unknown)}; available: {self.feature_names()}")
        noises = self._noise_list(batch, noise_mode, noise)
        features: dict[str, Tensor] = {}

        def tap(name: str, out: Tensor) -> Tensor:
            if name in return_features:
                features[name] = out
            if name in swap_features:
                new = swap_features[name]
                if new.shape[1:] != out.shape[1:] or new.shape[0] not in (1, batch):
                    raise ConfigError(
                        f"swap_features['{name}'] has shape {tuple(new.shape)}, expected {tuple(out.shape)}"
                    )
                return new.to(out).expand_as(out)
            return out

        out = self.input(batch)
        if self.channels_last is True or (self.channels_last is None and out.device.type == "cpu"):
            # oneDNN's depthwise (blur) and transposed convolutions are much faster in NHWC
            out = out.contiguous(memory_format=torch.channels_last)
        out = self.conv1(out, ws[:, 0], noises[0])
        out = tap("block_4", out)
        skip = self.to_rgb1(out, ws[:, 1])
        for k, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * k](out, ws[:, 2 * k + 1], noises[2 * k + 1])
            out = self.convs[2 * k + 1](out, ws[:, 2 * k + 2], noises[2 * k + 2])
            out = tap(f"block_{2 ** (k + 3)}", out)
            skip = to_rgb(out, ws[:, 2 * k + 3], skip)
        return BackboneOutput(image=skip.contiguous(), ws=ws, features=features)

    def set_fused_modconv(self, fused: bool | None) -> None:
        """Choose the modulated-convolution formulation (``None`` = automatic; see ``functional.modconv``)."""
        for m in self.modules():
            if hasattr(m, "fused") and hasattr(m, "modulation"):
                m.fused = fused
