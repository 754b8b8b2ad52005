"""conifer firmware: conversion of both boosters (split convention, base score), the compiled C++ emulation in double
and ap_fixed precision, the per-feature power-of-two input scaling, the HLS project and the resource estimates."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import onnx
import pandas as pd
import pytest

from egid.deploy import firmware
from egid.models import TreeModel, XGBoostParams, fit_tree_model
from egid.models.boosters import xgboost as xgboost_booster
from egid.models.export import native_path, to_native, to_onnx
from egid.models.trees import feature_matrix
from tests.deploy.conftest import DEPLOY_DEPTH


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


@dataclass(frozen=True)
class Multiscale:
    """An XGBoost booster on features of very different scales, its conifer form and its test events."""

    model: TreeModel
    ensemble: firmware.Ensemble
    X: pd.DataFrame
    y: np.ndarray
    small: int
    """Column of the feature of order 0.01."""


@pytest.fixture(scope="module")
def multiscale() -> Multiscale:
    """40 trees of depth 3 on an energy-like feature in [0, 200], a width-like one of spread 0.01 around 0 and
    noise; the first two are equally informative."""
    rng = np.random.default_rng(11)
    n = 12_000
    X = pd.DataFrame(
        {"energy": rng.uniform(0.0, 200.0, n), "width": rng.normal(0.0, 0.01, n), "noise": rng.normal(size=n)}
    ).astype(np.float32)
    logit = 1.5 * (X["energy"].to_numpy() - 100.0) / 50.0 + 1.5 * X["width"].to_numpy() / 0.01
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    train, val, test = slice(0, 6000), slice(6000, 8000), slice(8000, n)
    model = fit_tree_model(
        "xgboost",
        X[train],
        y[train],
        X[val],
        y[val],
        params=XGBoostParams(max_depth=3),
        max_rounds=40,
        early_stopping_rounds=None,
    )
    return Multiscale(model, firmware.ensemble_from_xgboost(model.booster), X[test], y[test], small=1)


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


# Input scaling: one power of two per feature, so that a feature of order 0.01 and one of order 100 share the range.

SCALED_WIDTH = 12
"""The modest ap_fixed width of the scaling tests."""


def _on_thresholds(ensemble, X: np.ndarray) -> np.ndarray:
    """``X`` with row k's split feature set to split k's threshold (cycling over the rows)."""
    X = X.copy()
    for k, (feature, threshold) in enumerate(firmware._splits(ensemble)):
        X[k % len(X), feature] = threshold
    return X


def _quantised(values, width: int, integer: int) -> np.ndarray:
    """``values`` rounded to the ap_fixed<width, integer> grid (to nearest, ties to even), without saturation."""
    step = 2.0 ** (integer - width)
    return np.round(np.asarray(values, dtype=np.float64) / step) * step


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_input_shifts_put_each_feature_at_the_top_of_the_score_range(kind, ensembles) -> None:
    ensemble = ensembles[kind]
    scaled, scaling = firmware.scale_inputs(ensemble, width=18)
    integer = firmware.score_integer_bits(ensemble)
    assert scaling.integer_bits == integer == firmware.integer_bits(scaled)
    assert all(isinstance(s, int) for s in scaling.shifts) and len(scaling.shifts) == ensemble["n_features"]
    raw, new = list(firmware._splits(ensemble)), list(firmware._splits(scaled))
    assert [f for f, _ in raw] == [f for f, _ in new]
    # Each threshold times its feature's power of two, exactly.
    assert all(t_new == np.ldexp(t, scaling.shifts[f]) for (f, t), (_, t_new) in zip(raw, new, strict=True))
    limit = 2.0 ** (integer - 1) - 2 * 2.0 ** (integer - 18)
    for feature, shift in enumerate(scaling.shifts):
        largest = max((abs(t) for f, t in new if f == feature), default=None)
        if largest is None:
            assert shift == 0
        else:
            assert limit / 2 < largest <= limit
    assert ensemble["trees"][0][0]["threshold"] != scaled["trees"][0][0]["threshold"]  # the input is left intact


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_scaled_ensemble_takes_the_same_branches(kind, ensembles, deploy_models, deploy_events) -> None:
    """On random inputs (beyond the training range too) and on inputs equal to each threshold, the scaled ensemble
    on scaled inputs gives exactly the scores of the raw ensemble on raw inputs (conifer's Python reference)."""
    ensemble = ensembles[kind]
    scaled, scaling = firmware.scale_inputs(ensemble, width=SCALED_WIDTH)
    rng = np.random.default_rng(5)
    events = feature_matrix(_defined(deploy_events[0]).iloc[:300], deploy_models[kind].feature_names)
    for X in (rng.normal(scale=4.0, size=(300, ensemble["n_features"])), _on_thresholds(ensemble, events)):
        raw = firmware.reference_decision_function(ensemble, X)
        np.testing.assert_array_equal(firmware.reference_decision_function(scaled, scaling.apply(X)), raw)


def _with_end_threshold(ensemble, feature: int):
    """A copy of ``ensemble`` whose most negative threshold of ``feature`` becomes ``-(2 - 2**-20) * 2**k``, the
    largest |threshold| of the feature, with a float mantissa that the plain rule puts half a step or less from the
    bottom of the range at 12 bits."""
    ensemble = copy.deepcopy(ensemble)
    splits = [
        (tree, node)
        for tree in (tree for trees in ensemble["trees"] for tree in trees)
        for node, f in enumerate(tree["feature"])
        if f == feature
    ]
    largest = max(abs(tree["threshold"][node]) for tree, node in splits)
    tree, node = min(splits, key=lambda split: split[0]["threshold"][split[1]])
    assert tree["threshold"][node] < 0
    tree["threshold"][node] = -(2 - 2.0**-20) * 2.0 ** np.floor(np.log2(largest))
    return ensemble


def test_headroom_keeps_every_threshold_inside_the_range(multiscale) -> None:
    ensemble = _with_end_threshold(multiscale.ensemble, multiscale.small)
    scaled, scaling = firmware.scale_inputs(ensemble, width=SCALED_WIDTH)
    integer = scaling.integer_bits
    step = 2.0 ** (integer - SCALED_WIDTH)
    for width in (SCALED_WIDTH, 16, 24):
        quantised = _quantised([t for _, t in firmware._splits(scaled)], width, integer)
        assert quantised.min() > -(2.0 ** (integer - 1)) and quantised.max() < 2.0 ** (integer - 1) - step
    # The plain rule (largest |threshold| just below 2**(I-1)) would round that threshold onto the range's bottom.
    largest = max(abs(t) for f, t in firmware._splits(ensemble) if f == multiscale.small)
    plain = firmware._largest_shift(largest, np.nextafter(2.0 ** (integer - 1), 0))
    assert plain == scaling.shifts[multiscale.small] + 1
    assert _quantised(-np.ldexp(largest, plain), SCALED_WIDTH, integer) == -(2.0 ** (integer - 1))


def test_scale_inputs_needs_a_fractional_bit(ensembles) -> None:
    integer = firmware.score_integer_bits(ensembles["xgboost"])
    with pytest.raises(ValueError, match=f"above the score's {integer} integer bits"):
        firmware.scale_inputs(ensembles["xgboost"], width=integer)


def test_fixed_point_bits() -> None:
    assert firmware.fixed_point_bits(firmware.fixed_point(16, 6)) == (16, 6)
    assert firmware.fixed_point_bits("double") is None
    with pytest.raises(ValueError, match="expected 'float'"):
        firmware.fixed_point_bits("ap_fixed<4,8>")


@pytest.mark.slow
def test_double_emulation_is_unchanged_by_the_scaling(multiscale, tmp_path) -> None:
    """The compiled double emulations of the raw and the scaled ensemble agree bit for bit."""
    scaled, scaling = firmware.scale_inputs(multiscale.ensemble, width=SCALED_WIDTH)
    raw = firmware.build_emulation(multiscale.ensemble, "double", tmp_path / "raw")
    new = firmware.build_emulation(scaled, "double", tmp_path / "scaled")
    rng = np.random.default_rng(6)
    random = multiscale.X.to_numpy(np.float64)[:500] * rng.uniform(0.0, 3.0, size=(500, 3))
    for X in (random, _on_thresholds(multiscale.ensemble, multiscale.X.to_numpy(np.float64)[:500])):
        np.testing.assert_array_equal(new.decision_function(scaling.apply(X)), raw.decision_function(X))


@pytest.mark.slow
def test_scaling_rescues_a_small_feature_at_a_modest_width(multiscale, tmp_path) -> None:
    """A feature of order 0.01 beside one of order 100: one ap_fixed<12,I> fitted to the large thresholds rounds the
    small feature's splits away; scaled, both keep their resolution."""
    from sklearn.metrics import roc_auc_score

    X = multiscale.X.to_numpy(np.float64)
    native = multiscale.model.predict(multiscale.X)
    native_auc = roc_auc_score(multiscale.y, native)
    raw_integer = firmware.integer_bits(multiscale.ensemble)
    scaled, scaling = firmware.scale_inputs(multiscale.ensemble, width=SCALED_WIDTH)
    assert scaling.integer_bits < raw_integer
    results = {}
    for name, ensemble, integer, inputs in (
        ("raw", multiscale.ensemble, raw_integer, X),
        ("scaled", scaled, scaling.integer_bits, scaling.apply(X)),
    ):
        precision = firmware.fixed_point(SCALED_WIDTH, integer)
        emulation = firmware.build_emulation(ensemble, precision, tmp_path / name)
        logodds = emulation.decision_function(inputs)
        results[name] = (np.abs(logodds - _log_odds(native)).max(), roc_auc_score(multiscale.y, logodds))
    (raw_error, raw_auc), (scaled_error, scaled_auc) = results["raw"], results["scaled"]
    assert scaled_error < raw_error / 5, results
    assert abs(scaled_auc - native_auc) < 0.005 < 0.03 < native_auc - raw_auc, (native_auc, results)


@pytest.mark.slow
def test_saturated_inputs_keep_their_side_of_every_threshold(multiscale, tmp_path) -> None:
    """Inputs far beyond the range saturate and take the raw ensemble's branches, even beside a threshold whose
    mantissa the plain rule would round onto the range's end: the fixed-point score equals the raw ensemble's
    with its leaves rounded to the same grid, exactly."""
    ensemble = _with_end_threshold(multiscale.ensemble, multiscale.small)
    scaled, scaling = firmware.scale_inputs(ensemble, width=SCALED_WIDTH)
    integer = scaling.integer_bits
    emulation = firmware.build_emulation(scaled, firmware.fixed_point(SCALED_WIDTH, integer), tmp_path)
    rounded = copy.deepcopy(ensemble)
    rounded["init_predict"] = list(_quantised(rounded["init_predict"], SCALED_WIDTH, integer))
    for tree in (tree for trees in rounded["trees"] for tree in trees):
        tree["value"] = list(_quantised(tree["value"], SCALED_WIDTH, integer))
    rng = np.random.default_rng(7)
    X = rng.choice([-1.0, 1.0], size=(400, 3)) * 10.0 ** rng.uniform(4, 9, size=(400, 3))
    assert (np.abs(scaling.apply(X)) >= 2.0 ** (integer - 1)).all()
    np.testing.assert_array_equal(
        emulation.decision_function(scaling.apply(X)), firmware.reference_decision_function(rounded, X)
    )
