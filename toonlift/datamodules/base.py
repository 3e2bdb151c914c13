"""The abstract base every toonlift LightningDataModule subclasses, so the CLI can select any of them."""

from __future__ import annotations

from abc import ABC

import pytorch_lightning as pl

from toonlift.plugins.examples import PluginExample


class ToonDataModule(PluginExample, pl.LightningDataModule, ABC):
    """Base of toonlift's DataModules (entry-point group ``toonlift.datamodules``).

    A config picks the data module with ``data: {class_path: NAME}``.
    """
