"""Importance figures (pipelines/importance_plots.py): what is drawn is the ranked data, in order."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from egid.evaluation.importance_plots import plot_importance_bars, plot_shap_summary
from egid.models.importance import shap_values


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_bars_show_the_top_features_largest_first(tree_models):
    gain = tree_models["lightgbm"].importance("gain")
    fig = plot_importance_bars(gain, kind="gain", model="LightGBM", top=4, data="test table", simulated=True)
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top of the plot first
    expected = gain.sort_values(ascending=False).iloc[:4]
    np.testing.assert_allclose([bar.get_width() for bar in bars], expected.to_numpy())
    labels = [tick.get_text() for tick in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels == list(expected.index)
    assert "gain" in ax.get_xlabel().lower()


def test_shap_summary_draws_every_event_of_each_top_feature(tree_table, tree_models):
    X = tree_table.X_test
    shap = shap_values(tree_models["xgboost"], X)
    fig = plot_shap_summary(shap, X, model="XGBoost", top=3, data="test table", simulated=True)
    ax = fig.axes[0]
    top = list(shap.mean_abs().index[:3])
    labels = [tick.get_text() for tick in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels == top
    # Two collections per feature (NaN values in grey, the others coloured), drawn from the top row down.
    for i, feature in enumerate(top):
        drawn = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections[2 * i : 2 * i + 2]])
        np.testing.assert_allclose(np.sort(drawn), np.sort(shap.values[feature].to_numpy()))
    grey = sum(len(ax.collections[2 * i].get_offsets()) for i in range(3))
    assert grey == int(X[top].isna().to_numpy().sum())
    assert len(fig.axes) == 2  # the colour bar
