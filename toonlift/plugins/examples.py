"""The two hooks every plugin kind offers to the plugin contract tests (``tests/test_plugin_contract.py``).

A plugin is covered by the contract test the moment it is registered: the test builds it with
``cls(**cls.example_args(workdir))`` and calls it on ``example_inputs()``. The defaults suit plugins whose
constructor needs no argument and whose kind fixes the input (an image); a plugin that needs files (weights, a data
folder) writes small ones into ``workdir``, and a plugin whose ``forward`` takes other inputs says what they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


class PluginExample:
    """Mixin of the plugin base classes: the smallest working instance and inputs for its ``forward``."""

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        """Constructor arguments of the smallest working instance (tiny sizes, random weights allowed).

        Args:
            workdir: an empty folder for any file the instance needs (weights, images).
        """
        del workdir
        return {}

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this plugin cannot run in this environment (an optional package or model file is not installed), or
        ``None``. The contract test skips such a plugin with this reason instead of failing; a plugin whose needs
        are in toonlift's own requirements or ``dev`` extra never says so."""
        return None

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        """Positional inputs for one ``forward`` call on a batch of ``batch`` examples.

        The default is a random RGB image batch ``[batch, 3, 64, 64]`` in ``[-1, 1]`` (image-in plugins).
        """
        gen = torch.Generator().manual_seed(0)
        return (torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1,)
