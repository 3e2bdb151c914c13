"""One way for a ``python -m ...`` command to end on a toonlift error: one ``toonlift: error:`` line, exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from toonlift.errors import ToonliftError


def run_reporting_errors(body: Callable[[], int]) -> int:
    """Run ``body``; a :class:`~toonlift.errors.ToonliftError` becomes one line on stderr and exit status 2.

    Bad input is the user's to fix, so the message (which names the thing and the fix) is all they see: no traceback.
    Other exceptions are bugs and propagate with their traceback.
    """
    try:
        return body()
    except ToonliftError as err:
        sys.stderr.write(f"toonlift: error: {err}\n")
        return 2
