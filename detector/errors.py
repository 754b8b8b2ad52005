"""Domain errors of egid.

A user's bad file, directory or configuration raises :class:`InputError`, whose message is a single line
of the form ``<path>: <problem>``. The command line catches it, prints that line and exits with status 2,
without a traceback. Programming errors keep their ordinary exceptions and tracebacks.
"""

from __future__ import annotations

__all__ = ("ECHO_LIMIT", "InputError", "shorten")

ECHO_LIMIT = 80
"""Most characters of a user's value (a YAML scalar, a dtype, a library's message) echoed in an error line."""


class InputError(ValueError):
    """A user-supplied file, directory or setting cannot be used; the message names it and the problem."""


def shorten(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr``-free one-line text of ``value`` cut to ``limit`` characters, so an error line stays short.

    Line breaks become spaces; a cut value ends in ``...`` and says how long it was.
    """
    text = " ".join(str(value).split())
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"
