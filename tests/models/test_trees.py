"""TreeModel: per-round curves agree with the final predictions, early stopping keeps the best rounds, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from egid.models import LightGBMParams, XGBoostParams
from egid.models.trees import HISTORY_COLUMNS, TREE_KINDS, fit_tree_model
from tests.tree_fixtures import TREE_SEED

BAGGED = {
    "lightgbm": LightGBMParams(subsample=0.7, subsample_freq=1, colsample_bytree=0.7),
    "xgboost": XGBoostParams(subsample=0.7, colsample_bytree=0.7),
}


def n_trees(model) -> int:
    return model.booster.num_trees() if model.kind == "lightgbm" else model.booster.num_boosted_rounds()


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_history_at_best_round_matches_the_kept_model(kind, tree_table, tree_models):
    model, t = tree_models[kind], tree_table
    p_val = model.predict(t.X_val)
    best = model.history.loc[model.best_iteration]
    assert list(model.history.columns) == list(HISTORY_COLUMNS)
    assert p_val.shape == (len(t.X_val),) and np.all((p_val > 0) & (p_val < 1))
    assert best["validation_auc"] == pytest.approx(roc_auc_score(t.y_val, p_val), abs=1e-9)
    assert best["validation_logloss"] == pytest.approx(log_loss(t.y_val, p_val), abs=1e-6)
    assert best["validation_accuracy"] == pytest.approx(np.mean((p_val > 0.5) == t.y_val), abs=1e-12)
    p_train = model.predict(t.X_train)
    assert best["train_auc"] == pytest.approx(roc_auc_score(t.y_train, p_train), abs=1e-9)


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_early_stopping_keeps_the_rounds_up_to_the_best_validation_auc(kind, tree_models):
    model = tree_models[kind]
    auc = model.history["validation_auc"].to_numpy()
    assert len(model.history) < 300, "the fixture should stop early; the test would then be vacuous"
    assert len(model.history) == model.best_iteration + 15
    assert model.best_iteration == int(np.argmax(auc)) + 1
    assert n_trees(model) == model.best_iteration


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_same_seed_gives_bit_identical_predictions_and_another_seed_differs(kind, tree_table):
    t = tree_table

    def fit(seed: int):
        return fit_tree_model(
            kind,
            t.X_train,
            t.y_train,
            t.X_val,
            t.y_val,
            params=BAGGED[kind],
            max_rounds=40,
            early_stopping_rounds=None,
            seed=seed,
        )

    first, again, other = fit(TREE_SEED), fit(TREE_SEED), fit(TREE_SEED + 1)
    assert np.array_equal(first.predict(t.X_test), again.predict(t.X_test))
    assert first.history.equals(again.history)
    assert not np.array_equal(first.predict(t.X_test), other.predict(t.X_test))
    assert first.best_iteration == len(first.history) == 40


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_columns_are_read_by_name_not_position(kind, tree_table, tree_models):
    model, X = tree_models[kind], tree_table.X_test
    shuffled = X[list(reversed(X.columns))].assign(unused=1.0)
    assert np.array_equal(model.predict(shuffled), model.predict(X))
    with pytest.raises(ValueError, match=r"missing \['cnn_score'\]"):
        model.predict(X.drop(columns="cnn_score"))


def test_a_single_class_is_refused(tree_table):
    t = tree_table
    with pytest.raises(ValueError, match="both classes"):
        fit_tree_model("lightgbm", t.X_train, np.ones(len(t.X_train)), t.X_val, t.y_val)


def test_parameters_of_the_wrong_library_are_refused(tree_table):
    t = tree_table
    with pytest.raises(TypeError, match="Expected LightGBMParams"):
        fit_tree_model("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, params=XGBoostParams())
