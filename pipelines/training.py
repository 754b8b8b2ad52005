"""The fitting step of a run: tuned boosted trees on the features, the trigger-sized model, the CNN head, and the
stacked trees.

Six models come out, named as they appear in every table and plot:

==================  ==========================================================================
``lightgbm``        LightGBM on the physics features (Optuna-tuned)
``xgboost``         XGBoost on the physics features (Optuna-tuned)
``trigger``         XGBoost within the trigger's limits on 5x5-window features (Optuna-tuned,
                    :mod:`egid.models.trigger`)
``cnn``             the CNN head alone: its out-of-fold score on training events, fold mean elsewhere
``lightgbm+cnn``    LightGBM on the features plus ``cnn_score`` (Optuna-tuned)
``xgboost+cnn``     XGBoost on the features plus ``cnn_score`` (Optuna-tuned)
==================  ==========================================================================

A tree only ever sees a ``cnn_score`` made by networks that did not train on that event
(:func:`egid.models.stacking.cross_fit_cnn`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd

from egid.detector import EventDataset, Split, stratified_subsample
from egid.features import FEATURE_NAMES
from egid.models import TREE_KINDS, TreeModel, TuningSettings, tune_and_fit
from egid.models.cnn_budget import CNN_INIT_PRETRAINED, CNN_INIT_SCRATCH
from egid.models.trigger import TRIGGER_LIMITS, tune_and_fit_trigger, tune_trigger
from egid.models.tuning import tune
from egid.pipelines.timing import StepTimer

if TYPE_CHECKING:  # torch is imported only when the CNN runs
    import torch

    from egid.models.cnn import CNNConfig
    from egid.models.stacking import CrossFitResult

__all__ = (
    "CNN_MODEL",
    "CNN_SCORE",
    "TRIGGER_MODEL",
    "FitSettings",
    "FittedModels",
    "cnn_start",
    "fit_models",
    "model_names",
    "score_table",
    "stacked_name",
    "study_name",
    "trigger_costs",
    "tune_shared_trees",
)

logger = logging.getLogger(__name__)

CNN_SCORE = "cnn_score"
"""Feature column that carries the CNN's electron probability into the stacked trees."""
CNN_MODEL = "cnn"
TRIGGER_MODEL = "trigger"
"""Name of the trigger-sized model (:mod:`egid.models.trigger`) in every table, plot and model set."""


def stacked_name(kind: str) -> str:
    """Name of the tree model of ``kind`` that reads the CNN score too, e.g. ``"lightgbm+cnn"``."""
    return f"{kind}+{CNN_MODEL}"


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


@dataclass
class FittedModels:
    """The run's trained models.

    Attributes
    ----------
    trees : dict of str to TreeModel
        ``lightgbm``, ``xgboost``, ``trigger`` (unless skipped) and, with the CNN, ``lightgbm+cnn``,
        ``xgboost+cnn``.
    cnn : CrossFitResult or None
        The CNN head's cross-fitting (fold models, per-event scores, training curves).
    """

    trees: dict[str, TreeModel]
    cnn: CrossFitResult | None = None

    @property
    def names(self) -> list[str]:
        """All model names in display order (see :func:`model_names`)."""
        return model_names(self.trees, with_cnn=self.cnn is not None)


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


def model_names(trees: Iterable[str], *, with_cnn: bool) -> list[str]:
    """Model names in display order: features-only trees, the trigger model, the CNN, then the stacked trees."""
    present = set(trees)
    plain = [k for k in TREE_KINDS if k in present]
    trigger = [TRIGGER_MODEL] if TRIGGER_MODEL in present else []
    stacked = [stacked_name(k) for k in TREE_KINDS if stacked_name(k) in present]
    return plain + trigger + ([CNN_MODEL] if with_cnn else []) + stacked


def trigger_costs(names: Iterable[str]) -> dict[str, list[str]]:
    """The AUC costs that the metrics state (see :func:`egid.evaluation.metrics.compute_metrics`): the trigger model's
    against the best of the features-only boosters among ``names``; empty without the trigger model."""
    present = list(names)
    if TRIGGER_MODEL not in present:
        return {}
    return {TRIGGER_MODEL: [kind for kind in TREE_KINDS if kind in present]}


def score_table(trees: Mapping[str, TreeModel], table: pd.DataFrame, *, with_cnn: bool) -> pd.DataFrame:
    """Electron probability of every model for every row of the feature ``table``, one column per model.

    ``table`` holds the feature columns and, ``with_cnn``, the ``cnn_score`` column (which is the CNN's score).
    """
    scores = {name: model.predict(table) for name, model in trees.items()}
    if with_cnn:
        scores[CNN_MODEL] = table[CNN_SCORE].to_numpy()
    return pd.DataFrame({name: scores[name] for name in model_names(trees, with_cnn=with_cnn)}, index=table.index)


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
    from egid.models.stacking import cross_fit_cnn

    with timer.step("CNN cross-fitting"):
        config, initial_state = cnn_start(settings.cnn_init, max_epochs=settings.cnn_epochs)
        cnn = cross_fit_cnn(
            dataset,
            split,
            n_folds=settings.cnn_folds,
            config=config,
            seed=settings.seed,
            initial_state=initial_state,
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


def cnn_start(init: str, *, max_epochs: int | None = None) -> tuple[CNNConfig, Mapping[str, torch.Tensor] | None]:
    """The settings and initial weights of the CNN fold networks for ``--cnn-init`` = ``init``.

    ``"scratch"``: the default network from random weights with the from-scratch budget. ``"pretrained"`` or the
    path of an ``egid pretrain`` file: that file's network and weights with the fine-tuning budget and learning
    rate (:meth:`egid.models.pretrained.PretrainedCNN.fine_tuning_config`). ``max_epochs`` caps the passes over
    the training images in both cases.

    Raises
    ------
    InputError
        When the weights file cannot be read (one line naming it).
    """
    from egid.models.cnn import CNNConfig
    from egid.models.cnn_budget import SCRATCH_BUDGET
    from egid.models.pretrained import load_pretrained

    if init == CNN_INIT_SCRATCH:
        return CNNConfig(budget=dataclasses.replace(SCRATCH_BUDGET, max_epochs=max_epochs)), None
    pretrained = load_pretrained(None if init == CNN_INIT_PRETRAINED else init)
    tuned = pretrained.fine_tuning_config()
    capped = dataclasses.replace(tuned, budget=dataclasses.replace(tuned.budget, max_epochs=max_epochs))
    return capped, pretrained.state


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
