"""The fitting step of a run: tuned boosted trees on the features, the trigger-sized model, the CNN head, and the
stacked trees, in that order (the models and their names: :mod:`egid.models.catalogue`).

A tree only ever sees a ``cnn_score`` made by networks that did not train on that event
(:func:`egid.models.stacking.cross_fit_cnn`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd

from egid.detector import EventDataset, Split, stratified_subsample
from egid.features import FEATURE_NAMES
from egid.models import TREE_KINDS, TreeModel, TuningSettings, tune_and_fit
from egid.models.boosters.base import BINARY
from egid.models.catalogue import CNN_MODEL, CNN_SCORE, TRIGGER_MODEL, FittedModels
from egid.models.cnn_budget import CNN_INIT_PRETRAINED
from egid.models.trigger import TRIGGER_LIMITS, tune_and_fit_trigger, tune_trigger
from egid.models.tuning import tune
from egid.pipelines.timing import StepTimer

if TYPE_CHECKING:  # torch is imported only when the CNN runs
    from egid.models.stacking import CrossFitResult

__all__ = ("FitSettings", "cross_fit", "fit_models", "study_name", "tune_shared_trees")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitSettings:
    """How to fit the models of one run (parsed once from the run's configuration).

    Attributes
    ----------
    tuning : TuningSettings
        The settings of every tree study (trials, time limit, tuning subsample, storage, resume, seed, threads,
        progress bar); ``study_name`` is the prefix of the run's study names (None: ``"egid"``).
    cnn : bool
        Train the CNN head and the stacked trees.
    stacked_trials : int
        Trials of each stacked study (its first trial: the features-only best parameters).
    cnn_folds : int
        Folds of the CNN cross-fitting.
    cnn_epochs : int or None
        Optional cap on each fold network's passes over its training images.
    cnn_init : str
        ``"pretrained"``, ``"scratch"`` or a file of ``egid pretrain`` (see :func:`cnn_start`).
    trigger : bool
        Tune and fit the trigger-sized model.
    """

    tuning: TuningSettings
    cnn: bool
    stacked_trials: int
    cnn_folds: int
    cnn_epochs: int | None
    trigger: bool
    cnn_init: str = CNN_INIT_PRETRAINED

    @property
    def seed(self) -> int:
        """Seed of every sampler, fold assignment and model (the tuning seed)."""
        return self.tuning.seed


def study_name(settings: TuningSettings, model: str) -> str:
    """Name of the Optuna study of ``model`` (``lightgbm``, ``xgboost+cnn``, ...): ``<prefix>-<model>``."""
    return f"{settings.study_name or 'egid'}-{model}"


def tune_shared_trees(
    table: pd.DataFrame, split: Split, *, settings: FitSettings, tuning_dir: Path
) -> list[optuna.Study]:
    """Run trials of the features-only and trigger studies in the shared storage, without fitting (``egid tune``).

    A worker trains on exactly the events and columns that :func:`fit_models` tunes on (the same tuning
    subsample), joins the studies (the trigger model's unless ``settings.trigger`` is off) and stops once each
    holds ``n_trials`` finished trials; the run that refits then finds them done. Returns the studies it joined.
    """
    tuning = dataclasses.replace(settings.tuning, resume=True)
    labels = table["label"].to_numpy()
    columns = list(FEATURE_NAMES)
    rows = split.train[stratified_subsample(labels[split.train], tuning.tuning_rows, seed=tuning.seed)]
    x_train, x_val = table.iloc[rows][columns], table.iloc[split.validation][columns]
    tuners: dict[str, Callable[..., optuna.Study]] = {kind: functools.partial(tune, kind) for kind in TREE_KINDS}
    if settings.trigger:
        tuners[TRIGGER_MODEL] = tune_trigger  # it reads its own window features of the table
    return [
        run_trials(
            x_train,
            labels[rows],
            x_val,
            labels[split.validation],
            dataclasses.replace(tuning, study_name=study_name(settings.tuning, model)),
            out_dir=tuning_dir,
        )
        for model, run_trials in tuners.items()
    ]


def fit_models(
    table: pd.DataFrame,
    dataset: EventDataset,
    split: Split,
    *,
    settings: FitSettings,
    tuning_dir: Path,
    timer: StepTimer,
) -> tuple[FittedModels, pd.DataFrame]:
    """Tune and fit every model of the run.

    Parameters
    ----------
    table : DataFrame
        The feature table of ``dataset`` (rows in dataset order) with its ``label`` column.
    dataset : EventDataset
        The events (the CNN reads their images).
    split : Split
        Train/validation/test indices; tuning and early stopping use validation, test is never looked at.
    settings : FitSettings
    tuning_dir : Path
        Where the Optuna studies and their trials tables go (``features_only/``, ``trigger/`` and ``stacked/``
        inside).
    timer : StepTimer
        Records the wall time of the steps "tune trees", "tune trigger", "CNN cross-fitting" and "tune stacked
        trees".

    Returns
    -------
    models : FittedModels
    table : DataFrame
        ``table`` with the ``cnn_score`` column added when the CNN ran.
    """
    labels = table["label"].to_numpy()
    with timer.step("tune trees"):
        trees = _tune_trees(
            table, labels, split, list(FEATURE_NAMES), settings.tuning, tuning_dir / "features_only", ""
        )
    if settings.trigger:
        logger.info("tuning %s: %d trials, %s", TRIGGER_MODEL, settings.tuning.n_trials, TRIGGER_LIMITS.describe())
        with timer.step("tune trigger"):
            trees[TRIGGER_MODEL] = tune_and_fit_trigger(
                table.iloc[split.train],
                labels[split.train],
                table.iloc[split.validation],
                labels[split.validation],
                dataclasses.replace(settings.tuning, study_name=study_name(settings.tuning, TRIGGER_MODEL)),
                out_dir=tuning_dir / TRIGGER_MODEL,
            )
    if not settings.cnn:
        return FittedModels(trees=trees), table
    with timer.step("CNN cross-fitting"):
        cnn = cross_fit(
            dataset,
            split,
            init=settings.cnn_init,
            epochs=settings.cnn_epochs,
            folds=settings.cnn_folds,
            seed=settings.seed,
            progress=settings.tuning.progress,
        )
    table = table.assign(**{CNN_SCORE: cnn.scores})
    with timer.step("tune stacked trees"):
        stacked = _tune_trees(
            table,
            labels,
            split,
            [*FEATURE_NAMES, CNN_SCORE],
            dataclasses.replace(settings.tuning, n_trials=settings.stacked_trials),
            tuning_dir / "stacked",
            f"+{CNN_MODEL}",
            warm_starts={kind: trees[kind].params_dict() for kind in TREE_KINDS},
        )
    return FittedModels(trees=trees | stacked, cnn=cnn), table


def cross_fit(
    dataset: EventDataset,
    split: Split,
    *,
    init: str,
    epochs: int | None,
    folds: int,
    seed: int,
    progress: bool,
    n_classes: int = BINARY,
) -> CrossFitResult:
    """The CNN head's fold networks and out-of-fold scores (:func:`egid.models.stacking.cross_fit_cnn`), started as
    ``--cnn-init`` = ``init`` says (:func:`egid.models.pretrained.cnn_start`); ``n_classes`` = 3 for the
    three-class job."""
    from egid.models.pretrained import cnn_start
    from egid.models.stacking import cross_fit_cnn

    config, initial_state = cnn_start(init, max_epochs=epochs, n_classes=n_classes)
    return cross_fit_cnn(
        dataset, split, n_folds=folds, config=config, seed=seed, initial_state=initial_state, progress=progress
    )


def _tune_trees(
    table: pd.DataFrame,
    labels: np.ndarray,
    split: Split,
    columns: list[str],
    settings: TuningSettings,
    out_dir: Path,
    suffix: str,
    warm_starts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, TreeModel]:
    """Tune and fit one tree of each kind on ``columns``; ``warm_starts`` seeds each study's first trial.

    The study of model ``name`` is called ``<settings.study_name or "egid">-<name>``.
    """
    x_train, x_val = table.iloc[split.train][columns], table.iloc[split.validation][columns]
    trees = {}
    for kind in TREE_KINDS:
        name = f"{kind}{suffix}"
        tuned_on = min(len(split.train), settings.tuning_rows or len(split.train))
        logger.info(
            "tuning %s: %d trials on %d of %d training events", name, settings.n_trials, tuned_on, len(split.train)
        )
        study = dataclasses.replace(settings, study_name=study_name(settings, name))
        trees[name] = tune_and_fit(
            kind,
            x_train,
            labels[split.train],
            x_val,
            labels[split.validation],
            study,
            out_dir=out_dir,
            warm_start=(warm_starts or {}).get(kind),
        )
    return trees
