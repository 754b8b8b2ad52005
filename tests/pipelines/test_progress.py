"""Tests for egid.pipelines.progress: progress bars only when stderr is a terminal."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest

from egid.pipelines.progress import progress_bars


def test_no_bars_into_a_file_or_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bars() is False
    read, write = os.pipe()
    try:
        with os.fdopen(write, "w") as pipe:
            monkeypatch.setattr(sys, "stderr", pipe)
            assert progress_bars() is False
    finally:
        os.close(read)


def test_bars_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w") as terminal:
            monkeypatch.setattr(sys, "stderr", terminal)
            assert progress_bars() is True
    finally:
        os.close(leader)


def test_reads_stderr_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress_bars() is True
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bars() is False
