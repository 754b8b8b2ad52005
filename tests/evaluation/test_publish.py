"""The reporting step's samples: SHAP values and beeswarm events drawn seeded and stratified by class."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from egid.evaluation import publish
from egid.evaluation.importance_plots import plot_shap_summary
from egid.models import TreeModel, shap_values
from tests.tree_fixtures import TreeTable


def _class_sorted(tree_table: TreeTable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test rows with every electron first, as egid's datasets order them, and their scores frame."""
    order = np.argsort(-tree_table.y_test, kind="stable")
    table = tree_table.X_test.iloc[order].reset_index(drop=True)
    scores = pd.DataFrame({"label": tree_table.y_test[order], "split": "test"})
    return table, scores


def test_shap_events_are_a_stratified_sample_of_the_test_split(
    tree_table: TreeTable, tree_models: Mapping[str, TreeModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    table, scores = _class_sorted(tree_table)
    scores.loc[:49, "split"] = "train"  # events outside the test split are never drawn
    monkeypatch.setattr(publish, "shap_rows", lambda model: 100)
    shap = publish.shap_on_test_events(tree_models, table, scores, seed=4)
    test = scores["split"] == "test"
    electron_share = scores.loc[test, "label"].mean()
    for values in shap.values():
        drawn = values.values.index
        assert len(drawn) == 100 and test[drawn].all()
        assert abs(scores.loc[drawn, "label"].mean() - electron_share) <= 0.01
    again = publish.shap_on_test_events(tree_models, table, scores, seed=4)
    assert all(again[name].values.index.equals(shap[name].values.index) for name in shap)


def test_beeswarm_subset_keeps_each_class_share(
    tree_table: TreeTable, tree_models: Mapping[str, TreeModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    table, scores = _class_sorted(tree_table)
    model = tree_models["lightgbm"]
    shap = shap_values(model, table[list(model.feature_names)])
    monkeypatch.setattr("egid.evaluation.importance_plots.MAX_SWARM_EVENTS", 60)
    fig = plot_shap_summary(
        shap, table, labels=scores["label"], model="lightgbm", top=1, data="egid simulation", simulated=True
    )
    points = np.concatenate([c.get_offsets()[:, 0] for c in fig.axes[0].collections])  # NaN-coloured + coloured
    plt.close(fig)
    top = shap.mean_abs().index[0]
    drawn = np.flatnonzero(np.isin(shap.values[top].to_numpy(), points))
    assert len(points) == 60 and len(drawn) >= 60
    assert abs(scores["label"].to_numpy()[drawn].mean() - scores["label"].mean()) <= 0.05
