"""The abstract base every toonlift LightningModule subclasses, so the CLI can select any of them."""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import Any, ClassVar

import pytorch_lightning as pl

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.examples import PluginExample
from toonlift.utils.checkpoint_files import state_mismatch_summary


class ToonModule(PluginExample, pl.LightningModule, ABC):
    """Base of toonlift's LightningModules (entry-point group ``toonlift.modules``).

    The CLI runs in subclass mode over this class: a config picks the module with ``model: {class_path: NAME}``.
    Subclasses take their parts (backbones, losses, renderers) as constructor arguments; they only wire and step.

    Attributes:
        own_step_limit: the module's own setting that bounds its training where ``--trainer.max_steps`` cannot (a
            module that steps several optimizers per iteration: Lightning counts each step); ``None`` when
            ``trainer.max_steps`` means what Lightning says.
    """

    own_step_limit: ClassVar[str | None] = None

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


def check_step_limit(module: pl.LightningModule, max_steps: int | None) -> None:
    """Refuse ``--trainer.max_steps`` for a module that cannot honour it, naming the setting that does.

    Raises:
        ConfigError: ``max_steps`` is set and the module declares ``own_step_limit``.
    """
    setting = getattr(type(module), "own_step_limit", None)
    if setting is not None and max_steps is not None and max_steps >= 0:
        raise ConfigError(
            f"--trainer.max_steps {max_steps} cannot bound {type(module).__name__}: Lightning counts every optimizer "
            f"step, and one iteration of this module takes several, so the run would stop inside an iteration. Set "
            f"{setting} instead (and leave trainer.max_steps at -1)."
        )
