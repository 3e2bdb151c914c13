"""User-facing errors.

Every error a user can fix (a missing folder, a corrupt checkpoint, a bad config value, missing weights) is a
:class:`ToonliftError`. The CLI prints its message as one paragraph and exits non-zero, without a traceback
(set ``TOONLIFT_DEBUG=1`` to see it). Messages name the thing that is wrong and say how to fix it.
"""

from __future__ import annotations


class ToonliftError(Exception):
    """Base of every error whose message is meant for the user."""


class ConfigError(ToonliftError, ValueError):
    """A configuration value is invalid."""


class DataError(ToonliftError):
    """A data set, folder or image cannot be used."""


class CheckpointError(ToonliftError):
    """A checkpoint or weights file is missing, corrupt, hostile or does not match the model."""


class WeightsNotFoundError(CheckpointError, FileNotFoundError):
    """Pretrained weights the user must supply were not found at the given path."""


class NonFiniteError(ToonliftError, FloatingPointError):
    """A loss or tensor became NaN or infinite."""


class OutputError(ToonliftError):
    """An output folder or file cannot be written (permissions, a read-only or full disk, a file in the way)."""
