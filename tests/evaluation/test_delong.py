"""DeLong's AUC variance (Sun & Xu midranks) against pairwise references, sklearn, a bootstrap and coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

from egid.evaluation.delong import auc_interval, delong_auc, delong_compare, delong_covariance


def pairwise_components(labels: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The textbook definition, one pair at a time: AUC, V10 (per signal event) and V01 (per background event)."""
    signal = [s for s, y in zip(scores, labels, strict=True) if y == 1.0]
    background = [s for s, y in zip(scores, labels, strict=True) if y == 0.0]
    psi = np.zeros((len(signal), len(background)))
    for i, x in enumerate(signal):
        for j, z in enumerate(background):
            psi[i, j] = 1.0 if x > z else 0.5 if x == z else 0.0
    return float(psi.mean()), psi.mean(axis=1), psi.mean(axis=0)


def pairwise_covariance(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """DeLong's covariance matrix of k AUCs from the pairwise structural components."""
    parts = [pairwise_components(labels, row) for row in scores]
    v10 = np.array([p[1] for p in parts])
    v01 = np.array([p[2] for p in parts])
    return np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]


def bootstrap_aucs(labels: np.ndarray, scores: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """AUCs of ``n_boot`` stratified resamples (class counts kept, as DeLong's variance assumes), all at once.

    Each resample's AUC is its Mann-Whitney rank sum, ``(R_signal - m (m + 1) / 2) / (m n)``.
    """
    signal, background = np.flatnonzero(labels == 1.0), np.flatnonzero(labels == 0.0)
    m, n = signal.size, background.size
    rows = np.hstack([rng.choice(signal, (n_boot, m)), rng.choice(background, (n_boot, n))])
    ranks = rankdata(scores[rows], axis=1)
    return (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)


def two_gaussians(n_per_class: int, separation: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scores N(separation, 1) for electrons and N(0, 1) for photons; the true AUC is Phi(separation / sqrt 2)."""
    labels = np.repeat([1.0, 0.0], n_per_class)
    return labels, rng.normal(labels * separation, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_matches_pairwise_reference_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat([1.0, 0.0], [7 + seed, 9]))
    # Rounding to one decimal leaves many ties, within and across classes.
    scores = np.round(rng.uniform(0, 1, size=(2, labels.size)) + 0.2 * labels, 1)
    aucs, covariance = delong_covariance(labels, scores)
    for k in range(2):
        assert aucs[k] == pytest.approx(pairwise_components(labels, scores[k])[0], abs=1e-12)
        assert aucs[k] == pytest.approx(roc_auc_score(labels, scores[k]), abs=1e-12)
    np.testing.assert_allclose(covariance, pairwise_covariance(labels, scores), rtol=1e-10, atol=1e-15)


def test_auc_equals_sklearn_on_a_large_sample() -> None:
    labels, scores = two_gaussians(5000, 1.0, np.random.default_rng(1))
    assert delong_auc(labels, scores).auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_interval_agrees_with_a_seeded_bootstrap() -> None:
    rng = np.random.default_rng(2)
    labels, scores = two_gaussians(1000, 1.2, rng)
    interval = delong_auc(labels, scores)
    boot = bootstrap_aucs(labels, scores, rng, 1000)
    assert interval.std == pytest.approx(np.std(boot, ddof=1), rel=0.1)
    low, high = np.quantile(boot, [0.025, 0.975])
    assert interval.low == pytest.approx(low, abs=0.003)
    assert interval.high == pytest.approx(high, abs=0.003)


def test_interval_covers_the_true_auc_in_repeated_draws() -> None:
    rng = np.random.default_rng(3)
    separation = 1.0
    truth = norm.cdf(separation / np.sqrt(2.0))
    covered = []
    for _ in range(400):
        interval = delong_auc(*two_gaussians(100, separation, rng))
        covered.append(interval.low <= truth <= interval.high)
    # 400 draws: the binomial spread of a true 95% coverage is 1.1%.
    assert 0.92 <= np.mean(covered) <= 0.98


def test_difference_std_agrees_with_a_paired_bootstrap() -> None:
    rng = np.random.default_rng(4)
    labels, better = two_gaussians(800, 1.3, rng)
    worse = better + rng.normal(0.0, 0.8, better.size)
    aucs, covariance = delong_covariance(labels, np.vstack([better, worse]))
    comparison = delong_compare(aucs, covariance, 0, 1)
    # The same seed draws the same resamples for both models: a paired bootstrap.
    differences = bootstrap_aucs(labels, better, np.random.default_rng(40), 1000) - bootstrap_aucs(
        labels, worse, np.random.default_rng(40), 1000
    )
    assert comparison.difference == pytest.approx(aucs[0] - aucs[1])
    assert comparison.std == pytest.approx(np.std(differences, ddof=1), rel=0.1)
    assert comparison.p_value < 1e-3


def test_identical_scores_have_an_undefined_p_value() -> None:
    labels, scores = two_gaussians(50, 1.0, np.random.default_rng(5))
    aucs, covariance = delong_covariance(labels, np.vstack([scores, scores]))
    comparison = delong_compare(aucs, covariance, 0, 1)
    assert comparison.difference == 0.0
    assert comparison.std == 0.0
    assert np.isnan(comparison.p_value)


def test_perfect_separation_has_a_zero_width_interval() -> None:
    labels = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    interval = delong_auc(labels, np.array([0.9, 0.8, 0.7, 0.2, 0.1]))
    assert interval == (1.0, 0.0, 1.0, 1.0)


def test_interval_is_clipped_to_the_unit_range() -> None:
    interval = auc_interval(0.99, 0.05)
    assert interval.high == 1.0
    assert interval.low == pytest.approx(0.99 - 1.959964 * 0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ([1.0, 1.0, 1.0, 0.0], r"at least 2 events of each class; got 3 signal and 1 background"),
        ([1.0, 1.0, 1.0, 1.0], r"got 4 signal and 0 background"),
        ([1.0, 2.0, 0.0, 0.0], r"labels 1\.0 \(electron\) or 0\.0 \(photon\)"),
    ],
)
def test_rejects_unusable_labels(labels: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        delong_auc(np.array(labels), np.array([0.1, 0.2, 0.3, 0.4]))


def test_rejects_a_confidence_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"confidence level in \(0, 1\); got 95"):
        auc_interval(0.9, 0.01, confidence=95)
