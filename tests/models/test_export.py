"""Exports: native boosters reload to identical scores, ONNX within 1e-5, a failed parity check writes nothing."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from egid.detector import InputError
from egid.models import LightGBMParams, export
from egid.models.boosters import lightgbm
from egid.models.export import OnnxTreeScorer, load_tree_model, native_path, onnx_path, to_onnx
from egid.models.trees import TREE_KINDS, fit_tree_model
from tests.tree_fixtures import TREE_FEATURE_NAMES, TREE_FEATURE_SET_VERSION


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_native_export_reloads_to_bit_identical_scores(kind, tree_table, tree_models, tree_model_dir):
    loaded = load_tree_model(
        tree_model_dir, kind, feature_names=TREE_FEATURE_NAMES, feature_set_version=TREE_FEATURE_SET_VERSION
    )
    original = tree_models[kind]
    assert np.array_equal(loaded.predict(tree_table.X_test), original.predict(tree_table.X_test))
    assert loaded.feature_names == original.feature_names == TREE_FEATURE_NAMES
    assert (loaded.best_iteration, loaded.params, loaded.seed) == (
        original.best_iteration,
        original.params,
        original.seed,
    )
    assert loaded.history.equals(original.history)


def test_native_files_carry_the_feature_names_in_order(tree_model_dir):
    text = native_path(tree_model_dir, "lightgbm").read_text()
    line = next(line for line in text.splitlines() if line.startswith("feature_names="))
    assert tuple(line.removeprefix("feature_names=").split(" ")) == TREE_FEATURE_NAMES
    learner = json.loads(native_path(tree_model_dir, "xgboost").read_text())["learner"]
    assert tuple(learner["feature_names"]) == TREE_FEATURE_NAMES


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_onnx_export_matches_the_native_scores(kind, tree_table, tree_models, tree_model_dir):
    scorer = OnnxTreeScorer(onnx_path(tree_model_dir, kind))
    X = tree_table.X_train  # rows the parity check did not see
    assert np.max(np.abs(scorer.predict(X) - tree_models[kind].predict(X))) < 1e-5
    assert scorer.feature_names == TREE_FEATURE_NAMES


def test_xgboost_onnx_input_names_map_back_to_the_features(tree_model_dir):
    expected = [f"f{i}" for i in range(len(TREE_FEATURE_NAMES))]
    assert list(OnnxTreeScorer(onnx_path(tree_model_dir, "xgboost")).input_names) == expected
    params = json.loads((tree_model_dir / "xgboost_params.json").read_text())
    assert params["onnx"]["input_names"] == expected and params["feature_names"] == list(TREE_FEATURE_NAMES)


def test_a_failed_parity_check_warns_and_writes_no_onnx(tree_table, tree_models, tmp_path, monkeypatch, caplog):
    real_scores = export._onnx_scores
    monkeypatch.setattr(export, "_onnx_scores", lambda session, values: real_scores(session, values) + 2e-5)
    with caplog.at_level(logging.WARNING, logger="egid.models.export"):
        written = to_onnx(tree_models["lightgbm"], tmp_path / "lightgbm.onnx", check_X=tree_table.X_test)
    assert written is None
    assert list(tmp_path.iterdir()) == []
    assert "not written" in caplog.text and "differ from the native ones by up to 2.0" in caplog.text


def test_onnx_from_elsewhere_is_refused(tmp_path):
    path = tmp_path / "other.onnx"
    path.write_bytes(b"not a graph")
    with pytest.raises(InputError, match=r"other\.onnx: cannot load the ONNX model"):
        OnnxTreeScorer(path)


def test_lightgbm_onnx_takes_the_native_branch_at_float32_rounded_thresholds(tmp_path, monkeypatch):
    # Dense float32 values put inputs right at the float32 rounding of LightGBM's float64 thresholds (midpoints
    # between neighbouring values): rounded to nearest, such an input branches the other way in the graph.
    rng = np.random.default_rng(7)
    steps = rng.integers(0, 3000, size=(6000, 3))
    X = pd.DataFrame((1.0 + steps * np.finfo(np.float32).eps).astype(np.float32), columns=["a", "b", "c"])
    y = (rng.random(6000) < 1 / (1 + np.exp(-(steps[:, 0] - 1500) / 300))).astype(np.float32)
    model = fit_tree_model(
        "lightgbm",
        X,
        y,
        X,
        y,
        params=LightGBMParams(num_leaves=64, min_child_samples=5),
        max_rounds=60,
        early_stopping_rounds=None,
    )
    assert to_onnx(model, tmp_path / "lightgbm.onnx", check_X=X) is not None
    assert np.max(np.abs(OnnxTreeScorer(tmp_path / "lightgbm.onnx").predict(X) - model.predict(X))) < 1e-5

    monkeypatch.setattr(lightgbm, "_round_thresholds_down", lambda *args: None)
    assert to_onnx(model, tmp_path / "rounded_to_nearest.onnx", check_X=X) is None
