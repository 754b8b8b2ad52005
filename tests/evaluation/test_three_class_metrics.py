"""Three-class metrics against naive re-implementations and tiny cases pinned by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from egid.evaluation.three_class_metrics import (
    efficiency_at,
    format_three_class_summary,
    three_class_metrics,
    threshold_at,
)


def _naive_auc(signal: np.ndarray, score: np.ndarray) -> float:
    """Correctly ranked (signal, background) pairs, ties one half."""
    pos, neg = score[signal], score[~signal]
    pairs = [(a > b) + 0.5 * (a == b) for a, b in itertools.product(pos, neg)]
    return float(np.mean(pairs))


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat([1.0, 0.0, 2.0], [40, 30, 20])  # unbalanced on purpose
    logits = rng.normal(size=(y.size, 3))
    logits[np.arange(y.size), y.astype(int)] += 1.2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, p


def test_accuracy_confusion_and_efficiencies(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = sample
    m = three_class_metrics(y, p)
    predicted = p.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert m["n_events"] == {"electron": 40, "photon": 30, "pion": 20}
    matrix = np.array(m["confusion_matrix"]["matrix"])
    assert m["confusion_matrix"]["classes"] == ["electron", "photon", "pion"]
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    for row, label in enumerate([1, 0, 2]):
        assert m["efficiency"][m["confusion_matrix"]["classes"][row]] == pytest.approx(
            np.mean(predicted[y == label] == label)
        )
        assert matrix[row, row] == pytest.approx(np.mean(predicted[y == label] == label))
    assert m["balanced_accuracy"] == pytest.approx(np.mean(list(m["efficiency"].values())))


def test_aucs_equal_the_pair_counting_definition(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = sample
    m = three_class_metrics(y, p)
    assert m["one_vs_rest_auc"]["pion"]["auc"] == pytest.approx(_naive_auc(y == 2, p[:, 2]))
    both = y < 2
    ratio = p[both, 1] / (p[both, 1] + p[both, 0])
    assert m["pairwise_auc"]["electron_vs_photon"]["auc"] == pytest.approx(_naive_auc(y[both] == 1, ratio))
    assert m["electron_vs_photon_auc"] == m["pairwise_auc"]["electron_vs_photon"]
    assert m["egamma_vs_pion_auc"]["auc"] == pytest.approx(_naive_auc(y < 2, p[:, 0] + p[:, 1]))
    interval = m["egamma_vs_pion_auc"]
    assert interval["low"] < interval["auc"] < interval["high"] and interval["std"] > 0
    assert set(m["pairwise_auc"]) == {"electron_vs_photon", "electron_vs_pion", "photon_vs_pion"}
    assert "accuracy 0." in format_three_class_summary(m, model="lightgbm")


def test_a_perfect_model_and_the_pion_efficiency_pinned() -> None:
    y = np.array([1, 1, 0, 0, 2, 2], float)
    p = np.eye(3)[y.astype(int)]
    m = three_class_metrics(y, p)
    assert m["accuracy"] == 1.0 and m["balanced_accuracy"] == 1.0
    assert m["egamma_vs_pion_auc"]["auc"] == 1.0
    assert m["pion_efficiency_at_egamma_efficiency"] == {"0.95": 0.0, "0.99": 0.0}
    # 100 e/gamma scores 0.00 .. 0.99: 99 % efficiency cuts at 0.01, 95 % at 0.05
    signal = np.arange(100) / 100
    background = np.array([0.0, 0.005, 0.01, 0.03, 0.05, 0.5])
    assert efficiency_at(signal, background, 0.99) == pytest.approx(4 / 6)
    assert efficiency_at(signal, background, 0.95) == pytest.approx(2 / 6)
    assert efficiency_at(signal, background, 1.0) == 1.0
    # the cut itself: the highest one keeping the efficiency; one step higher keeps less
    assert threshold_at(signal, 0.99) == pytest.approx(0.01) and threshold_at(signal, 0.95) == pytest.approx(0.05)
    assert np.mean(signal >= np.nextafter(threshold_at(signal, 0.99), 1.0)) < 0.99
    with pytest.raises(ValueError, match=r"signal efficiency in \(0, 1\]"):
        threshold_at(signal, 0.0)


@pytest.mark.parametrize(
    ("labels", "probabilities", "message"),
    [
        (np.zeros(4), np.full((4, 2), 0.5), r"probabilities \(N, 3\); got \(4,\) and \(4, 2\)"),
        (
            np.array([0, 1, 2, 3.0]),
            np.full((4, 3), 1 / 3),
            r"labels among \[0.0, 1.0, 2.0\]; found \[0.0, 1.0, 2.0, 3.0\]",
        ),
        (np.array([0, 0, 1, 1, 2.0]), np.full((5, 3), 1 / 3), r"too few \['pion'\]"),
        (np.repeat([0, 1, 2.0], 2), np.full((6, 3), np.nan), r"finite, non-negative"),
    ],
)
def test_bad_inputs_are_refused(labels: np.ndarray, probabilities: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        three_class_metrics(labels, probabilities)
