"""Optuna tuning of the boosted trees: search spaces, a persisted and resumable study, and the final refit.

Each trial trains one model with early stopping on the validation AUC and returns the best validation AUC
(a three-class electron/photon/pion model: the validation multiclass log-loss, minimised; see
:func:`egid.models.boosters.base.objective_metric`); a seeded TPE sampler proposes parameters and a median
pruner stops trials whose validation metric trails the median of earlier trials at the same boosting round
(Optuna's LightGBM/XGBoost pruning callbacks).

The study lives in a storage so that no finished trial is lost:

* by default an Optuna journal file (``optuna.journal``) in the tuning directory: every trial state change
  is one appended, fsync'ed line under an flock that dies with its holder, so a killed process loses at most
  the trial it was running (marked failed on resume), and ``resume=True`` continues the study;
* a storage URL (``postgresql://...``, ``mysql://...``) lets several processes or machines share one study,
  Optuna's way of scaling out: start the same command with the same URL and study name. Heartbeats find the
  trials of killed workers, which are marked failed and queued once more (see :mod:`egid.models.storage`).

References: T. Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization Framework", KDD 2019.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution
from optuna.study import MaxTrialsCallback
from optuna.trial import FixedTrial, TrialState

from egid.detector import InputError, atomic_path, stratified_subsample
from egid.models.boosters import BoosterParams, TreeKind, get_booster_library
from egid.models.boosters.base import BINARY, SearchSpace, objective_metric
from egid.models.interrupt import TrialBoundaryInterrupt
from egid.models.storage import JOURNAL_NAME, StorageSpec, fail_dead_trials, open_storage
from egid.models.trees import TreeModel, class_balance_weights, fit_tree_model
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


_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_BEST_ITERATION = "best_iteration"


def open_study(
    kind: TreeKind,
    *,
    out_dir: str | os.PathLike[str],
    storage: StorageSpec = None,
    study_name: str | None = None,
    resume: bool = False,
    seed: int = 0,
    pruner_startup_trials: int = TuningSettings.pruner_startup_trials,
    pruner_warmup_rounds: int = TuningSettings.pruner_warmup_rounds,
    direction: Literal["maximize", "minimize"] = "maximize",
) -> optuna.Study:
    """Create (or, with ``resume``, load) the study maximising the validation AUC of a ``kind`` model.

    Parameters
    ----------
    out_dir : path
        Tuning directory; holds the default journal storage.
    storage : str, BaseStorage or None
        None: the journal file ``out_dir/optuna.journal``. A URL with ``://``: an RDB storage that several
        processes may share (``postgresql://user@host/db``; ``sqlite:///tuning.db`` takes one process at a
        time). Any other string: a journal file path. Or a storage opened with
        :func:`egid.models.storage.open_rdb` (to choose its heartbeat).
    study_name : str or None
        Default ``"egid-<kind>"``.
    resume : bool
        Continue an existing study. Without it an existing study with trials is refused, so a run never
        silently mixes with an older one.
    seed : int
        Seed of the TPE sampler, mixed with the study name: two studies of one run (say features-only and
        stacked) explore different random start points instead of repeating each other's trials; and, before
        each trial, with the number of trials finished so far (:class:`_ReplayableSampler`), so that a resumed
        study proposes what the uninterrupted one would have: the same models, whatever trial a kill or Ctrl-C
        failed. In a shared storage each process seeds its sampler from the OS instead: workers sharing one seed
        would propose the same parameters.
    pruner_startup_trials, pruner_warmup_rounds : int
        The median pruner prunes nothing before this many finished trials, nor before this boosting round.
    direction : {"maximize", "minimize"}
        Of the trials' values: maximise a binary model's validation AUC, minimise a multiclass one's log-loss.

    Raises
    ------
    InputError
        When the storage cannot be opened, or the study exists and ``resume`` is False.
    """
    store, where, private = open_storage(storage, Path(out_dir))
    name = study_name or f"egid-{kind}"
    existing = {summary.study_name: summary.n_trials for summary in optuna.get_all_study_summaries(store)}
    if existing.get(name, 0) > 0 and not resume:
        msg = f"{where}: study '{name}' already has {existing[name]} trials; resume it or choose another study name"
        raise InputError(msg)
    study = optuna.create_study(
        storage=store,
        study_name=name,
        direction=direction,
        sampler=_ReplayableSampler(seed, name) if private else optuna.samplers.TPESampler(seed=None),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=pruner_startup_trials, n_warmup_steps=pruner_warmup_rounds),
        load_if_exists=True,
    )
    fail_dead_trials(study, store, private=private, where=where)
    return study


def _sampler_seed(seed: int, study_name: str, n_finished_trials: int) -> int:
    """The TPE sampler's seed: the run's ``seed`` mixed with the study's name and its number of finished trials."""
    return (seed + zlib.crc32(study_name.encode()) + 7919 * n_finished_trials) % 2**32


class _ReplayableSampler(optuna.samplers.BaseSampler):
    """Optuna's TPE sampler, seeded afresh before each trial from the number of trials finished before it.

    A sampler seeded once draws from one random stream, so a trial failed by a kill or Ctrl-C (or a resumed study's
    new sampler) would shift every later proposal. Here the ``k``-th finished trial always draws with the seed of
    ``k``: TPE reads only finished (complete or pruned) trials, so an interrupted and resumed study proposes, trial
    for trial, the parameters the uninterrupted one would have, and a resumed study never replays earlier draws.
    """

    def __init__(self, seed: int, study_name: str) -> None:
        self._seed = seed
        self._study_name = study_name
        self._tpe = optuna.samplers.TPESampler(seed=_sampler_seed(seed, study_name, 0))

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
        self._tpe = optuna.samplers.TPESampler(seed=_sampler_seed(self._seed, self._study_name, finished))
        self._tpe.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._tpe.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._tpe.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._tpe.after_trial(study, trial, state, values)


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
    space: SearchSpace | None = None,
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
        new study so the search starts from a known good point; a resumed study whose warm-start trial was failed
        by a kill or Ctrl-C queues it again, so it always runs.
    space : callable, optional
        The search space (trial -> the library's parameters); default the library's ``space``. A narrower one
        (for example :func:`egid.models.boosters.xgboost.depth_capped_space`) tunes a model under limits.

    Returns
    -------
    optuna.Study
        Each trial's value is its best validation AUC; its user attribute ``best_iteration`` the number of
        boosting rounds reaching it.
    """
    return _optimize(
        kind,
        X_train,
        y_train,
        X_val,
        y_val,
        settings,
        out_dir=out_dir,
        warm_start=warm_start,
        space=space,
        keep_model=False,
    )[0]


class _BestModel:
    """The model of the best trial this process completed, kept so that a refit on the same events is not needed."""

    def __init__(self) -> None:
        self.trial_number: int | None = None
        self.value = -np.inf
        self.model: TreeModel | None = None

    def offer(self, trial_number: int, value: float, model: TreeModel) -> None:
        if value > self.value:
            self.trial_number, self.value, self.model = trial_number, value, model

    def of_trial(self, trial_number: int) -> TreeModel | None:
        """The kept model if it is the one trial ``trial_number`` trained, else None (say, a resumed study's)."""
        return self.model if self.trial_number == trial_number else None


def _optimize(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    *,
    out_dir: str | os.PathLike[str],
    warm_start: Mapping[str, Any] | None,
    space: SearchSpace | None,
    n_classes: int = BINARY,
    balanced: bool = False,
    keep_model: bool = True,
) -> tuple[optuna.Study, _BestModel]:
    """:func:`tune`, also returning the best model among the trials this process completed (none without
    ``keep_model``: then no trial evaluates its training set, whose figures only a kept model's history shows)."""
    best_model = _BestModel()
    column, direction = objective_metric(n_classes)
    train_weights, validation_weights = _balance(balanced, y_train, y_val)
    study = open_study(
        kind,
        out_dir=out_dir,
        storage=settings.storage,
        study_name=settings.study_name,
        resume=settings.resume,
        seed=settings.seed,
        pruner_startup_trials=settings.pruner_startup_trials,
        pruner_warmup_rounds=settings.pruner_warmup_rounds,
        direction=direction,
    )
    library = get_booster_library(kind)
    draw = space or library.space
    if warm_start is not None and not _holds(study, warm_start):
        study.enqueue_trial(dict(warm_start))

    def objective(trial: optuna.Trial) -> float:
        model = fit_tree_model(
            kind,
            X_train,
            y_train,
            X_val,
            y_val,
            params=draw(trial),
            max_rounds=settings.max_rounds,
            early_stopping_rounds=settings.early_stopping_rounds,
            seed=settings.seed,
            n_jobs=settings.threads(),
            callbacks=[library.pruning_callback(trial, n_classes)],
            n_classes=n_classes,
            train_weights=train_weights,
            validation_weights=validation_weights,
            record_training=keep_model,
        )
        trial.set_user_attr(_BEST_ITERATION, model.best_iteration)
        value = float(model.history[column].iloc[model.best_iteration - 1])
        if keep_model:
            best_model.offer(trial.number, value if direction == "maximize" else -value, model)
        return value

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
                # Workers sharing the study stop once it holds n_trials (a trial still running elsewhere finishes).
                callbacks=[interrupt.after_trial, MaxTrialsCallback(settings.n_trials, states=_FINISHED)],
            )
    else:
        logger.info("%s: already holds %d finished trials, none to run", study.study_name, finished)
    return study, best_model


def _balance(
    balanced: bool, y_train: npt.ArrayLike, y_val: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """The ``train_weights``/``validation_weights`` of :func:`egid.models.trees.fit_tree_model`: class-balancing
    (:func:`egid.models.trees.class_balance_weights`) of both sets when ``balanced``, else None (unweighted)."""
    if not balanced:
        return None, None
    return class_balance_weights(y_train), class_balance_weights(y_val)


def _holds(study: optuna.Study, params: Mapping[str, Any]) -> bool:
    """Whether a trial at ``params`` is queued, running or finished; one a kill or Ctrl-C failed does not count."""
    live = study.get_trials(deepcopy=False, states=(*_FINISHED, TrialState.WAITING, TrialState.RUNNING))
    return any(trial.system_attrs.get("fixed_params", trial.params) == dict(params) for trial in live)


def trials_path(out_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the trials table (CSV) of ``kind`` in the tuning directory."""
    return Path(out_dir) / f"{kind}_trials.csv"


def best_params_path(out_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the best-parameters JSON of ``kind`` in the tuning directory."""
    return Path(out_dir) / f"{kind}_best_params.json"


def _write_history(
    study: optuna.Study, kind: TreeKind, out_dir: Path, params: BoosterParams, best_iteration: int, n_classes: int
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
        objective_metric(n_classes)[0]: study.best_value,
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
    space: SearchSpace | None = None,
    n_classes: int = BINARY,
    balanced: bool = False,
) -> TreeModel:
    """Tune ``kind`` with :func:`tune`, then refit the best parameters for the best number of rounds.

    The refit trains on ``X_train`` for exactly the best trial's ``best_iteration`` rounds (no early stopping),
    monitoring ``X_val``; with the same seed it reproduces the best trial's model, so when that trial ran in this
    process on every training event its model is returned as it is, without training it again (its history
    then extends past ``best_iteration`` by the rounds early stopping waited). The trials table
    (``<kind>_trials.csv``) and the best parameters (``<kind>_best_params.json``) are written to ``out_dir``.
    ``warm_start`` and ``space`` are as for :func:`tune`; the refit draws the best trial's parameters from ``space``.
    ``n_classes`` > 2 tunes and refits a multiclass model (labels ``0 .. n_classes - 1``) on the validation
    multiclass log-loss, minimised, with the same pruning, resume and refit rules; ``balanced`` weighs the events
    of every trial and of the refit by :func:`egid.models.trees.class_balance_weights` of their set.

    With ``settings.tuning_rows`` smaller than the training sample, the trials train on a seeded subsample of
    that many training events (stratified by label, :func:`egid.detector.stratified_subsample`), which keeps
    tuning affordable on the full 498k-event dataset. The refit then uses every training event with early
    stopping on ``X_val``, since the best round count of a smaller sample does not carry over to a larger one.
    A study of a single trial has nothing to choose, so its trial trains on every event and its model is kept.

    Raises
    ------
    InputError
        From :func:`open_study`, or when no trial completed (every one pruned or failed).
    """
    labels = np.asarray(y_train)
    tuning_rows = settings.tuning_rows if settings.n_trials > 1 else None
    rows = stratified_subsample(labels, tuning_rows, seed=settings.seed)
    subsampled = len(rows) < len(X_train)
    study, best_model = _optimize(
        kind,
        X_train.iloc[rows],
        labels[rows],
        X_val,
        y_val,
        settings,
        out_dir=out_dir,
        warm_start=warm_start,
        space=space,
        n_classes=n_classes,
        balanced=balanced,
        keep_model=not subsampled,
    )
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        msg = f"{out_dir}: no {kind} trial of study '{study.study_name}' completed; run more trials"
        raise InputError(msg)
    best = study.best_trial
    params = (space or get_booster_library(kind).space)(FixedTrial(best.params))
    best_iteration = int(best.user_attrs[_BEST_ITERATION])
    logger.info(
        "%s: best trial %d, %s %.5f at %d rounds",
        study.study_name,
        best.number,
        objective_metric(n_classes)[0].replace("_", " "),
        best.value,
        best_iteration,
    )
    model = best_model.of_trial(best.number)
    if model is None:
        rounds = None if subsampled else best_iteration
        model = _refit(kind, X_train, y_train, X_val, y_val, settings, params, rounds, n_classes, balanced)
    _write_history(study, kind, Path(out_dir), params, model.best_iteration, n_classes)
    return model


def _refit(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    params: BoosterParams,
    rounds: int | None,
    n_classes: int = BINARY,
    balanced: bool = False,
) -> TreeModel:
    """Train ``params`` for exactly ``rounds`` rounds, or with early stopping on ``X_val`` when None."""
    train_weights, validation_weights = _balance(balanced, y_train, y_val)
    return fit_tree_model(
        kind,
        X_train,
        y_train,
        X_val,
        y_val,
        params=params,
        max_rounds=settings.max_rounds if rounds is None else rounds,
        early_stopping_rounds=settings.early_stopping_rounds if rounds is None else None,
        seed=settings.seed,
        n_jobs=settings.threads(),
        n_classes=n_classes,
        train_weights=train_weights,
        validation_weights=validation_weights,
    )
