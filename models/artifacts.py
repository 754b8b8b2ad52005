"""Reading the files of a model directory so that a bad one is one line naming it.

A model directory's files are checked against the SHA-256 digests of its manifest
(:func:`egid.models.manifest.read_manifest`), but a file can match its digest and still be garbage: the manifest
was rewritten with it, or the file was damaged before it was hashed. Every reader of such a file runs inside
:func:`reading`, which turns whatever the parser raises (pandas, json, torch, LightGBM, XGBoost) into one
:class:`~egid.detector.InputError` line ``<file>: unreadable <what> (<reason>)``. C++ libraries print their own
complaint on the process's standard error before raising (LightGBM's ``[LightGBM] [Fatal] ...``): while the
parser runs, file descriptor 2 goes to a temporary file, whose first line becomes the reason when the parser
fails and which is passed on unchanged when it succeeds.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from egid.detector import InputError
from egid.detector.errors import shorten

__all__ = ("read_numeric_table", "reading")


@contextlib.contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Run the ``with`` block that parses ``path`` (a ``what``, e.g. "LightGBM booster"); any failure other than
    an :class:`InputError` becomes ``InputError("<path>: unreadable <what> (<reason>)")``."""
    with _captured_stderr() as captured:
        try:
            yield
        except InputError:
            raise
        except Exception as err:  # a parser's every failure is the file's fault here
            native = next((line for line in captured.read().splitlines() if line.strip()), "")
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            reason = native or message or type(err).__name__
            msg = f"{path}: unreadable {what} ({shorten(reason)})"
            raise InputError(msg) from None


def read_numeric_table(path: Path, what: str, *, index: str, columns: Sequence[str]) -> pd.DataFrame:
    """The CSV artifact ``path`` (a ``what``) with index column ``index`` and ``columns``, in that order, as
    float64; a missing column or a value that is no number is an InputError naming the file."""
    with reading(path, what):
        table = pd.read_csv(path, index_col=index)
        missing = [column for column in columns if column not in table.columns]
        if missing:
            msg = f"{path}: {what} lacks the columns {missing}"
            raise InputError(msg)
        return table[list(columns)].astype(np.float64)


class _Captured:
    def __init__(self, file: IO[bytes] | None) -> None:
        self._file = file

    def read(self) -> str:
        if self._file is None:
            return ""
        self._file.seek(0)
        return self._file.read().decode(errors="replace")


@contextlib.contextmanager
def _captured_stderr() -> Iterator[_Captured]:
    """Send file descriptor 2 to a temporary file for the block; replay it afterwards unless an error is raised."""
    try:
        stderr_fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(stderr_fd)
    except (OSError, ValueError):  # no real descriptor (an embedding host): nothing to capture
        yield _Captured(None)
        return
    with tempfile.NamedTemporaryFile() as file:
        sys.stderr.flush()
        os.dup2(file.fileno(), stderr_fd)
        captured = _Captured(file)
        failed = False
        try:
            yield captured
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, stderr_fd)
            os.close(saved)
            if not failed and (text := captured.read()):
                sys.stderr.write(text)
