"""The renderer interface: differentiable image formation in pure PyTorch (CPU and GPU)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from torch import nn

from toonlift.plugins.examples import PluginExample
from toonlift.utils import checks


class Renderer(PluginExample, nn.Module, ABC):
    """Abstract renderer (entry-point group ``toonlift.renderers``).

    Args:
        image_size: output side in pixels.
    """

    def __init__(self, image_size: int = 64) -> None:
        super().__init__()
        checks.at_least(type(self).__name__, "image_size", image_size, 1)
        self.image_size = int(image_size)

    @abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Render; the inputs and the output dataclass are documented by each renderer."""
