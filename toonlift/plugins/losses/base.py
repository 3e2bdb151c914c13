"""The loss interface: a weighted, named ``nn.Module`` wrapping a pure function of :mod:`toonlift.functional`."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample
from toonlift.utils import checks


class Loss(PluginExample, nn.Module, ABC):
    """Abstract loss (entry-point group ``toonlift.losses``).

    Args:
        weight: multiplier applied by the training module (``weight * loss(...)``); 0 disables the term.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        checks.non_negative(type(self).__name__, "weight", weight)  # NaN and negative weights fail here, not mid-run
        self.weight = float(weight)

    @property
    def name(self) -> str:
        """Key under which the term is logged."""
        return type(self).__name__.removesuffix("Loss").lower()

    @property
    def enabled(self) -> bool:
        """Whether the term contributes (a zero weight skips its computation)."""
        return self.weight != 0.0

    @abstractmethod
    def forward(self, *args: Tensor, **kwargs: Tensor) -> Tensor:
        """The unweighted scalar loss."""
