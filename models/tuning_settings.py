"""How a boosted-tree study runs: one frozen, validated settings object that travels from the run to Optuna.

:class:`TuningSettings` is built once (from the run's configuration, or by a library user) and handed unchanged
to :func:`egid.models.tuning.tune` and :func:`egid.models.tuning.tune_and_fit`; every default is defined here
(training ones in :mod:`egid.models.trees`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.storages import BaseStorage

from egid.models.cpu import threads_for_next_fit
from egid.models.storage import StorageSpec
from egid.models.trees import EARLY_STOPPING_ROUNDS, MAX_ROUNDS

__all__ = ("TuningSettings",)

_MINIMA = {
    "n_trials": 1,
    "tuning_rows": 2,
    "max_rounds": 1,
    "early_stopping_rounds": 1,
    "n_jobs": 1,
    "pruner_startup_trials": 0,
    "pruner_warmup_rounds": 0,
    "seed": 0,
}
"""Smallest accepted value of each integer setting (``tuning_rows``: one event of each class)."""
_OPTIONAL = frozenset({"tuning_rows", "n_jobs"})
"""The integer settings that may be None."""


@dataclass(frozen=True)
class TuningSettings:
    """The settings of an Optuna study of one tree model and of its final refit.

    Parameters
    ----------
    n_trials : int
        Finished (complete or pruned) trials the study must hold; a resumed study runs only the missing ones.
    timeout : float or None, default=None
        Seconds after which no new trial starts (the running one completes); None: no limit.
    tuning_rows : int or None, default=None
        Trials train on a seeded, label-stratified subsample of at most this many training events; the refit
        then uses every event with early stopping. None tunes on the whole training sample.
    max_rounds : int, default=2000
        Most boosting rounds per trial and per refit.
    early_stopping_rounds : int, default=50
        A trial stops when its validation AUC has not improved for this many rounds.
    n_jobs : int or None, default=None
        Threads of each booster (results are bit-identical for a fixed value). None asks
        :func:`egid.models.cpu.threads_for_next_fit` before every trial and refit: every core on a quiet machine,
        only those other jobs leave idle on a shared one.
    pruner_startup_trials : int, default=5
        The median pruner prunes nothing before this many trials finished.
    pruner_warmup_rounds : int, default=20
        ... nor before this boosting round of a trial.
    storage : str, optuna BaseStorage or None, default=None
        None: the journal file ``optuna.journal`` in the tuning directory. A URL with ``://``
        (``postgresql://user@host/db``; ``sqlite:///tuning.db`` for one process at a time): an RDB storage several
        processes may share. Any other string: a journal file path. Or a storage opened with
        :func:`egid.models.storage.open_rdb` (to choose its heartbeat). See :func:`egid.models.tuning.open_study`.
    study_name : str or None, default=None
        Name of the study in ``storage``; None: ``"egid-<kind>"``.
    resume : bool, default=False
        Continue an existing study; without it a study that already has trials is refused.
    seed : int, default=0
        Seed of the sampler, the tuning subsample and the boosters.
    progress : bool, default=False
        Show Optuna's progress bar.

    Raises
    ------
    ValueError
        When a setting has the wrong type or is out of range; the message names it, what was expected and what
        was found.
    """

    n_trials: int
    timeout: float | None = None
    tuning_rows: int | None = None
    max_rounds: int = MAX_ROUNDS
    early_stopping_rounds: int = EARLY_STOPPING_ROUNDS
    n_jobs: int | None = None
    pruner_startup_trials: int = 5
    pruner_warmup_rounds: int = 20
    storage: StorageSpec = None
    study_name: str | None = None
    resume: bool = False
    seed: int = 0
    progress: bool = False

    def threads(self) -> int:
        """Threads of the next fit: ``n_jobs``, or the cores idle right now when it is None."""
        return self.n_jobs if self.n_jobs is not None else threads_for_next_fit()

    def __post_init__(self) -> None:
        for name, minimum in _MINIMA.items():
            value = getattr(self, name)
            optional = name in _OPTIONAL
            if value is None and optional:
                continue
            if not _is_int(value) or value < minimum:
                _reject(name, f"an int >= {minimum}{' or None' if optional else ''}", value)
        if self.timeout is not None and not (_is_number(self.timeout) and self.timeout > 0):
            _reject("timeout", "a number of seconds > 0 or None", self.timeout)
        if (
            self.storage is not None
            and not isinstance(self.storage, BaseStorage)
            and not (isinstance(self.storage, str) and self.storage)
        ):
            _reject("storage", "a non-empty str, an opened Optuna storage or None", self.storage)
        if self.study_name is not None and not (isinstance(self.study_name, str) and self.study_name):
            _reject("study_name", "a non-empty str or None", self.study_name)
        for name in ("resume", "progress"):
            if not isinstance(getattr(self, name), bool):
                _reject(name, "a bool", getattr(self, name))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _reject(name: str, expected: str, found: Any) -> None:
    msg = f"TuningSettings.{name}: expected {expected}, found {type(found).__name__} {found!r}."
    raise ValueError(msg)
