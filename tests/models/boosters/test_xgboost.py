"""The XGBoost library module's own job: its parameters under XGBoost's names, its search spaces (the depth-capped
one included), rounds kept and truncated, the ``<`` split convention, the ONNX graph of a renamed copy, and the
pruning callback's metric."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnxruntime
import optuna
import pytest
from sklearn.datasets import make_classification

from egid.models.boosters import xgboost as library
from egid.models.boosters.base import FittedBooster
from egid.models.boosters.xgboost import XGBoostParams

NAMES = ("a", "b", "c", "d")
#: Every value differs from XGBoost's default and is exact in float32, so each shows up unchanged in its config.
DISTINCT = XGBoostParams(
    learning_rate=0.25,
    max_depth=3,
    min_child_weight=2.0,
    gamma=0.0625,
    reg_alpha=0.5,
    reg_lambda=0.75,
    subsample=0.875,
    colsample_bytree=0.5,
)


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_classification(800, n_features=len(NAMES), n_informative=3, n_redundant=0, random_state=2)
    return x, y.astype(np.float64)


def _fit(problem: tuple[np.ndarray, np.ndarray], params: XGBoostParams, rounds: int, **options) -> FittedBooster:
    x, y = problem
    settings = {"early_stopping_rounds": None, "seed": 0, "n_jobs": 1, "callbacks": ()} | options
    return library.fit(x[:600], y[:600], x[600:], y[600:], NAMES, params=params, max_rounds=rounds, **settings)


@pytest.fixture(scope="module")
def fitted(problem: tuple[np.ndarray, np.ndarray]) -> FittedBooster:
    return _fit(problem, DISTINCT, 12)


def test_native_names_are_the_ones_xgboost_records_in_its_config(fitted: FittedBooster) -> None:
    native = DISTINCT.native()
    assert sorted(native.values()) == sorted(dataclasses.astuple(DISTINCT))  # each field once, value unchanged
    config = json.loads(fitted.booster.save_config())["learner"]["gradient_booster"]["tree_train_param"]
    for name, value in native.items():
        assert float(config[name]) == value, name


def _distributions(space) -> dict[str, optuna.distributions.BaseDistribution]:
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    space(trial)
    return trial.distributions


def test_the_search_space_tunes_every_parameter_with_depths_2_to_10() -> None:
    distributions = _distributions(library.space)
    assert set(distributions) == {field.name for field in dataclasses.fields(XGBoostParams)}
    depth = distributions["max_depth"]
    assert (depth.low, depth.high) == (2, 10)
    for name in ("reg_alpha", "reg_lambda", "gamma", "min_child_weight", "learning_rate"):
        assert distributions[name].log, f"{name} is drawn on a log scale"
    for name in ("subsample", "colsample_bytree"):
        assert distributions[name].low > 0 and distributions[name].high <= 1


@pytest.mark.parametrize(("cap", "depths"), [(1, (1, 1)), (2, (2, 2)), (4, (2, 4)), (10, (2, 10)), (12, (2, 12))])
def test_the_depth_capped_space_changes_only_the_depth_range(cap: int, depths: tuple[int, int]) -> None:
    full, capped = _distributions(library.space), _distributions(library.depth_capped_space(cap))
    assert (capped["max_depth"].low, capped["max_depth"].high) == depths
    assert {k: v for k, v in capped.items() if k != "max_depth"} == {k: v for k, v in full.items() if k != "max_depth"}


@pytest.mark.parametrize("cap", [0, -3])
def test_a_depth_cap_below_one_is_refused(cap: int) -> None:
    with pytest.raises(ValueError, match=rf"^Expected a maximum tree depth >= 1; got {cap}\.$"):
        library.depth_capped_space(cap)


def test_without_early_stopping_every_round_is_kept(fitted: FittedBooster) -> None:
    assert fitted.best_iteration == 12 == fitted.booster.num_boosted_rounds() and len(fitted.history) == 12
    counts = library.leaf_counts(fitted.booster, 12)
    assert len(counts) == 12 and counts.min() >= 1 and counts.max() <= 2**DISTINCT.max_depth
    assert len(library.leaf_counts(fitted.booster, 5)) == 5
    assert library.feature_names(fitted.booster) == NAMES


def test_early_stopping_keeps_the_rounds_up_to_the_first_best_validation_auc(
    problem: tuple[np.ndarray, np.ndarray],
) -> None:
    fitted = _fit(problem, XGBoostParams(learning_rate=0.3, max_depth=6), 200, early_stopping_rounds=5)
    auc = fitted.history["validation_auc"].to_numpy()
    assert len(auc) < 200  # it stopped
    assert fitted.best_iteration == int(np.argmax(auc)) + 1 == fitted.booster.num_boosted_rounds()
    assert len(auc) == fitted.best_iteration + 5


def test_the_first_rounds_predict_as_their_native_file(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    x = problem[0][600:]
    content = library.native_bytes(fitted.booster, 4)
    trees = json.loads(content)["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"]
    assert int(trees) == 4
    path = tmp_path / library.NATIVE_FILE
    path.write_bytes(content)
    reloaded = library.load_native(path)
    first_four = library.predict(fitted.booster, x, 4)
    np.testing.assert_array_equal(library.predict(reloaded, x, 4), first_four)
    assert np.abs(first_four - library.predict(fitted.booster, x, 12)).max() > 1e-3


@pytest.mark.parametrize(("kind", "column"), [("split", "Feature"), ("gain", "Gain")])
def test_importance_sums_over_the_split_nodes_of_the_first_rounds(
    fitted: FittedBooster, kind: str, column: str
) -> None:
    trees = fitted.booster.trees_to_dataframe()
    splits = trees[(trees["Tree"] < 5) & (trees["Feature"] != "Leaf")]
    if kind == "split":
        expected = [float((splits["Feature"] == name).sum()) for name in NAMES]
    else:
        expected = [float(splits.loc[splits["Feature"] == name, "Gain"].sum()) for name in NAMES]
    np.testing.assert_allclose(library.importance(fitted.booster, kind, 5), expected, rtol=1e-6)


def test_a_value_equal_to_the_split_condition_goes_right() -> None:
    """The recorded convention, checked on XGBoost itself: x < t to the left child, x == t to the right."""
    assert library.SPLITTING_CONVENTION == "<"
    x = np.repeat(np.arange(10.0), 20)[:, None]
    y = (x[:, 0] >= 5).astype(np.float64)
    params = XGBoostParams(max_depth=1, min_child_weight=0.0, reg_lambda=0.0)
    stump = library.fit(
        x, y, x, y, ["a"], params=params, max_rounds=1, early_stopping_rounds=None, seed=0, n_jobs=1, callbacks=()
    ).booster
    (condition,) = stump.trees_to_dataframe().dropna(subset=["Split"])["Split"]
    below = np.nextafter(np.float32(condition), np.float32(-np.inf))
    left, at, right = library.predict(stump, np.array([[below], [condition], [condition + 1]]), 1)
    assert left != at == right


def test_the_onnx_graph_reads_f0_to_fn_from_a_renamed_copy(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray]
) -> None:
    assert library.onnx_input_names(NAMES) == ["f0", "f1", "f2", "f3"]
    graph = library.onnx_graph(fitted.booster, 12, "features", len(NAMES))
    assert library.feature_names(fitted.booster) == NAMES  # the booster itself keeps its names
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.name == "features" and given.shape[1] == len(NAMES)
    assert [output.name for output in session.get_outputs()] == ["label", "probabilities"]
    x = problem[0][600:]
    _, probabilities = session.run(None, {"features": x.astype(np.float32)})
    np.testing.assert_allclose(probabilities[:, 1], library.predict(fitted.booster, x, 12), atol=1e-5)


def test_the_pruning_callback_reports_the_validation_auc_of_every_round(problem: tuple[np.ndarray, np.ndarray]) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    fitted = _fit(problem, XGBoostParams(), 6, callbacks=[library.pruning_callback(trial)])
    study.tell(trial, 0.0)
    reported = study.trials[0].intermediate_values
    assert [reported[step] for step in sorted(reported)] == fitted.history["validation_auc"].tolist()


def test_the_onnx_graph_of_the_first_rounds_scores_as_those_rounds(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray]
) -> None:
    graph = library.onnx_graph(fitted.booster, 4, "x", len(NAMES))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    x = problem[0][600:]
    _, probabilities = session.run(None, {"x": x.astype(np.float32)})
    np.testing.assert_allclose(probabilities[:, 1], library.predict(fitted.booster, x, 4), atol=1e-5)


def test_a_first_round_with_whole_number_covers_still_converts_to_class_probabilities() -> None:
    # Each event's hessian starts at 0.5 * 0.5: with every row four times, every node's cover is a whole number,
    # which a bare Booster handed to onnxmltools turns into a one-output regression graph.
    x = np.repeat(np.random.default_rng(5).normal(size=(70, len(NAMES))), 4, axis=0)
    y = (x[:, 0] > np.median(x[:, 0])).astype(np.float64)  # balanced: the fitted intercept is 0.5
    fitted = library.fit(
        x,
        y,
        x,
        y,
        NAMES,
        params=XGBoostParams(max_depth=2),
        max_rounds=1,
        early_stopping_rounds=None,
        seed=0,
        n_jobs=1,
        callbacks=(),
    )
    graph = library.onnx_graph(fitted.booster, 1, "x", len(NAMES))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [output.name for output in session.get_outputs()] == ["label", "probabilities"]
    _, probabilities = session.run(None, {"x": x.astype(np.float32)})
    np.testing.assert_allclose(probabilities[:, 1], library.predict(fitted.booster, x, 1), atol=1e-6)
