"""The pieces behind a clean interrupt: SIGTERM raised as an exception, the exit status and line, a library's
"compile failed" after a signal recognised as the interrupt, and ``os.system`` made interruptible."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from egid.pipelines import signals


@pytest.fixture
def installed() -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    yield
    for s, handler in previous.items():
        signal.signal(s, handler)


@pytest.mark.parametrize(
    ("signum", "exception", "status"),
    [(signal.SIGINT, KeyboardInterrupt, 130), (signal.SIGTERM, signals.Terminated, 143)],
    ids=["SIGINT", "SIGTERM"],
)
@pytest.mark.parametrize("library_error", [RuntimeError, OSError, Exception])
def test_a_signal_is_its_exception_status_and_line_even_through_a_library(
    installed: None, signum: int, exception: type[KeyboardInterrupt], status: int, library_error: type[Exception]
) -> None:
    assert signals.received() is None
    with pytest.raises(exception) as caught:
        os.kill(os.getpid(), signum)
    assert type(caught.value) is exception and signals.received() == signum
    assert signals.exit_status(caught.value) == status
    assert signals.interrupted_line(caught.value) == "egid: interrupted; nothing written"
    caught.value.add_note("kept run/ with its finished trials")
    assert signals.interrupted_line(caught.value) == "egid: interrupted; kept run/ with its finished trials"
    # conifer's "except: raise Exception('Failed to compile')" after the signal: recognised as the interrupt.
    converted = signals.as_interrupt(library_error("Failed to compile project"))
    assert type(converted) is exception


def test_an_error_without_a_signal_stays_an_error(installed: None) -> None:
    assert signals.as_interrupt(RuntimeError("g++ failed")) is None


@pytest.mark.parametrize("command", ["true", "exit 3", "kill -TERM $$", "echo out > /dev/null"])
def test_interruptible_system_keeps_the_wait_status(command: str) -> None:
    expected = os.system(command)
    with signals.shell_commands_interruptible():
        assert os.system(command) == expected
    assert os.system is not signals._system
