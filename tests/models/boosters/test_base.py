"""What the library modules share: the history table of a training, its column names, the evaluation-set names and
the smallest learning rate of the search spaces."""

from __future__ import annotations

import dataclasses

import numpy as np
import optuna
import pandas as pd
import pytest

from egid.models.boosters import TREE_KINDS, get_booster_library
from egid.models.boosters.base import (
    HISTORY_COLUMNS,
    LEARNING_RATE_MIN,
    TRAIN,
    VALIDATION,
    FittedBooster,
    history_frame,
)


def test_the_history_columns_are_three_metrics_on_two_sets() -> None:
    assert (TRAIN, VALIDATION) == ("train", "validation")
    assert HISTORY_COLUMNS == (
        "train_logloss",
        "train_auc",
        "train_accuracy",
        "validation_logloss",
        "validation_auc",
        "validation_accuracy",
    )


def test_history_frame_renames_the_metrics_and_turns_the_error_rate_into_accuracy() -> None:
    evals = {
        "train": {"error": [0.5, 0.25, 0.125], "binary_logloss": [0.69, 0.5, 0.4], "auc": [0.6, 0.7, 0.8]},
        "validation": {"error": [0.5, 0.375, 0.25], "binary_logloss": [0.7, 0.6, 0.55], "auc": [0.55, 0.65, 0.7]},
    }
    frame = history_frame(evals, {"error": "accuracy", "binary_logloss": "logloss", "auc": "auc"})
    expected = pd.DataFrame(
        {
            "train_logloss": [0.69, 0.5, 0.4],
            "train_auc": [0.6, 0.7, 0.8],
            "train_accuracy": [0.5, 0.75, 0.875],
            "validation_logloss": [0.7, 0.6, 0.55],
            "validation_auc": [0.55, 0.65, 0.7],
            "validation_accuracy": [0.5, 0.625, 0.75],
        },
        index=pd.RangeIndex(1, 4, name="round"),
    )
    pd.testing.assert_frame_equal(frame, expected)


def test_history_frame_ignores_other_evaluation_sets() -> None:
    one = {"logloss": [0.1], "auc": [0.9], "error": [0.0]}
    frame = history_frame(
        {"train": one, "validation": one, "test": one}, {"logloss": "logloss", "auc": "auc", "error": "accuracy"}
    )
    assert frame.columns.tolist() == list(HISTORY_COLUMNS) and frame.index.tolist() == [1]
    assert frame.dtypes.eq(np.float64).all()


def test_a_fitted_booster_is_frozen() -> None:
    fitted = FittedBooster(booster=None, best_iteration=3, history=pd.DataFrame())
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.best_iteration = 4  # type: ignore[misc]


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_every_search_space_starts_its_learning_rate_at_the_shared_minimum(kind: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    get_booster_library(kind).space(trial)
    rate = trial.distributions["learning_rate"]
    assert isinstance(rate, optuna.distributions.FloatDistribution)
    assert (rate.low, rate.log) == (LEARNING_RATE_MIN, True)
