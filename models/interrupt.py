"""Ctrl-C during an Optuna study, delivered where Optuna can record it.

Optuna's trial loop handles a ``KeyboardInterrupt`` raised by the objective: it marks the trial failed and
re-raises. One raised while Optuna itself records a trial (``study.ask`` or ``study.tell``, which append to
the journal) escapes its ``finally`` block as an ``UnboundLocalError`` instead, a crash with exit status 1
rather than a clean interruption. :class:`TrialBoundaryInterrupt` therefore raises at once while a trial
trains, and otherwise holds the interrupt until Optuna has finished recording; a second Ctrl-C always
raises at once.
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
    """Context manager that installs the SIGINT handler for one ``study.optimize`` call.

    Wrap the objective with :meth:`objective` and pass :meth:`after_trial` as a study callback. Outside the
    main thread (where Python delivers signals) it does nothing and leaves the default handler in place.
    """

    def __init__(self) -> None:
        self.pending = False
        self._training = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> TrialBoundaryInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
        if exc_type is None and self.pending:
            raise KeyboardInterrupt

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._training or self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def objective(self, train: Callable[[optuna.Trial], _Value]) -> Callable[[optuna.Trial], _Value]:
        """``train`` wrapped so that an interrupt while it runs raises at once, and one held since the
        previous trial stops the study before this one trains."""

        def guarded(trial: optuna.Trial) -> _Value:
            if self.pending:
                raise KeyboardInterrupt
            self._training = True
            try:
                return train(trial)
            finally:
                self._training = False

        return guarded

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Study callback: raise the interrupt held while Optuna recorded ``trial``."""
        if self.pending:
            raise KeyboardInterrupt
