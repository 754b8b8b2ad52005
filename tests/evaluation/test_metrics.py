"""compute_metrics and friends on synthetic scores: AUC, accuracy, working points, |eta| bins, schema, edge cases."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from egid.evaluation.metrics import (
    check_scores,
    compute_metrics,
    format_summary,
    validate_metrics,
    working_point_threshold,
    working_point_thresholds,
)

MODELS = ["lightgbm", "xgboost", "cnn"]
SEPARATIONS = {"lightgbm": 2.0, "xgboost": 1.8, "cnn": 1.2}


def synthetic_scores(n: int = 6000, *, seed: int = 0) -> pd.DataFrame:
    """Electron probabilities from two overlapping Gaussians per model, eta uniform in [-1.2, 1.2]."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.45).astype(np.float64)
    table = {
        "label": labels,
        "split": rng.choice(np.array(["train", "validation", "test"]), n, p=[0.6, 0.2, 0.2]),
        "eta": rng.uniform(-1.2, 1.2, n),
    }
    for model, separation in SEPARATIONS.items():
        table[model] = 1.0 / (1.0 + np.exp(-rng.normal(separation * (labels - 0.5), 1.0)))
    return pd.DataFrame(table)


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return synthetic_scores()


@pytest.fixture(scope="module")
def metrics(scores: pd.DataFrame) -> dict:
    return compute_metrics(scores, MODELS)


def test_validates_round_trips_through_json_and_is_deterministic(scores: pd.DataFrame, metrics: dict) -> None:
    validate_metrics(metrics)
    assert json.loads(json.dumps(metrics)) == metrics
    assert compute_metrics(scores, MODELS) == metrics
    assert metrics["models"] == MODELS
    assert metrics["splits"] == ["train", "validation", "test"]


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_split_metrics_match_a_direct_computation(scores: pd.DataFrame, metrics: dict, split: str) -> None:
    rows = scores[scores["split"] == split]
    for model in MODELS:
        sample = metrics["results"][model]["splits"][split]
        assert sample["n_events"] == len(rows)
        assert sample["n_signal"] == int(rows["label"].sum())
        assert sample["auc"] == pytest.approx(roc_auc_score(rows["label"], rows[model]), abs=1e-12)
        assert sample["accuracy"] == pytest.approx(np.mean((rows[model] >= 0.5) == (rows["label"] == 1.0)))
        low, high = sample["auc_ci"]
        assert low < sample["auc"] < high
        assert high - low == pytest.approx(2 * 1.959964 * sample["auc_std"], rel=1e-5)
    # Better separated scores have the higher AUC.
    aucs = [metrics["results"][model]["splits"][split]["auc"] for model in MODELS]
    assert aucs == sorted(aucs, reverse=True)


def test_working_point_threshold_on_named_scores() -> None:
    labels = np.array([1.0] * 10 + [0.0] * 3)
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.95, 0.05, 0.5])
    assert working_point_threshold(labels, scores, signal_efficiency=0.8) == 0.3  # 8 of 10 electrons pass
    assert working_point_threshold(labels, scores, signal_efficiency=0.7) == 0.4  # 0.7 * 10 is not rounded up to 8
    assert working_point_threshold(labels, scores, signal_efficiency=0.75) == 0.3  # 7.5 electrons: keep 8
    assert working_point_threshold(labels, scores, signal_efficiency=1.0) == 0.1
    assert working_point_threshold(labels[10:], scores[10:], signal_efficiency=0.8) is None


def test_working_points_are_chosen_on_validation_and_reported_on_test(scores: pd.DataFrame, metrics: dict) -> None:
    validation = scores[scores["split"] == "validation"]
    test = scores[scores["split"] == "test"]
    assert not metrics["thresholds_from_test"]
    for model in MODELS:
        points = metrics["results"][model]["working_points"]
        assert [p["target_signal_efficiency"] for p in points] == [0.8, 0.9]
        for point in points:
            target, threshold = point["target_signal_efficiency"], point["threshold"]
            assert point["threshold_source"] == "validation"
            on_validation = np.mean(validation.loc[validation["label"] == 1.0, model] >= threshold)
            n_validation_signal = int(validation["label"].sum())
            assert target <= on_validation < target + 1.0 / n_validation_signal
            assert point["chosen_signal_efficiency"] == pytest.approx(on_validation)
            signal, background = test.loc[test["label"] == 1.0, model], test.loc[test["label"] == 0.0, model]
            assert point["signal_efficiency"] == pytest.approx(np.mean(signal >= threshold))
            assert point["background_efficiency"] == pytest.approx(np.mean(background >= threshold))
            assert point["background_rejection"] == pytest.approx(1.0 / np.mean(background >= threshold))
            # An unbiased choice: the test efficiency is the target within binomial fluctuations.
            assert abs(point["signal_efficiency"] - target) < 4 * np.sqrt(target * (1 - target) / len(signal))


def test_without_validation_thresholds_come_from_the_saved_ones_or_test(scores: pd.DataFrame, metrics: dict) -> None:
    unseen = scores[scores["split"] == "test"]
    from_test = compute_metrics(unseen, MODELS)
    assert from_test["splits"] == ["test"]
    assert from_test["thresholds_from_test"]
    assert {p["threshold_source"] for r in from_test["results"].values() for p in r["working_points"]} == {"test"}

    saved = json.loads(json.dumps(working_point_thresholds(metrics)))  # as read back from a file: string keys
    given = compute_metrics(unseen, MODELS, thresholds=saved)
    assert not given["thresholds_from_test"]
    for model in MODELS:
        trained_points = metrics["results"][model]["working_points"]
        for mine, trained in zip(given["results"][model]["working_points"], trained_points, strict=True):
            assert mine["threshold_source"] == "given"
            assert mine["chosen_signal_efficiency"] is None
            assert mine["threshold"] == trained["threshold"]
            assert mine["signal_efficiency"] == trained["signal_efficiency"]


def test_eta_bins_partition_the_split(scores: pd.DataFrame, metrics: dict) -> None:
    assert metrics["eta_bins"] == [0.0, 0.4, 0.8, 1.2]
    test = scores[scores["split"] == "test"]
    for model in MODELS:
        bins = metrics["results"][model]["eta_bins"]["test"]
        assert [(b["abs_eta_low"], b["abs_eta_high"]) for b in bins] == [(0.0, 0.4), (0.4, 0.8), (0.8, 1.2)]
        assert sum(b["n_events"] for b in bins) == len(test)
        middle = test[(test["eta"].abs() >= 0.4) & (test["eta"].abs() < 0.8)]
        assert bins[1]["n_events"] == len(middle)
        assert bins[1]["auc"] == pytest.approx(roc_auc_score(middle["label"], middle[model]), abs=1e-12)


def test_eta_bin_edges_and_nan_eta() -> None:
    table = synthetic_scores(400, seed=1)
    table.loc[0, ["eta", "split"]] = [-1.2, "test"]  # on the last upper edge: in the last bin
    table.loc[1, ["eta", "split"]] = [np.nan, "test"]  # in no bin
    result = compute_metrics(table, MODELS)
    bins = result["results"]["cnn"]["eta_bins"]["test"]
    assert sum(b["n_events"] for b in bins) == result["results"]["cnn"]["splits"]["test"]["n_events"] - 1


def test_without_eta_there_are_no_bins(scores: pd.DataFrame) -> None:
    result = compute_metrics(scores.drop(columns="eta"), MODELS)
    validate_metrics(result)
    assert result["eta_bins"] is None
    assert all(r["eta_bins"] == {} for r in result["results"].values())


def test_single_class_samples_give_none_without_warnings() -> None:
    table = synthetic_scores(300, seed=2)
    table.loc[(table["split"] == "train") & (table["label"] == 0.0), "split"] = "validation"  # train: electrons only
    lone = table.index[(table["split"] == "validation") & (table["label"] == 1.0)]
    table.loc[lone[1:], "split"] = "test"  # validation: one electron
    table.loc[table["split"] == "test", "eta"] = 0.1  # test: all in the first |eta| bin but one electron in the second
    table.loc[table.index[(table["split"] == "test") & (table["label"] == 1.0)][0], "eta"] = -0.5
    result = compute_metrics(table, MODELS)  # filterwarnings = error: any warning fails here
    validate_metrics(result)
    train = result["results"]["lightgbm"]["splits"]["train"]
    assert train["n_background"] == 0
    assert train["auc"] is None and train["auc_ci"] is None and train["auc_std"] is None
    assert train["accuracy"] == pytest.approx(np.mean(table.loc[table["split"] == "train", "lightgbm"] >= 0.5))
    validation = result["results"]["lightgbm"]["splits"]["validation"]
    assert validation["n_signal"] == 1
    assert validation["auc"] is not None and validation["auc_ci"] is None  # DeLong needs two of each class
    _, lone_electron, empty = result["results"]["lightgbm"]["eta_bins"]["test"]
    assert lone_electron["n_events"] == 1 and lone_electron["auc"] is None and lone_electron["accuracy"] in (0.0, 1.0)
    assert empty["n_events"] == 0 and empty["accuracy"] is None and empty["auc"] is None


def test_a_working_point_without_background_has_no_rejection() -> None:
    table = synthetic_scores(300, seed=3)
    table.loc[table["label"] == 0.0, "lightgbm"] = 0.0  # no photon can pass any threshold above 0
    table.loc[table["label"] == 1.0, "lightgbm"] = 0.9
    point = compute_metrics(table, ["lightgbm"])["results"]["lightgbm"]["working_points"][0]
    assert point["background_efficiency"] == 0.0
    assert point["background_rejection"] is None


def test_comparisons_cover_every_pair_on_test(metrics: dict, scores: pd.DataFrame) -> None:
    pairs = [(c["model_a"], c["model_b"]) for c in metrics["comparisons"]]
    assert pairs == [("lightgbm", "xgboost"), ("lightgbm", "cnn"), ("xgboost", "cnn")]
    test = scores[scores["split"] == "test"]
    lightgbm_cnn = metrics["comparisons"][1]
    assert lightgbm_cnn["split"] == "test"
    expected = roc_auc_score(test["label"], test["lightgbm"]) - roc_auc_score(test["label"], test["cnn"])
    assert lightgbm_cnn["auc_difference"] == pytest.approx(expected, abs=1e-12)
    assert lightgbm_cnn["p_value"] < 1e-3
    same = compute_metrics(scores.assign(twin=scores["cnn"]), ["cnn", "twin"])["comparisons"]
    assert same[0]["p_value"] is None


def test_summary_lists_every_model_and_value(metrics: dict) -> None:
    text = format_summary(metrics)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["model", "AUC"]
    for model, line in zip(MODELS, lines[2:], strict=True):
        sample = metrics["results"][model]["splits"]["test"]
        assert line.startswith(model)
        assert f"{sample['auc']:.4f} [{sample['auc_ci'][0]:.4f}, {sample['auc_ci'][1]:.4f}]" in line
        assert line.endswith(f"{sample['accuracy']:.4f}")


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (lambda m: m.pop("results"), jsonschema.ValidationError),
        (lambda m: m.pop("costs"), jsonschema.ValidationError),
        (lambda m: m["results"]["cnn"]["splits"]["test"].update(auc=1.5), jsonschema.ValidationError),
        (lambda m: m["results"]["cnn"]["splits"]["test"].update(n_events="many"), jsonschema.ValidationError),
        (lambda m: m["results"]["cnn"]["working_points"][0].update(threshold_source="x"), jsonschema.ValidationError),
        (lambda m: m["results"]["cnn"]["splits"].update(holdout={}), jsonschema.ValidationError),
        (lambda m: m["results"]["cnn"]["splits"]["test"].update(auc=float("nan")), ValueError),
    ],
)
def test_a_broken_dict_fails_validation(
    metrics: dict, breakage: Callable[[dict], object], error: type[Exception]
) -> None:
    broken = copy.deepcopy(metrics)
    breakage(broken)
    with pytest.raises(error):
        validate_metrics(broken)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.drop(columns="cnn"), r"Expected score columns \['cnn'\]"),
        (lambda t: t.assign(label=t["label"] * 2), r"Expected labels 1\.0 \(electron\) or 0\.0 \(photon\)"),
        (lambda t: t.assign(split="holdout"), r"splits among \('train', 'validation', 'test'\); found \['holdout'\]"),
        (lambda t: t.assign(cnn=t["cnn"] + 1.0), r"column 'cnn'; 6000 are not \(first at row 0: 1\.\d+\)"),
    ],
)
def test_rejects_malformed_score_tables(
    scores: pd.DataFrame, change: Callable[[pd.DataFrame], pd.DataFrame], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        check_scores(change(scores), MODELS)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"signal_efficiencies": (0.8, 1.2)}, r"signal efficiencies in \(0, 1\]; got \[0\.8, 1\.2\]"),
        ({"eta_bins": (0.0, 0.8, 0.4)}, r"increasing, non-negative \|eta\| bin edges"),
    ],
)
def test_rejects_bad_options(scores: pd.DataFrame, options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compute_metrics(scores, MODELS, **options)


@pytest.mark.parametrize("order", [MODELS, ["cnn", "xgboost", "lightgbm"]])
def test_the_cost_is_the_paired_comparison_with_the_best_reference(scores: pd.DataFrame, order: list[str]) -> None:
    """In either display order (the comparison's sign flips), the cost is AUC_best - AUC_model on test."""
    result = compute_metrics(scores, order, costs={"cnn": ["xgboost", "lightgbm"]})
    validate_metrics(result)
    (cost,) = result["costs"]
    test = scores[scores["split"] == "test"]
    auc = {model: roc_auc_score(test["label"], test[model]) for model in MODELS}
    assert cost["reference"] == max(("lightgbm", "xgboost"), key=auc.__getitem__) == "lightgbm"
    assert (cost["model"], cost["candidates"], cost["split"]) == ("cnn", ["xgboost", "lightgbm"], "test")
    assert cost["auc_cost"] == pytest.approx(auc["lightgbm"] - auc["cnn"], abs=1e-12) and cost["auc_cost"] > 0
    assert (cost["auc"], cost["reference_auc"]) == (pytest.approx(auc["cnn"]), pytest.approx(auc["lightgbm"]))
    (pair,) = [c for c in result["comparisons"] if {c["model_a"], c["model_b"]} == {"cnn", "lightgbm"}]
    assert (cost["std"], cost["p_value"]) == (pair["std"], pair["p_value"])
    assert "cnn: AUC cost" in format_summary(result) and "against lightgbm" in format_summary(result)


def test_no_cost_is_stated_unless_asked_for(metrics: dict) -> None:
    assert metrics["costs"] == []
    assert "AUC cost" not in format_summary(metrics)


@pytest.mark.parametrize("costs", [{"cnn": []}, {"cnn": ["cnn"]}, {"cnn": ["catboost"]}, {"trigger": ["lightgbm"]}])
def test_rejects_a_cost_against_no_other_known_model(scores: pd.DataFrame, costs: dict) -> None:
    with pytest.raises(ValueError, match="Expected a cost of a model against at least one other model"):
        compute_metrics(scores, MODELS, costs=costs)
