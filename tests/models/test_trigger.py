"""The trigger-sized model: tuned by the same Optuna study machinery, never beyond its trees, depth and features."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from optuna.trial import FixedTrial
from sklearn.datasets import make_classification

from egid.features import WINDOW_FEATURES
from egid.models import TuningSettings, XGBoostParams
from egid.models.boosters import xgboost as xgboost_booster
from egid.models.trees import TreeModel
from egid.models.trigger import TRIGGER_KIND, TRIGGER_LIMITS, TriggerLimits, tune_and_fit_trigger
from egid.models.tuning import best_params_path, open_study, trials_path
from tests.tree_fixtures import TreeTable

#: Plenty of rounds and patience: only the limits can stop the trees from growing past them.
UNBOUNDED = {"max_rounds": 2000, "early_stopping_rounds": 2000}


@pytest.fixture(scope="module")
def window_table() -> TreeTable:
    """A learnable problem whose columns are every 5x5-window feature (so the trigger reads only its own)."""
    n = 3000
    X, y = make_classification(
        n_samples=n, n_features=len(WINDOW_FEATURES), n_informative=8, flip_y=0.05, random_state=5
    )
    table = pd.DataFrame(X.astype(np.float32), columns=list(WINDOW_FEATURES))
    labels = y.astype(np.float64)
    a, b = int(0.6 * n), int(0.8 * n)
    return TreeTable(table[:a], labels[:a], table[a:b], labels[a:b], table[b:], labels[b:])


def fit_trigger(table: TreeTable, out_dir: Any, limits: TriggerLimits = TRIGGER_LIMITS, **settings: Any) -> TreeModel:
    t = table
    options = {"n_trials": 6, "seed": 2, "n_jobs": 1, **UNBOUNDED, **settings}
    return tune_and_fit_trigger(
        t.X_train, t.y_train, t.X_val, t.y_val, TuningSettings(**options), out_dir=out_dir, limits=limits
    )


def tree_depth(node: dict[str, Any]) -> int:
    """Levels of splits below ``node`` of XGBoost's JSON dump (a leaf has depth 0)."""
    return 1 + max(tree_depth(child) for child in node["children"]) if "children" in node else 0


def split_features(node: dict[str, Any]) -> set[str]:
    """The feature names that the splits below ``node`` read."""
    if "children" not in node:
        return set()
    return {node["split"]}.union(*(split_features(child) for child in node["children"]))


def dumped_trees(model: TreeModel) -> list[dict[str, Any]]:
    return [json.loads(tree) for tree in model.booster.get_dump(dump_format="json")]


@pytest.mark.parametrize("limits", [TRIGGER_LIMITS, TriggerLimits(max_trees=30, max_depth=2, features=("e5x5", "s4"))])
def test_the_fitted_booster_stays_within_the_limits(limits, window_table, tmp_path):
    model = fit_trigger(window_table, tmp_path, limits)
    trees = dumped_trees(model)
    assert model.kind == TRIGGER_KIND == "xgboost"
    assert model.feature_names == limits.features
    assert 1 <= len(trees) == model.best_iteration <= limits.max_trees
    assert max(tree_depth(tree) for tree in trees) <= limits.max_depth
    assert set().union(*(split_features(tree) for tree in trees)) <= set(limits.features)
    assert model.params.max_depth <= limits.max_depth


def test_the_tree_cap_binds_when_the_data_want_more(window_table, tmp_path):
    """Without the cap, early stopping would keep more than 30 rounds of these trees."""
    limits = TriggerLimits(max_trees=30, max_depth=2, features=TRIGGER_LIMITS.features)
    t = window_table
    free = xgboost_booster.fit(
        t.X_train[list(limits.features)].to_numpy(np.float64),
        t.y_train,
        t.X_val[list(limits.features)].to_numpy(np.float64),
        t.y_val,
        limits.features,
        params=XGBoostParams(learning_rate=0.02, max_depth=2),
        max_rounds=500,
        early_stopping_rounds=50,
        seed=2,
        n_jobs=1,
        callbacks=[],
    )
    assert free.best_iteration > limits.max_trees
    model = fit_trigger(window_table, tmp_path, limits, n_trials=3)
    assert len(model.booster.get_dump()) == model.best_iteration <= limits.max_trees
    trials = pd.read_csv(trials_path(tmp_path, TRIGGER_KIND))
    assert trials["user_attrs_best_iteration"].max() <= limits.max_trees


def test_the_study_never_proposes_a_depth_beyond_the_limit(window_table, tmp_path):
    fit_trigger(window_table, tmp_path, n_trials=12)
    study = open_study(TRIGGER_KIND, out_dir=tmp_path, resume=True)
    depths = [trial.params["max_depth"] for trial in study.trials]
    assert len(depths) == 12 and max(depths) <= TRIGGER_LIMITS.max_depth
    assert {trial.distributions["max_depth"].high for trial in study.trials} == {TRIGGER_LIMITS.max_depth}
    best = json.loads(best_params_path(tmp_path, TRIGGER_KIND).read_text())
    assert best["params"]["max_depth"] <= TRIGGER_LIMITS.max_depth and best["best_iteration"] <= 100


def test_a_resumed_trigger_study_keeps_its_trials_and_its_limits(window_table, tmp_path):
    fit_trigger(window_table, tmp_path, n_trials=2)
    first = pd.read_csv(trials_path(tmp_path, TRIGGER_KIND))
    fit_trigger(window_table, tmp_path, n_trials=4, resume=True)
    resumed = pd.read_csv(trials_path(tmp_path, TRIGGER_KIND))
    assert len(resumed) == 4
    pd.testing.assert_frame_equal(resumed.iloc[:2].drop(columns="duration_s"), first.drop(columns="duration_s"))
    assert resumed["params_max_depth"].max() <= TRIGGER_LIMITS.max_depth


def test_depth_capped_space_narrows_only_the_depth():
    values = {
        "learning_rate": 0.1,
        "max_depth": 3,
        "min_child_weight": 1.0,
        "gamma": 1e-3,
        "reg_alpha": 1e-3,
        "reg_lambda": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.9,
    }
    assert xgboost_booster.depth_capped_space(4)(FixedTrial(values)) == xgboost_booster.space(FixedTrial(values))
    assert xgboost_booster.depth_capped_space(1)(FixedTrial(values | {"max_depth": 1})).max_depth == 1
    with pytest.raises(ValueError, match="maximum tree depth >= 1; got 0"):
        xgboost_booster.depth_capped_space(0)


def test_the_default_limits_are_window_features():
    assert (TRIGGER_LIMITS.max_trees, TRIGGER_LIMITS.max_depth) == (100, 4)
    assert 6 <= len(TRIGGER_LIMITS.features) <= 12
    assert set(TRIGGER_LIMITS.features) <= set(WINDOW_FEATURES)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_trees": 0}, r"max_trees: expected an int >= 1, found int 0"),
        ({"max_depth": 2.5}, r"max_depth: expected an int >= 1, found float 2.5"),
        ({"features": ()}, r"expected at least one feature, each once; found \[\]"),
        ({"features": ("e5x5", "e5x5")}, r"each once; found \['e5x5', 'e5x5'\]"),
        ({"features": ("e5x5", "r9")}, r"\['r9'\] are not 5x5-window features"),
    ],
)
def test_bad_limits_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TriggerLimits(**changes)
