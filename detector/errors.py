"""Domain errors of egid.

A user's bad file, directory or configuration raises :class:`InputError`, whose message is a single line
of the form ``<path>: <problem>``. The command line catches it, prints that line and exits with status 2,
without a traceback. Programming errors keep their ordinary exceptions and tracebacks.
"""

from __future__ import annotations

__all__ = ("InputError",)


class InputError(ValueError):
    """A user-supplied file, directory or setting cannot be used; the message names it and the problem."""
