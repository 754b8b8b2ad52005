"""Ctrl-C (SIGINT) and SIGTERM end a command cleanly: its temporary files and partial folders removed, one line.

:func:`install` makes both signals raise an exception in the main thread (:class:`KeyboardInterrupt`, and its
subclass :class:`Terminated` for SIGTERM, whose default action would end the process without running a single
``finally`` block). Every writing command builds its outputs through :func:`egid.detector.atomic_path` or
:func:`egid.detector.atomic.staged_dir`, whose ``finally`` blocks remove what the command had not finished, so
the command line then prints ``egid: interrupted; nothing written`` and exits with 128 + the signal's number
(130, 143), the shell's convention. A command that keeps something on purpose (the finished trials of a resumable
run) adds a note to the exception (``add_note``) saying what it kept; the line then names it instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import StrOrBytesPath

__all__ = (
    "Terminated",
    "as_interrupt",
    "exit_status",
    "install",
    "interrupted_line",
    "received",
    "shell_commands_interruptible",
)

_received: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` block and cleanup runs."""


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise Terminated


def install() -> None:
    """Make SIGINT raise KeyboardInterrupt and SIGTERM raise :class:`Terminated`, each remembered (main thread only)."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        return  # Python delivers signals to the main thread only; a command run in another keeps the defaults
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigterm)


def received() -> int | None:
    """The number of the last SIGINT or SIGTERM this process received since :func:`install`, or None."""
    return _received[-1] if _received else None


def exit_status(err: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C."""
    return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)


def interrupted_line(err: KeyboardInterrupt) -> str:
    """The one line printed for an interrupted command: what it kept (the exception's note) or nothing written."""
    notes = getattr(err, "__notes__", None)
    return f"egid: interrupted; {notes[-1] if notes else 'nothing written'}"


def as_interrupt(err: BaseException) -> KeyboardInterrupt | None:
    """The interrupt a library turned into an ordinary error, or None when no signal came.

    conifer catches everything around its compiler call (``except:``) and raises a bare ``Exception``, so a signal
    that arrived during the compile surfaces as a compile failure; the signal remembered by :func:`install` tells.
    """
    if isinstance(err, KeyboardInterrupt):
        return err
    signum = received()
    if signum is None:
        return None
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _system(command: StrOrBytesPath) -> int:
    """``os.system`` through :mod:`subprocess`: the same wait status, but Ctrl-C reaches Python as KeyboardInterrupt."""
    code = subprocess.call(command, shell=True)
    return code << 8 if code >= 0 else -code


@contextlib.contextmanager
def shell_commands_interruptible() -> Iterator[None]:
    """Run the block with ``os.system`` replaced by :func:`_system`.

    C's ``system()`` ignores SIGINT in the caller while the command runs, so a Ctrl-C during conifer's g++ call
    would kill only the compiler, and conifer would report a compile failure; through :mod:`subprocess` Python
    sees the signal and :func:`as_interrupt` recognises it.
    """
    original = os.system
    os.system = _system
    try:
        yield
    finally:
        os.system = original
