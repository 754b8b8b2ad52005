"""The allowed range of every numeric option, stated once for the command line and the config file.

``--trials 0`` and ``trials: 0`` in a ``--config`` file are refused by the same :class:`Bound`: on the command
line at parse time (``type=option_type("trials")``), in a file when it is loaded, before anything is created.
"""

from __future__ import annotations

import argparse
import math
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


#: Option name (as in RunConfig and the config file) -> its allowed range.
BOUNDS: dict[str, Bound] = {
    "trials": Bound(1),
    "stacked_trials": Bound(1),
    "seed": Bound(0, SEED_MAX),
    "tuning_rows": Bound(1),
    "cnn_folds": Bound(2),
    "cnn_epochs": Bound(1),
    "max_events": Bound(2),
    "events_per_class": Bound(1),
    "timeout": Bound(0, integer=False, closed=False),
    "top": Bound(1),
    "deploy_events": Bound(2),
    "heartbeat": Bound(1),
    "workers": Bound(1),
    "threads": Bound(1),
}


def option_type(name: str) -> Callable[[str], int | float]:
    """The ``type=`` function of option ``name`` for argparse: it converts the string and checks the range."""
    return BOUNDS[name].parse
