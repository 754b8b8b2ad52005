"""conifer firmware: conversion of both boosters (split convention, base score), the compiled C++ emulation in double
and ap_fixed precision, the HLS project and the resource estimates."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from egid.models import firmware
from egid.models.boosters import xgboost as xgboost_booster
from egid.models.export import native_path, to_native, to_onnx
from egid.models.trees import feature_matrix
from tests.models.conftest import DEPLOY_DEPTH


def _log_odds(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


@pytest.fixture(scope="module")
def ensembles(deploy_models, deploy_events, tmp_path_factory):
    X, _ = deploy_events
    path = to_onnx(deploy_models["lightgbm"], tmp_path_factory.mktemp("onnx") / "lgb.onnx", check_X=X)
    assert path is not None
    return {
        "lightgbm": firmware.ensemble_from_onnx(onnx.load(str(path))),
        "xgboost": firmware.ensemble_from_xgboost(deploy_models["xgboost"].booster),
    }


def test_the_depth_of_a_reloaded_xgboost_booster_is_that_of_its_trees(deploy_models, tmp_path):
    """A booster read from its JSON file has lost its training configuration; conifer alone would say depth 6."""
    model = deploy_models["xgboost"]
    path = to_native(model, native_path(tmp_path, "xgboost"))
    reloaded = xgboost_booster.load_native(path)
    for booster in (model.booster, reloaded):
        assert firmware.ensemble_from_xgboost(booster)["max_depth"] == DEPLOY_DEPTH


def test_the_depth_of_a_lightgbm_ensemble_is_that_of_its_unbalanced_trees(tree_models, tree_table, tmp_path):
    """Leaf-wise trees are deeper than conifer's ONNX converter infers from their node count."""
    model = tree_models["lightgbm"]
    path = to_onnx(model, tmp_path / "lightgbm.onnx", check_X=tree_table.X_test)
    assert path is not None
    depth = int(model.booster.trees_to_dataframe()["node_depth"].max()) - 1  # LightGBM counts the root as 1
    assert firmware.ensemble_from_onnx(onnx.load(str(path)))["max_depth"] == depth


def _defined(X):
    return X[X.notna().all(axis=1)]


@pytest.mark.parametrize(("kind", "convention"), [("lightgbm", "<="), ("xgboost", "<")])
def test_conversion_reproduces_the_booster_at_its_thresholds(kind, convention, ensembles, deploy_models, deploy_events):
    """Events placed exactly on each split threshold take the booster's branch: the split convention is right."""
    ensemble, model = ensembles[kind], deploy_models[kind]
    assert ensemble["splitting_convention"] == convention
    assert ensemble["n_trees"] == 20
    on_threshold = _defined(deploy_events[0]).iloc[:400].copy()
    splits = [
        (f, t)
        for trees in ensemble["trees"]
        for tree in trees
        for f, t in zip(tree["feature"], tree["threshold"], strict=True)
    ]
    # Event k gets split k's threshold (as the float32 a feature table holds) on that split's feature.
    for k, (feature, threshold) in enumerate((f, t) for f, t in splits if f >= 0):
        on_threshold.iloc[k % len(on_threshold), feature] = np.float32(threshold)
    reference = firmware.reference_decision_function(ensemble, feature_matrix(on_threshold, model.feature_names))
    difference = np.abs(reference - _log_odds(model.predict(on_threshold)))
    assert difference.max() < 1e-5, f"{np.mean(difference > 1e-5):.1%} of events differ, by up to {difference.max()}"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_double_emulation_reproduces_the_golden_scores(kind, ensembles, deploy_models, deploy_events, tmp_path):
    X = _defined(deploy_events[0])
    assert len(X) > 3000
    model = deploy_models[kind]
    emulation = firmware.build_emulation(ensembles[kind], "double", tmp_path)
    difference = np.abs(emulation.predict(feature_matrix(X, model.feature_names)) - model.predict(X))
    # Leaf values are float32 in both boosters; conifer sums them in double.
    assert difference.max() < 1e-6, f"{np.mean(difference > 1e-6):.2%} of events differ, by up to {difference.max()}"
    with pytest.raises(ValueError, match="rows hold NaN"):
        emulation.decision_function(feature_matrix(deploy_events[0], model.feature_names))


@pytest.mark.slow
def test_fixed_point_emulation_error_is_bounded_by_its_step(ensembles, deploy_models, deploy_events, tmp_path):
    """At ap_fixed<16,I> scores deviate (quantised leaves and inputs), but by little: the step is 2**-(16-I)."""
    X = _defined(deploy_events[0])
    model, ensemble = deploy_models["xgboost"], ensembles["xgboost"]
    integer = firmware.integer_bits(ensemble)
    emulation = firmware.build_emulation(ensemble, firmware.fixed_point(16, integer), tmp_path)
    difference = np.abs(
        emulation.decision_function(feature_matrix(X, model.feature_names)) - _log_odds(model.predict(X))
    )
    step = 2.0 ** -(16 - integer)
    assert difference.max() > 0
    # Rounding each of 20 leaves and the base score costs at most 21 half-steps; an input rounded across a
    # threshold changes one leaf, so the median event stays within that bound.
    assert np.median(difference) <= 21 * step / 2


def test_integer_bits_cover_thresholds_and_scores(ensembles) -> None:
    for ensemble in ensembles.values():
        bits = firmware.integer_bits(ensemble)
        limit = 2.0 ** (bits - 1)
        thresholds = [
            t
            for trees in ensemble["trees"]
            for tree in trees
            for t, f in zip(tree["threshold"], tree["feature"], strict=True)
            if f >= 0
        ]
        assert max(abs(t) for t in thresholds) < limit
        assert 2 <= bits <= 8


def test_hls_project_and_estimates(ensembles, tmp_path) -> None:
    precision = firmware.fixed_point(18, 6)
    project = firmware.write_hls_project(ensembles["xgboost"], precision, tmp_path / "hls")
    parameters = (project / "firmware" / "parameters.h").read_text()
    assert f"typedef {precision} input_t;" in parameters
    assert (project / "build_hls.tcl").is_file()
    estimates = firmware.performance_estimates(ensembles["xgboost"])
    assert set(estimates) == {"latency", "lut", "ff"}
    assert all(value > 0 for value in estimates.values())


@pytest.mark.parametrize("text", ["ap_fixed<8,9>", "fixed<8,4>", "half", "ap_fixed<8>"])
def test_bad_precisions_are_refused(text) -> None:
    with pytest.raises(ValueError, match="expected 'float', 'double' or 'ap_fixed<W,I>'"):
        firmware.check_precision(text)


def test_fixed_point_spelling() -> None:
    assert firmware.fixed_point(16, 6) == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    assert firmware.check_precision(firmware.fixed_point(16, 6)) == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    with pytest.raises(ValueError, match="integer bits"):
        firmware.fixed_point(8, 0)
