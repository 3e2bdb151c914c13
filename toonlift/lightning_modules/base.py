"""The abstract base every toonlift LightningModule subclasses, so the CLI can select any of them."""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

from toonlift.errors import CheckpointError
from toonlift.plugins.examples import PluginExample
from toonlift.utils.checkpoint_files import state_mismatch_summary


class ToonModule(PluginExample, pl.LightningModule, ABC):
    """Base of toonlift's LightningModules (entry-point group ``toonlift.modules``).

    The CLI runs in subclass mode over this class: a config picks the module with ``model: {class_path: NAME}``.
    Subclasses take their parts (backbones, losses, renderers) as constructor arguments; they only wire and step.
    """

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """``nn.Module.load_state_dict``, with a mismatch (a checkpoint of another architecture or module, e.g. from
        ``--ckpt_path``) raised as one :class:`~toonlift.errors.CheckpointError` paragraph instead of torch's list of
        every tensor."""
        try:
            return super().load_state_dict(state_dict, strict=strict, assign=assign)
        except RuntimeError as err:
            if "Error(s) in loading state_dict" not in str(err):
                raise
            summary = state_mismatch_summary(self.state_dict(), dict(state_dict))
            raise CheckpointError(
                f"The checkpoint's weights do not match this {type(self).__name__}: {summary}. It was written by a "
                "different architecture or module; resume with the config that wrote it, or start a new run "
                "without --ckpt_path (or in another output folder)."
            ) from err
