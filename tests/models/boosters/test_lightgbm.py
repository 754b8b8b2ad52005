"""The LightGBM library module's own job: its parameters under LightGBM's names, its search space, rounds kept and
truncated, the ``<=`` split convention, the ONNX graph's interface, the pruning callback's metric, and the text
model check that must refuse a damaged file before LightGBM's parser can abort the process."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import onnxruntime
import optuna
import pytest
from sklearn.datasets import make_classification

from egid.detector import InputError
from egid.models.boosters import lightgbm as library
from egid.models.boosters.base import FittedBooster
from egid.models.boosters.lightgbm import LightGBMParams

NAMES = ("a", "b", "c", "d")
#: A parameter set whose every value differs from LightGBM's default, so each one shows up in the model's text.
DISTINCT = LightGBMParams(
    learning_rate=0.2,
    num_leaves=7,
    max_depth=5,
    min_child_samples=9,
    min_child_weight=0.125,
    reg_alpha=0.25,
    reg_lambda=0.75,
    colsample_bytree=0.5,
    subsample=0.875,
    subsample_freq=2,
    min_split_gain=0.0625,
)


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_classification(800, n_features=len(NAMES), n_informative=3, n_redundant=0, random_state=1)
    return x, y.astype(np.float64)


def _fit(problem: tuple[np.ndarray, np.ndarray], params: LightGBMParams, rounds: int, **options) -> FittedBooster:
    x, y = problem
    settings = {"early_stopping_rounds": None, "seed": 0, "n_jobs": 1, "callbacks": ()} | options
    return library.fit(x[:600], y[:600], x[600:], y[600:], NAMES, params=params, max_rounds=rounds, **settings)


@pytest.fixture(scope="module")
def fitted(problem: tuple[np.ndarray, np.ndarray]) -> FittedBooster:
    return _fit(problem, DISTINCT, 12)


def test_native_names_are_the_ones_lightgbm_records_in_its_model(fitted: FittedBooster) -> None:
    native = DISTINCT.native()
    assert sorted(native.values()) == sorted(dataclasses.astuple(DISTINCT))  # each field once, value unchanged
    parameters = fitted.booster.model_to_string().split("\nparameters:\n")[1]
    recorded = dict(re.findall(r"^\[(\w+): (.*)\]$", parameters, re.MULTILINE))
    for name, value in native.items():
        assert float(recorded[name]) == value, name


def test_the_search_space_draws_every_parameter_within_lightgbms_ranges() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    fields = {field.name for field in dataclasses.fields(LightGBMParams)}
    for _ in range(40):
        trial = study.ask()
        params = library.space(trial)
        assert set(trial.params) == fields  # every hyperparameter is tuned
        assert 0 < params.colsample_bytree <= 1 and 0 < params.subsample <= 1
        assert params.subsample_freq >= 1  # bagging is on, or subsample would have no effect
        assert params.num_leaves >= 2 and params.max_depth >= 1 and params.min_child_samples >= 1
        study.tell(trial, 0.5)
    for name in ("reg_alpha", "reg_lambda", "min_child_weight", "min_split_gain", "learning_rate", "num_leaves"):
        assert trial.distributions[name].log, f"{name} is drawn on a log scale"


def test_without_early_stopping_every_round_is_kept(fitted: FittedBooster) -> None:
    assert fitted.best_iteration == 12 and len(fitted.history) == 12
    counts = library.leaf_counts(fitted.booster, 12)
    assert len(counts) == 12 and counts.max() <= DISTINCT.num_leaves and counts.min() >= 1
    assert library.feature_names(fitted.booster) == NAMES


def test_the_first_rounds_predict_as_their_native_file(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    x = problem[0][600:]
    path = tmp_path / library.NATIVE_FILE
    path.write_bytes(library.native_bytes(fitted.booster, 4))
    reloaded = library.load_native(path)
    assert len(library.leaf_counts(reloaded, 100)) == 4
    first_four = library.predict(fitted.booster, x, 4)
    np.testing.assert_array_equal(library.predict(reloaded, x, 4), first_four)
    assert np.abs(first_four - library.predict(fitted.booster, x, 12)).max() > 1e-3


def test_importance_counts_the_splits_of_the_first_rounds(fitted: FittedBooster) -> None:
    trees = fitted.booster.trees_to_dataframe()
    splits = trees[trees["tree_index"] < 5].dropna(subset=["split_feature"])
    expected = [float((splits["split_feature"] == name).sum()) for name in NAMES]
    np.testing.assert_array_equal(library.importance(fitted.booster, "split", 5), expected)


def _stump() -> FittedBooster:
    """One split of one feature between 4 and 5 (LightGBM puts the threshold at about 4.5)."""
    x = np.repeat(np.arange(10.0), 20)[:, None]
    return library.fit(
        x,
        (x[:, 0] >= 5).astype(np.float64),
        x,
        (x[:, 0] >= 5).astype(np.float64),
        ["a"],
        params=LightGBMParams(num_leaves=2, min_child_samples=1, min_child_weight=0.0),
        max_rounds=1,
        early_stopping_rounds=None,
        seed=0,
        n_jobs=1,
        callbacks=(),
    )


def test_a_value_equal_to_the_threshold_goes_left() -> None:
    """The recorded convention, checked on LightGBM itself: x <= t to the left child."""
    assert library.SPLITTING_CONVENTION == "<="
    booster = _stump().booster
    (threshold,) = booster.trees_to_dataframe().dropna(subset=["split_feature"])["threshold"]
    above = np.nextafter(threshold, np.inf)
    left, at, right = library.predict(booster, np.array([[threshold - 1], [threshold], [above]]), 1)
    assert at == left != right


def test_the_onnx_graph_reads_one_float_input_and_gives_both_probabilities(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray]
) -> None:
    assert library.onnx_input_names(NAMES) == list(NAMES)
    graph = library.onnx_graph(fitted.booster, 12, "features", len(NAMES))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.name == "features" and given.shape[1] == len(NAMES)
    assert [output.name for output in session.get_outputs()] == ["label", "probabilities"]
    x = problem[0][600:]
    _, probabilities = session.run(None, {"features": x.astype(np.float32)})
    assert probabilities.shape == (len(x), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(probabilities[:, 1], library.predict(fitted.booster, x, 12), atol=1e-5)


def test_the_pruning_callback_reports_the_validation_auc_of_every_round(problem: tuple[np.ndarray, np.ndarray]) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    fitted = _fit(problem, LightGBMParams(), 6, callbacks=[library.pruning_callback(trial)])
    study.tell(trial, 0.0)
    reported = study.trials[0].intermediate_values
    assert [reported[step] for step in sorted(reported)] == fitted.history["validation_auc"].tolist()


def _damaged(tmp_path: Path, text: str, old: str, new: str) -> Path:
    assert old in text
    path = tmp_path / library.NATIVE_FILE
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("tree\n", "", r"not a LightGBM text model \(no 'tree' header with tree_sizes\)"),
        ("\n\nTree=0", " 40\n\nTree=0", r"tree 1 is not where the header's tree_sizes put it"),  # a second size
        ("end of trees", "end of tress", r"no 'end of trees' after the last tree \(file damaged or truncated\)"),
        ("split_gain=200", "split_gain=2x0", r"tree 0: missing or non-numeric field"),
        ("left_child=-1", "left_child=-7", r"tree 0: arrays inconsistent with num_leaves=2 \(children\)"),
        (" 0.10000000000000001\n", " " * 20 + "\n", r"tree 0: arrays inconsistent with num_leaves=2 \(leaf_value\)"),
    ],
)
def test_a_damaged_text_model_is_refused_with_the_reason(tmp_path: Path, old: str, new: str, reason: str) -> None:
    """Each damage keeps the tree's byte length where it must reach the tree check."""
    text = library.native_bytes(_stump().booster, 1).decode()
    path = _damaged(tmp_path, text, old, new)
    with pytest.raises(InputError, match=rf"^{path}: unreadable LightGBM booster \({reason}"):
        library.load_native(path)


def test_the_onnx_graph_of_the_first_rounds_scores_as_those_rounds(
    fitted: FittedBooster, problem: tuple[np.ndarray, np.ndarray]
) -> None:
    graph = library.onnx_graph(fitted.booster, 4, "x", len(NAMES))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    x = problem[0][600:]
    _, probabilities = session.run(None, {"x": x.astype(np.float32)})
    np.testing.assert_allclose(probabilities[:, 1], library.predict(fitted.booster, x, 4), atol=1e-5)
