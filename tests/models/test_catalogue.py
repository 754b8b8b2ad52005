"""The model catalogue: names, display order, the model sets each model is saved in, the trigger's AUC costs and
the score table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egid.features import FEATURE_NAMES
from egid.models.boosters import TREE_KINDS
from egid.models.catalogue import (
    CNN_MODEL,
    CNN_SCORE,
    FEATURES_ONLY,
    MODEL_SETS,
    SET_COLUMNS,
    STACKED,
    TRIGGER,
    TRIGGER_MODEL,
    FittedModels,
    model_names,
    score_table,
    set_members,
    stacked_name,
    trigger_costs,
)

#: Every model of a run with the CNN, in the display order the module docstring's table gives.
ALL_MODELS = ["lightgbm", "xgboost", "trigger", "cnn", "lightgbm+cnn", "xgboost+cnn"]
TREES = [name for name in ALL_MODELS if name != "cnn"]


class ColumnTimes:
    """A stand-in tree model: its score is ``factor`` times column ``a`` (score_table only calls ``predict``)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        return self.factor * table["a"].to_numpy()


def test_the_names() -> None:
    assert (CNN_MODEL, CNN_SCORE, TRIGGER_MODEL) == ("cnn", "cnn_score", "trigger")
    assert (FEATURES_ONLY, TRIGGER, STACKED) == ("features_only", "trigger", "stacked")
    assert [stacked_name(kind) for kind in TREE_KINDS] == ["lightgbm+cnn", "xgboost+cnn"]


@pytest.mark.parametrize("seed", range(3))
def test_model_names_puts_any_order_in_display_order(seed: int) -> None:
    shuffled = list(np.random.default_rng(seed).permutation(TREES))
    assert model_names(shuffled, with_cnn=True) == ALL_MODELS
    assert model_names(shuffled, with_cnn=False) == [name for name in ALL_MODELS if name != CNN_MODEL]


@pytest.mark.parametrize(
    ("trees", "with_cnn", "names"),
    [
        (["xgboost"], False, ["xgboost"]),
        (["xgboost+cnn", "lightgbm"], True, ["lightgbm", "cnn", "xgboost+cnn"]),
        (["trigger"], False, ["trigger"]),
        ([], True, ["cnn"]),
        ([], False, []),
    ],
)
def test_model_names_lists_only_the_models_present(trees: list[str], with_cnn: bool, names: list[str]) -> None:
    assert model_names(trees, with_cnn=with_cnn) == names


def test_the_model_sets_and_their_kinds() -> None:
    assert list(MODEL_SETS) == [FEATURES_ONLY, TRIGGER, STACKED]
    assert dict(MODEL_SETS[FEATURES_ONLY]) == {"lightgbm": "lightgbm", "xgboost": "xgboost"}
    assert dict(MODEL_SETS[TRIGGER]) == {"trigger": "xgboost"}
    assert dict(MODEL_SETS[STACKED]) == {"lightgbm+cnn": "lightgbm", "xgboost+cnn": "xgboost"}


def test_the_columns_of_each_set() -> None:
    assert SET_COLUMNS[FEATURES_ONLY] == FEATURE_NAMES
    assert SET_COLUMNS[STACKED] == (*FEATURE_NAMES, CNN_SCORE)
    assert SET_COLUMNS[TRIGGER] is None
    assert CNN_SCORE not in FEATURE_NAMES


def test_set_members_keeps_the_given_order_and_puts_the_cnn_with_the_stacked_trees() -> None:
    reverse = ALL_MODELS[::-1]
    assert set_members(FEATURES_ONLY, reverse) == ["xgboost", "lightgbm"]
    assert set_members(TRIGGER, reverse) == ["trigger"]
    assert set_members(STACKED, reverse) == ["xgboost+cnn", "lightgbm+cnn", "cnn"]
    assert set_members(STACKED, ["cnn"]) == ["cnn"]
    assert set_members(FEATURES_ONLY, ["cnn", "trigger"]) == []


def test_every_model_is_saved_in_exactly_one_set() -> None:
    owners = {name: [s for s in MODEL_SETS if name in set_members(s, ALL_MODELS)] for name in ALL_MODELS}
    assert owners == {
        "lightgbm": [FEATURES_ONLY],
        "xgboost": [FEATURES_ONLY],
        "trigger": [TRIGGER],
        "cnn": [STACKED],
        "lightgbm+cnn": [STACKED],
        "xgboost+cnn": [STACKED],
    }


def test_set_members_of_an_unknown_set_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        set_members("plain", ALL_MODELS)


@pytest.mark.parametrize(
    ("names", "costs"),
    [
        (ALL_MODELS, {"trigger": ["lightgbm", "xgboost"]}),
        (["trigger", "xgboost", "xgboost+cnn"], {"trigger": ["xgboost"]}),
        (["trigger", "lightgbm+cnn"], {"trigger": []}),  # stacked trees are no reference for the trigger
        (["lightgbm", "xgboost", "cnn"], {}),
    ],
)
def test_trigger_costs_compare_the_trigger_with_the_features_only_boosters(names: list[str], costs: dict) -> None:
    assert trigger_costs(iter(names)) == costs


def test_score_table_has_one_column_per_model_in_display_order() -> None:
    table = pd.DataFrame({"a": [0.1, 0.2, 0.4], CNN_SCORE: [0.9, 0.8, 0.7]}, index=[10, 11, 12])
    trees = {"xgboost+cnn": ColumnTimes(2.0), "trigger": ColumnTimes(0.5), "lightgbm": ColumnTimes(1.0)}
    scores = score_table(trees, table, with_cnn=True)
    expected = pd.DataFrame(
        {
            "lightgbm": [0.1, 0.2, 0.4],
            "trigger": [0.05, 0.1, 0.2],
            "cnn": [0.9, 0.8, 0.7],
            "xgboost+cnn": [0.2, 0.4, 0.8],
        },
        index=[10, 11, 12],
    )
    pd.testing.assert_frame_equal(scores, expected)


def test_score_table_without_the_cnn_ignores_a_cnn_score_column() -> None:
    table = pd.DataFrame({"a": [1.0, 0.0], CNN_SCORE: [0.3, 0.6]})
    scores = score_table({"xgboost": ColumnTimes(0.25)}, table, with_cnn=False)
    assert scores.columns.tolist() == ["xgboost"]
    np.testing.assert_array_equal(scores["xgboost"], [0.25, 0.0])


def test_fitted_models_names_depend_on_the_cnn() -> None:
    trees = {name: ColumnTimes(1.0) for name in ("xgboost+cnn", "lightgbm")}
    assert FittedModels(trees=trees).names == ["lightgbm", "xgboost+cnn"]  # type: ignore[arg-type]
    assert FittedModels(trees=trees, cnn=object()).names == ["lightgbm", "cnn", "xgboost+cnn"]  # type: ignore[arg-type]
