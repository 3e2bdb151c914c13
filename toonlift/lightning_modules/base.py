"""The abstract base every toonlift LightningModule subclasses, so the CLI can select any of them."""

from __future__ import annotations

from abc import ABC

import pytorch_lightning as pl

from toonlift.plugins.examples import PluginExample


class ToonModule(PluginExample, pl.LightningModule, ABC):
    """Base of toonlift's LightningModules (entry-point group ``toonlift.modules``).

    The CLI runs in subclass mode over this class: a config picks the module with ``model: {class_path: NAME}``.
    Subclasses take their parts (backbones, losses, renderers) as constructor arguments; they only wire and step.
    """
