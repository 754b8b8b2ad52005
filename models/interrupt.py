"""Ctrl-C or SIGTERM during an Optuna study, delivered where Optuna can record it.

Optuna's trial loop handles a ``KeyboardInterrupt`` raised by the objective: it marks the trial failed and
re-raises. One raised while Optuna itself records a trial (``study.ask`` or ``study.tell``, which append to
the journal) escapes its ``finally`` block as an ``UnboundLocalError`` instead, a crash with exit status 1
rather than a clean interruption. :class:`TrialBoundaryInterrupt` therefore raises at once while a trial
trains, and otherwise holds the signal until Optuna has finished recording; a second signal always raises at
once. It raises through the handler the signal had before (Python's ``KeyboardInterrupt`` for SIGINT; for
SIGTERM the command line's signal handler), so the exception says which signal came.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TypeVar

import optuna

__all__ = ("TrialBoundaryInterrupt",)

_Value = TypeVar("_Value")


class TrialBoundaryInterrupt:
    """Context manager that installs the SIGINT (and SIGTERM) handler for one ``study.optimize`` call.

    Wrap the objective with :meth:`objective` and pass :meth:`after_trial` as a study callback. SIGTERM is held
    only when a Python handler already turns it into an exception; its default action (ending the process)
    is left alone. Outside the main thread (where Python delivers signals) it does nothing.
    """

    def __init__(self) -> None:
        self.pending: int | None = None
        self._training = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> TrialBoundaryInterrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous = signal.getsignal(signum)
                if callable(previous):
                    self._previous[signum] = previous
                    signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if exc_type is None and self.pending is not None:
            self._raise(self.pending, previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._training or self.pending is not None:
            self._raise(signum, self._previous)
        self.pending = signum

    @staticmethod
    def _raise(signum: int, handlers: dict[int, Any]) -> None:
        """Raise the signal's exception through its previous handler (KeyboardInterrupt if that does not raise)."""
        handler = handlers.get(signum)
        if handler is not None:
            handler(signum, None)
        raise KeyboardInterrupt

    def objective(self, train: Callable[[optuna.Trial], _Value]) -> Callable[[optuna.Trial], _Value]:
        """``train`` wrapped so that a signal while it runs raises at once, and one held since the
        previous trial stops the study before this one trains."""

        def guarded(trial: optuna.Trial) -> _Value:
            if self.pending is not None:
                self._raise(self.pending, self._previous)
            self._training = True
            try:
                return train(trial)
            finally:
                self._training = False

        return guarded

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Study callback: raise the signal held while Optuna recorded ``trial``."""
        if self.pending is not None:
            self._raise(self.pending, self._previous)
