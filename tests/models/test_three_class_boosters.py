"""Multiclass (electron / photon / charged pion) boosters behind the library interface, both libraries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egid.models.boosters import TREE_KINDS, get_booster_library
from egid.models.boosters.base import objective_metric
from egid.models.export import OnnxTreeScorer, export_tree_model, load_tree_model, to_onnx
from egid.models.manifest import write_manifest
from egid.models.trees import TreeModel, fit_tree_model


def _table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Three Gaussian blobs in 4 features; label k (0 photon, 1 electron, 2 pion) shifts feature k."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0.0, 1.0, 2.0], n // 3)
    X = rng.normal(size=(y.size, 4))
    X[np.arange(y.size), y.astype(int)] += 1.5
    X[::17, 3] = np.nan  # an undefined feature routes by default direction
    return pd.DataFrame(X, columns=["f_a", "f_b", "f_c", "f_d"]), y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    X, y = _table(600, 0)
    Xv, yv = _table(300, 1)
    return X, y, Xv, yv


@pytest.fixture(scope="module", params=TREE_KINDS)
def model(request: pytest.FixtureRequest, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]) -> TreeModel:
    X, y, Xv, yv = data
    return fit_tree_model(request.param, X, y, Xv, yv, n_classes=3, max_rounds=300, early_stopping_rounds=10)


def test_predict_gives_three_probabilities_summing_to_one(model: TreeModel, data: tuple) -> None:
    _X, _y, Xv, yv = data
    p = model.predict(Xv)
    assert model.n_classes == 3 and p.shape == (len(Xv), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert (p.argmax(axis=1) == yv).mean() > 0.7  # column k is the class of label k


def test_early_stopping_keeps_the_round_of_the_lowest_validation_logloss(model: TreeModel, data: tuple) -> None:
    _X, _y, Xv, yv = data
    column, direction = objective_metric(3)
    assert (column, direction) == ("validation_logloss", "minimize")
    history = model.history
    assert len(history) > model.best_iteration  # it waited 10 rounds past the best
    assert int(history[column].to_numpy().argmin()) + 1 == model.best_iteration
    assert history["validation_auc"].isna().all() and history["train_auc"].isna().all()
    p = model.predict(Xv)
    logloss = -np.mean(np.log(p[np.arange(len(yv)), yv.astype(int)]))
    assert logloss == pytest.approx(history[column].iloc[model.best_iteration - 1], rel=1e-4)
    accuracy = (p.argmax(axis=1) == yv).mean()
    assert accuracy == pytest.approx(history["validation_accuracy"].iloc[model.best_iteration - 1], abs=1e-9)


def test_per_class_gain_sums_to_the_total_gain(model: TreeModel) -> None:
    per_class = model.class_importance()
    assert list(per_class.columns) == ["photon", "electron", "pion"]
    np.testing.assert_allclose(per_class.sum(axis=1), model.importance("gain"), rtol=1e-6)
    # feature k separates class k: it is that class's leading feature
    assert [per_class[name].idxmax() for name in per_class.columns] == ["f_a", "f_b", "f_c"]


def test_contributions_per_class_sum_to_the_raw_scores(model: TreeModel, data: tuple) -> None:
    Xv = data[2].iloc[:20]
    phi = model.contributions(Xv)
    assert phi.shape == (20, 3, 5)
    logits = phi.sum(axis=2)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, model.predict(Xv), atol=1e-6)


def test_native_and_onnx_exports_reproduce_the_probabilities(model: TreeModel, data: tuple, tmp_path: Path) -> None:
    Xv = data[2]
    written = export_tree_model(model, tmp_path, check_X=Xv)
    assert "onnx" in written
    write_manifest(tmp_path, feature_names=list(model.feature_names), feature_set_version="test", seed=0)
    loaded = load_tree_model(tmp_path, model.kind)
    assert loaded.n_classes == 3 and loaded.best_iteration == model.best_iteration
    np.testing.assert_array_equal(loaded.predict(Xv), model.predict(Xv))
    onnx = OnnxTreeScorer(written["onnx"]).predict(Xv)
    assert onnx.shape == (len(Xv), 3)
    np.testing.assert_allclose(onnx, model.predict(Xv), atol=1e-4)


def test_onnx_parity_failure_writes_nothing(model: TreeModel, data: tuple, tmp_path: Path) -> None:
    assert to_onnx(model, tmp_path / "m.onnx", check_X=data[2], tolerance=0.0) is None
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_class_weights_enter_the_training_loss(kind: str, data: tuple) -> None:
    X, y, Xv, yv = data
    plain = fit_tree_model(kind, X, y, Xv, yv, n_classes=3, max_rounds=20, early_stopping_rounds=None)
    weights = np.where(y == 2, 5.0, 1.0)
    heavy = fit_tree_model(
        kind, X, y, Xv, yv, n_classes=3, max_rounds=20, early_stopping_rounds=None, train_weights=weights
    )
    # a heavier pion class raises the mean pion probability
    assert heavy.predict(Xv)[:, 2].mean() > plain.predict(Xv)[:, 2].mean() + 0.02


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_a_missing_class_or_bad_weights_are_refused(kind: str, data: tuple) -> None:
    X, y, Xv, yv = data
    keep = y != 2
    with pytest.raises(ValueError, match=r"y_train to hold each of the classes 0 .. 2; found \[0.0, 1.0\]"):
        fit_tree_model(kind, X[keep], y[keep], Xv, yv, n_classes=3)
    with pytest.raises(ValueError, match=r"train_weights to hold one finite weight > 0 per row \(600\); got 3"):
        fit_tree_model(kind, X, y, Xv, yv, n_classes=3, train_weights=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"train_weights to hold one finite weight > 0"):
        fit_tree_model(kind, X, y, Xv, yv, n_classes=3, train_weights=np.zeros(len(y)))


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_a_binary_booster_reports_two_classes(kind: str, data: tuple) -> None:
    X, y, Xv, yv = data
    keep, keep_v = y < 2, yv < 2
    binary = fit_tree_model(kind, X[keep], y[keep], Xv[keep_v], yv[keep_v], max_rounds=10, early_stopping_rounds=None)
    assert binary.n_classes == 2 and binary.predict(Xv).shape == (len(Xv),)
    assert get_booster_library(kind).n_classes(binary.booster) == 2
    assert list(binary.class_importance().columns) == ["electron"]
