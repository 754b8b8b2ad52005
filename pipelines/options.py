"""The allowed range of every numeric option, stated once for the command line and the config file.

Every option has a lower and an upper bound (what makes sense on a machine: threads up to four per core, a
heartbeat up to an hour). ``--trials 0`` and ``trials: 0`` in a ``--config`` file are refused by the same
:class:`Bound`: on the command line at parse time (``type=option_type("trials")``), in a file when it is loaded,
before anything is created.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ("BOUNDS", "Bound", "option_type")

SEED_MAX = 2**31 - 1
"""Largest seed: LightGBM and XGBoost take the seed as a C ``int``."""


@dataclass(frozen=True)
class Bound:
    """The allowed values of a numeric option: ``low <= value <= high`` (``low < value`` if not ``closed``).

    Attributes
    ----------
    low : float
    high : float or None
        No upper bound when None.
    integer : bool
        Whole numbers only; otherwise any finite number (NaN and inf are always refused).
    closed : bool
        Whether ``low`` itself is allowed.
    """

    low: float
    high: float | None = None
    integer: bool = True
    closed: bool = True

    def describe(self) -> str:
        """The rule in words, e.g. ``an integer >= 1`` or ``a finite number > 0``."""
        kind = "an integer" if self.integer else "a finite number"
        low = f"{'>=' if self.closed else '>'} {self.low:.15g}"
        return f"{kind} {low}" + ("" if self.high is None else f" and <= {self.high:.15g}")

    def allows(self, value: float) -> bool:
        """Whether ``value`` (already of the right type) lies in the range."""
        if not math.isfinite(value):
            return False
        above = value >= self.low if self.closed else value > self.low
        return above and (self.high is None or value <= self.high)

    def parse(self, text: str) -> int | float:
        """Convert a command-line string, raising ``argparse.ArgumentTypeError`` with the rule when it breaks it."""
        try:
            value: int | float = int(text) if self.integer else float(text)
        except ValueError:
            value = math.nan
        if not self.allows(value):
            msg = f"must be {self.describe()}, got {text[:40]!r}"
            raise argparse.ArgumentTypeError(msg)
        return value


MAX_THREADS = 4 * (os.cpu_count() or 1)
"""Most threads (or local Dask workers) a command may start: four per core. Each OpenMP thread reserves its own
stack and buffers, so far beyond the cores a fit only slows down, then exhausts memory (100000 threads crashed
LightGBM with a segmentation fault, 10000 hung it)."""
MAX_EVENTS = 10**9
"""Most events of any count option: twice the full CMS dataset would still be far below it."""
MAX_TRIALS = 100_000
"""Most Optuna trials of one study; TPE's cost per proposal grows with the trials, so more never ends."""
WEEK_S = 7 * 24 * 3600
"""Longest tuning time limit and heartbeat period: a week in seconds."""

#: Option name (as in RunConfig and the config file) -> its allowed range.
BOUNDS: dict[str, Bound] = {
    "trials": Bound(1, MAX_TRIALS),
    "stacked_trials": Bound(1, MAX_TRIALS),
    "seed": Bound(0, SEED_MAX),
    "tuning_rows": Bound(1, MAX_EVENTS),
    "cnn_folds": Bound(2, 100),
    "cnn_epochs": Bound(1, 100_000),
    "max_events": Bound(2, MAX_EVENTS),
    "events_per_class": Bound(1, MAX_EVENTS),
    "timeout": Bound(0, WEEK_S, integer=False, closed=False),
    "top": Bound(1, 100_000),
    "deploy_events": Bound(2, MAX_EVENTS),
    "heartbeat": Bound(1, 3600),
    "workers": Bound(1, MAX_THREADS),
    "threads": Bound(1, MAX_THREADS),
}


def option_type(name: str) -> Callable[[str], int | float]:
    """The ``type=`` function of option ``name`` for argparse: it converts the string and checks the range."""
    return BOUNDS[name].parse
