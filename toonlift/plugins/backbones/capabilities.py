"""Capabilities: what a stage may ask of a backbone (or discriminator) beyond the small :class:`Backbone` contract.

``Backbone`` promises only sizes, ``mapping``, ``synthesis`` and ``sample_z``. Anything else a stage uses is a
*capability*: a named set of methods a backbone offers or not. Each stage lists the capabilities it needs at its
door and calls :func:`require` once, at construction; a backbone that lacks one is refused with one message naming
the capability, the stage and the registered backbones that have it. No stage probes a backbone's internals.

=====================  ==========================================================  ===========================
capability             methods                                                     used by
=====================  ==========================================================  ===========================
``NoiseInputs``        ``make_noise(batch, generator, device)``; ``synthesis(...,   Stage 1 (same noise for both
                       noise=list)``                                               generators)
``FeatureTaps``        ``feature_names()``, ``structure_feature_names(n)``;          Stage 1 (structure loss,
                       ``synthesis(..., return_features, swap_features)``           feature swap), Stage 2
``MappingSplit``       ``split_mapping(tail_layers) -> (head, tail)``               Stage 3 (latent projector)
``StyleModulation``    ``modulation_weights(layers, convention)``                   Stage 2 (SeFa)
``CameraConditioned``  ``sample_cond(n, generator, device)``, ``default_cond(n,     EG3D-type backbones; every
                       device)``; ``cond_dim > 0``                                  caller that samples images
``Exportable``         ``arch_args()``, classmethod ``from_arch(arch)``             export / re-build (all)
``BlockFeatures`` (D)  ``block_features(image, n)``, ``feature_block_count()``         Stage 3 (feature loss)
``FreezableBlocks`` (D)  ``block_parameters(k)``                                    Stage 1 (FreezeD)
=====================  ==========================================================  ===========================

The protocols are :func:`typing.runtime_checkable`, so a third-party backbone needs no toonlift base class to
offer one: defining the methods is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError


@runtime_checkable
class NoiseInputs(Protocol):
    """Per-layer noise maps that two generators can share (``synthesis(..., noise=maps)``)."""

    def make_noise(
        self, batch: int = 1, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> list[Tensor]:
        """One standard-normal map per noise input, each ``[batch, 1, r, r]``."""
        ...


NOISE_MODES = ("const", "random", "none")


def select_noise(
    noise: list[Tensor] | None,
    noise_mode: str,
    count: int,
    stored: Callable[[], list[Tensor]],
    fresh: Callable[[], list[Tensor]],
) -> list[Tensor | None]:
    """The noise maps a synthesis call uses: the caller's ``noise`` (exactly ``count`` maps), else by ``noise_mode``
    the backbone's stored maps (``"const"``), fresh ones (``"random"``) or none (``"none"``).

    Raises:
        ConfigError: a wrong number of maps, or an unknown mode.
    """
    if noise is not None:
        if len(noise) != count:
            raise ConfigError(f"noise must hold {count} maps (one per noise input), got {len(noise)}.")
        return list(noise)
    if noise_mode == "const":
        return list(stored())
    if noise_mode == "random":
        return list(fresh())
    if noise_mode == "none":
        return [None] * count
    raise ConfigError(f"noise_mode must be one of {', '.join(NOISE_MODES)}; got {noise_mode!r}.")


@runtime_checkable
class FeatureTaps(Protocol):
    """Named intermediate synthesis features that can be read (``return_features``) and replaced
    (``swap_features``), e.g. for the structure loss and the feature-level layer swap."""

    def feature_names(self) -> list[str]:
        """Every name ``return_features``/``swap_features`` accept, coarsest first."""
        ...

    def structure_feature_names(self, num_blocks: int) -> list[str]:
        """The ``num_blocks`` coarsest synthesis blocks after the constant input (the paper's ``G^k``, k = 1..n)."""
        ...


@runtime_checkable
class MappingSplit(Protocol):
    """A mapping network that splits into ``head`` (z → hidden) and ``tail`` (hidden → w), both ``nn.Module``."""

    def split_mapping(self, tail_layers: int) -> tuple[nn.Module, nn.Module]:
        """``(head, tail)`` with ``tail(head(z))`` equal to the single-``w`` mapping of ``z``."""
        ...


@runtime_checkable
class StyleModulation(Protocol):
    """The style-modulation weights (rows map ``w`` to one channel's style) that SeFa factorises."""

    def modulation_weights(self, layers: Sequence[int] | str = "all", convention: str = "rosinality") -> list[Tensor]:
        """Weights ``[C_l, w_dim]`` of the chosen layers in the given convention (see ``functional.sefa``)."""
        ...


@runtime_checkable
class CameraConditioned(Protocol):
    """A backbone whose ``mapping``/``synthesis`` take a camera (``cond [B, cond_dim]``)."""

    def sample_cond(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """``n`` cameras drawn from the training distribution, ``[n, cond_dim]``."""
        ...

    def default_cond(self, n: int, device: torch.device | str | None = None) -> Tensor:
        """``n`` copies of the canonical (frontal) camera, ``[n, cond_dim]``."""
        ...


@runtime_checkable
class Exportable(Protocol):
    """A model that can be rebuilt from its architecture arguments (the JSON sidecar of an export)."""

    def arch_args(self) -> dict[str, Any]:
        """Constructor arguments that fix the architecture (JSON-serialisable)."""
        ...

    @classmethod
    def from_arch(cls, arch: dict[str, Any]) -> Any:
        """A randomly initialised model of that architecture."""
        ...


@runtime_checkable
class BlockFeatures(Protocol):
    """A discriminator whose first blocks' outputs can be read (Stage 3's feature loss)."""

    def block_features(self, image: Tensor, num_blocks: int) -> list[Tensor]:
        """Outputs of the first ``num_blocks`` blocks for images ``[B, 3, H, W]``."""
        ...

    def feature_block_count(self) -> int:
        """How many blocks ``block_features`` can return."""
        ...


@runtime_checkable
class FreezableBlocks(Protocol):
    """A discriminator whose input-side blocks can be frozen (FreezeD)."""

    def block_parameters(self, num_blocks: int) -> Iterator[nn.Parameter]:
        """Parameters of the first ``num_blocks`` blocks from the input side."""
        ...


CAPABILITIES: dict[str, type] = {
    c.__name__: c
    for c in (
        NoiseInputs,
        FeatureTaps,
        MappingSplit,
        StyleModulation,
        CameraConditioned,
        Exportable,
        BlockFeatures,
        FreezableBlocks,
    )
}


def has(model: object, capability: type) -> bool:
    """Whether ``model`` (an instance or a class) offers ``capability``."""
    if isinstance(model, type):
        return issubclass(model, capability)
    return isinstance(model, capability)


def _offered_by(capability: type, registry_attr: str) -> list[str]:
    """Registered plugin names (of the registry ``registry_attr``) whose class offers ``capability``."""
    from toonlift import registry  # imported late: the registry imports plugins lazily by name

    reg = getattr(registry, registry_attr)
    names = []
    for name in reg.names():
        try:
            cls = reg.get(name)
        except Exception:  # noqa: BLE001 - a broken third-party plugin must not hide this message
            continue
        if has(cls, capability):
            names.append(name)
    return names


def require(model: object, *capabilities: type, stage: str, role: str = "backbone") -> None:
    """Refuse ``model`` with one :class:`ConfigError` unless it offers every capability.

    Args:
        model: the backbone (or discriminator) a stage was given.
        capabilities: the protocols the stage needs.
        stage: the stage's name for the message, e.g. ``"Stage 3 (VLDA)"``.
        role: ``"backbone"`` or ``"discriminator"`` (which registry to list alternatives from).
    """
    missing = [c for c in capabilities if not has(model, c)]
    if not missing:
        return
    registry_attr = "BACKBONES" if role == "backbone" else "DISCRIMINATORS"
    parts = []
    for cap in missing:
        methods = ", ".join(n for n in cap.__dict__ if not n.startswith("_") and callable(cap.__dict__[n]))
        offered = _offered_by(cap, registry_attr)
        where = f"registered {role}s that have it: {', '.join(offered)}" if offered else f"no registered {role} has it"
        parts.append(f"{cap.__name__} ({methods}; {where})")
    raise ConfigError(
        f"{stage} needs a {role} with the capability {'; '.join(parts)}, which {type(model).__name__} lacks. "
        f"Choose a {role} that offers it, or implement those methods (see docs/architecture.md)."
    )
