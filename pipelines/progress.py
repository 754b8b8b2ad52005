"""When the command line draws progress bars."""

from __future__ import annotations

import sys

__all__ = ("progress_bars",)


def progress_bars() -> bool:
    """Whether commands draw progress bars: only on a terminal, not into log files, CI output or notebooks
    (where every redraw would be kept as one more line)."""
    return sys.stderr.isatty()
