"""Optuna tuning of the boosted trees: search spaces, a persisted and resumable study, and the final refit.

Each trial trains one model with early stopping on the validation AUC and returns the best validation AUC;
a seeded TPE sampler proposes parameters and a median pruner stops trials whose validation AUC trails the
median of earlier trials at the same boosting round (Optuna's LightGBM/XGBoost pruning callbacks).

The study lives in a storage so that no finished trial is lost:

* by default an Optuna journal file (``optuna.journal``) in the tuning directory: every trial state change
  is one appended, fsync'ed line under an flock that dies with its holder, so a killed process loses at most
  the trial it was running (marked failed on resume), and ``resume=True`` continues the study;
* a storage URL (``postgresql://...``, ``mysql://...``, ``sqlite:///...``) lets several processes or machines
  share one study, Optuna's way of scaling out: start the same command with the same URL and study name
  (PostgreSQL needs a driver such as ``psycopg2``). A trial of a killed process stays RUNNING there (Optuna's
  heartbeats are still experimental); it is not counted as finished, so the study still reaches ``n_trials``.

References: T. Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization Framework", KDD 2019.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FixedTrial, TrialState
from sqlalchemy.exc import SQLAlchemyError

from egid.detector import InputError, atomic_path, stratified_subsample
from egid.models.boosters import BoosterParams, TreeKind, get_booster_library
from egid.models.interrupt import TrialBoundaryInterrupt
from egid.models.trees import TreeModel, fit_tree_model
from egid.models.tuning_settings import TuningSettings

__all__ = (
    "JOURNAL_NAME",
    "TuningSettings",
    "best_params_path",
    "open_study",
    "trials_path",
    "tune",
    "tune_and_fit",
)

logger = logging.getLogger(__name__)

JOURNAL_NAME = "optuna.journal"
"""File name of the default study storage inside the tuning directory."""

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_BEST_ITERATION = "best_iteration"


class _FlockLock:
    """Exclusive lock of a journal file through ``flock(2)`` on ``<journal>.lock``.

    Optuna's default journal locks (a symlink or an ``O_EXCL`` file) outlive a killed holder, and the next
    process then waits out their 30 s grace period. The kernel releases an flock when its holder dies, so a
    SIGKILL never leaves a stale lock. (flock is local to one machine; share a study across machines through
    an RDB storage URL.)
    """

    def __init__(self, journal: str) -> None:
        self._path = f"{journal}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _journal(path: str) -> JournalStorage:
    return JournalStorage(JournalFileBackend(path, lock_obj=_FlockLock(path)))  # type: ignore[arg-type]


def _storage(storage: str | None, out_dir: Path) -> tuple[BaseStorage, str, bool]:
    """Return the storage, a printable location, and whether it is this run's private journal file."""
    if storage is None:
        journal = out_dir / JOURNAL_NAME
        out_dir.mkdir(parents=True, exist_ok=True)
        return _journal(str(journal)), str(journal), True
    if "://" in storage:
        try:
            return RDBStorage(storage), storage, False
        except (SQLAlchemyError, ImportError, ValueError) as err:  # bad URL, missing driver, unreachable server
            msg = f"{storage}: cannot open the Optuna storage: {str(err).splitlines()[0]}"
            raise InputError(msg) from err
    return _journal(storage), storage, False


def open_study(
    kind: TreeKind,
    *,
    out_dir: str | os.PathLike[str],
    storage: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
    seed: int = 0,
    pruner_startup_trials: int = TuningSettings.pruner_startup_trials,
    pruner_warmup_rounds: int = TuningSettings.pruner_warmup_rounds,
) -> optuna.Study:
    """Create (or, with ``resume``, load) the study maximising the validation AUC of a ``kind`` model.

    Parameters
    ----------
    out_dir : path
        Tuning directory; holds the default journal storage.
    storage : str or None
        None: the journal file ``out_dir/optuna.journal``. A URL with ``://`` (``postgresql://user@host/db``,
        ``sqlite:///tuning.db``): an RDB storage that several processes may share. Any other string: a journal
        file path.
    study_name : str or None
        Default ``"egid-<kind>"``.
    resume : bool
        Continue an existing study. Without it an existing study with trials is refused, so a run never
        silently mixes with an older one.
    seed : int
        Seed of the TPE sampler, mixed with the study name: two studies of one run (say features-only and
        stacked) explore different random start points instead of repeating each other's trials.
    pruner_startup_trials, pruner_warmup_rounds : int
        The median pruner prunes nothing before this many finished trials, nor before this boosting round.

    Raises
    ------
    InputError
        When the storage cannot be opened, or the study exists and ``resume`` is False.
    """
    store, where, private = _storage(storage, Path(out_dir))
    name = study_name or f"egid-{kind}"
    existing = {summary.study_name: summary.n_trials for summary in optuna.get_all_study_summaries(store)}
    if existing.get(name, 0) > 0 and not resume:
        msg = f"{where}: study '{name}' already has {existing[name]} trials; resume it or choose another study name"
        raise InputError(msg)
    study = optuna.create_study(
        storage=store,
        study_name=name,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=(seed + zlib.crc32(name.encode())) % 2**32),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=pruner_startup_trials, n_warmup_steps=pruner_warmup_rounds),
        load_if_exists=True,
    )
    if private:
        # Only this run writes its own journal, so a trial still RUNNING belongs to a process that was killed.
        study_id = store.get_study_id_from_name(name)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            logger.info("%s: trial %d of a killed run marked failed", where, trial.number)
            trial_id = store.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            store.set_trial_state_values(trial_id, state=TrialState.FAIL)
    return study


def tune(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    *,
    out_dir: str | os.PathLike[str],
    warm_start: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Run the study of ``kind`` until it holds ``settings.n_trials`` finished (complete or pruned) trials.

    Trials already finished in a resumed study count toward ``n_trials``: only the missing ones run.
    ``settings.timeout`` (seconds) stops starting new trials once exceeded; the running trial completes.
    ``settings.tuning_rows`` is not applied here (see :func:`tune_and_fit`): every trial trains on ``X_train``.

    Parameters
    ----------
    kind : {"lightgbm", "xgboost"}
        The library whose search space is explored.
    X_train, y_train, X_val, y_val
        As for :func:`egid.models.trees.fit_tree_model`; each trial early-stops on the validation AUC.
    settings : TuningSettings
        Trials, storage, pruner and training settings.
    out_dir : path
        Tuning directory (holds the default journal storage, see :func:`open_study`).
    warm_start : mapping of str to Any, optional
        Parameter name -> value (e.g. the best parameters of a related study), enqueued as the first trial of a
        new study so the search starts from a known good point; a resumed study ignores it.

    Returns
    -------
    optuna.Study
        Each trial's value is its best validation AUC; its user attribute ``best_iteration`` the number of
        boosting rounds reaching it.
    """
    study = open_study(
        kind,
        out_dir=out_dir,
        storage=settings.storage,
        study_name=settings.study_name,
        resume=settings.resume,
        seed=settings.seed,
        pruner_startup_trials=settings.pruner_startup_trials,
        pruner_warmup_rounds=settings.pruner_warmup_rounds,
    )
    library = get_booster_library(kind)
    if warm_start is not None and not study.get_trials(deepcopy=False):
        study.enqueue_trial(dict(warm_start), skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        model = fit_tree_model(
            kind,
            X_train,
            y_train,
            X_val,
            y_val,
            params=library.space(trial),
            max_rounds=settings.max_rounds,
            early_stopping_rounds=settings.early_stopping_rounds,
            seed=settings.seed,
            n_jobs=settings.n_jobs,
            callbacks=[library.pruning_callback(trial)],
        )
        trial.set_user_attr(_BEST_ITERATION, model.best_iteration)
        return float(model.history["validation_auc"].iloc[model.best_iteration - 1])

    finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
    missing = settings.n_trials - finished
    if missing > 0:
        logger.info("%s: %d trials finished, running %d more", study.study_name, finished, missing)
        with TrialBoundaryInterrupt() as interrupt:
            study.optimize(
                interrupt.objective(objective),
                n_trials=missing,
                timeout=settings.timeout,
                gc_after_trial=False,
                show_progress_bar=settings.progress,
                callbacks=[interrupt.after_trial],
            )
    else:
        logger.info("%s: already holds %d finished trials, none to run", study.study_name, finished)
    return study


def trials_path(out_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the trials table (CSV) of ``kind`` in the tuning directory."""
    return Path(out_dir) / f"{kind}_trials.csv"


def best_params_path(out_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the best-parameters JSON of ``kind`` in the tuning directory."""
    return Path(out_dir) / f"{kind}_best_params.json"


def _write_history(
    study: optuna.Study, kind: TreeKind, out_dir: Path, params: BoosterParams, best_iteration: int
) -> None:
    trials = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    trials["duration"] = trials["duration"].dt.total_seconds()
    trials = trials.rename(columns={"duration": "duration_s"})
    with atomic_path(trials_path(out_dir, kind)) as tmp:
        trials.to_csv(tmp, index=False)
    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    summary = {
        "kind": kind,
        "study_name": study.study_name,
        "best_trial": study.best_trial.number,
        "validation_auc": study.best_value,
        "best_iteration": best_iteration,
        "params": {name: getattr(params, name) for name in params.__dataclass_fields__},
        "n_complete": states.count(TrialState.COMPLETE),
        "n_pruned": states.count(TrialState.PRUNED),
        "n_failed": states.count(TrialState.FAIL),
    }
    with atomic_path(best_params_path(out_dir, kind)) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")


def tune_and_fit(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    *,
    out_dir: str | os.PathLike[str],
    warm_start: Mapping[str, Any] | None = None,
) -> TreeModel:
    """Tune ``kind`` with :func:`tune`, then refit the best parameters for the best number of rounds.

    The refit trains on ``X_train`` for exactly the best trial's ``best_iteration`` rounds (no early stopping),
    monitoring ``X_val``; with the same seed it reproduces the best trial's model. The trials table
    (``<kind>_trials.csv``) and the best parameters (``<kind>_best_params.json``) are written to ``out_dir``.

    With ``settings.tuning_rows`` smaller than the training sample, the trials train on a seeded subsample of
    that many training events (stratified by label, :func:`egid.detector.stratified_subsample`), which keeps
    tuning affordable on the full 498k-event dataset. The refit then uses every training event with early
    stopping on ``X_val``, since the best round count of a smaller sample does not carry over to a larger one.

    Raises
    ------
    InputError
        From :func:`open_study`, or when no trial completed (every one pruned or failed).
    """
    labels = np.asarray(y_train)
    rows = stratified_subsample(labels, settings.tuning_rows, seed=settings.seed)
    study = tune(kind, X_train.iloc[rows], labels[rows], X_val, y_val, settings, out_dir=out_dir, warm_start=warm_start)
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        msg = f"{out_dir}: no {kind} trial of study '{study.study_name}' completed; run more trials"
        raise InputError(msg)
    best = study.best_trial
    params = get_booster_library(kind).space(FixedTrial(best.params))
    best_iteration = int(best.user_attrs[_BEST_ITERATION])
    logger.info(
        "%s: best trial %d, validation AUC %.5f at %d rounds", study.study_name, best.number, best.value, best_iteration
    )
    subsampled = len(rows) < len(X_train)
    model = fit_tree_model(
        kind,
        X_train,
        y_train,
        X_val,
        y_val,
        params=params,
        max_rounds=settings.max_rounds if subsampled else best_iteration,
        early_stopping_rounds=settings.early_stopping_rounds if subsampled else None,
        seed=settings.seed,
        n_jobs=settings.n_jobs,
    )
    _write_history(study, kind, Path(out_dir), params, model.best_iteration)
    return model
