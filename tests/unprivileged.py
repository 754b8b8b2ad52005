"""Running a check as an unprivileged user, for permission tests in a suite that runs as root.

Root reads and writes files whatever their mode, so a ``chmod 000`` file is no test of "permission denied"
for root. :func:`as_nobody` switches the effective user id to ``nobody`` for the ``with`` block (the real id
stays root, so the switch back is allowed); the kernel then applies the file modes for real.
:func:`shared_dir` gives a folder ``nobody`` may enter (pytest's ``tmp_path`` lies below a 0700 folder).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

NOBODY = 65534


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Run the block with effective user id ``nobody`` (as it is, when the process is not root)."""
    if os.geteuid() != 0:
        yield  # already unprivileged: the file modes apply as they are
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@contextlib.contextmanager
def shared_dir() -> Iterator[Path]:
    """A fresh folder (mode 0755 below /tmp) that ``nobody`` can enter; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="egid-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
