"""Importances: gain and split counts equal those summed over the trees' own nodes; TreeSHAP adds to the log-odds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egid.detector import InputError
from egid.models import importance
from egid.models.importance import importance_path, importance_table, read_importances, shap_values
from egid.models.trees import TREE_KINDS


def node_table(model) -> pd.DataFrame:
    """Every split node of the model as (feature, gain), read from the library's own tree dump."""
    trees = model.booster.trees_to_dataframe()
    if model.kind == "lightgbm":
        splits = trees[trees["split_feature"].notna()]
        return pd.DataFrame({"feature": splits["split_feature"], "gain": splits["split_gain"]})
    splits = trees[trees["Feature"] != "Leaf"]
    return pd.DataFrame({"feature": splits["Feature"], "gain": splits["Gain"]})


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_gain_and_split_are_sums_over_the_split_nodes(kind, tree_models):
    model = tree_models[kind]
    nodes = node_table(model).groupby("feature")["gain"]
    expected_gain = nodes.sum().reindex(model.feature_names, fill_value=0.0)
    expected_split = nodes.size().reindex(model.feature_names, fill_value=0).astype(float)
    np.testing.assert_allclose(model.importance("gain").to_numpy(), expected_gain.to_numpy(), rtol=1e-5)
    np.testing.assert_array_equal(model.importance("split").to_numpy(), expected_split.to_numpy())


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_shap_values_add_up_to_the_log_odds(kind, tree_table, tree_models):
    model, X = tree_models[kind], tree_table.X_test
    shap = shap_values(model, X)
    p = model.predict(X)
    assert list(shap.values.columns) == list(model.feature_names) and shap.values.index.equals(X.index)
    np.testing.assert_allclose(shap.values.sum(axis=1) + shap.base_value, np.log(p / (1 - p)), atol=1e-5)


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_the_stored_table_holds_all_three_measures(kind, tree_table, tree_models, tree_model_dir):
    model = tree_models[kind]
    table = read_importances(tree_model_dir, kind)
    assert list(table.columns) == ["gain", "split", "shap"]
    assert table["gain"].is_monotonic_decreasing
    assert set(table.index) == set(model.feature_names)
    shap = shap_values(model, tree_table.X_test)
    mean_abs = shap.values.abs().mean()
    np.testing.assert_allclose(table["shap"], mean_abs[table.index], rtol=1e-12)
    pd.testing.assert_frame_equal(table, importance_table(model, shap), check_names=False, rtol=1e-12)


def test_a_missing_table_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=f"{importance_path(tmp_path, 'xgboost')}: no stored importances"):
        read_importances(tmp_path, "xgboost")


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_leaf_counts_are_those_of_the_library_tree_dump(kind, tree_models):
    model = tree_models[kind]
    trees = model.booster.trees_to_dataframe()
    if kind == "lightgbm":
        expected = trees[trees["split_feature"].isna()].groupby("tree_index").size()
    else:
        expected = trees[trees["Feature"] == "Leaf"].groupby("Tree").size()
    counts = model.leaf_counts()
    assert counts.size == model.best_iteration
    np.testing.assert_array_equal(counts, expected.to_numpy()[: model.best_iteration])


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_shap_rows_spend_the_budget_within_their_bounds(kind, tree_models, monkeypatch):
    model = tree_models[kind]
    cost = importance.shap_cost_per_event(model)
    leaves = model.leaf_counts()
    assert cost == pytest.approx(leaves.sum() * (np.log2(leaves.mean()) + 1) ** 2)
    for events, expected in ((700, 700), (10, importance.SHAP_MIN_ROWS), (10**6, importance.SHAP_MAX_ROWS)):
        monkeypatch.setattr(importance, "SHAP_COST_BUDGET", cost * events + 1)
        assert importance.shap_rows(model) == expected
