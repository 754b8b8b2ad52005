"""DeLong's variance of the ROC AUC, by the fast midrank algorithm of Sun & Xu (2014).

The AUC of a score that ranks m signal events (electrons, label 1) X_1..X_m against n background events
(photons, label 0) Y_1..Y_n is the Mann-Whitney statistic

.. math::

    \\hat\\theta = \\frac{1}{mn} \\sum_{i=1}^{m} \\sum_{j=1}^{n} \\psi(X_i, Y_j), \\qquad
    \\psi(x, y) = 1 \\text{ if } x > y,\\ \\tfrac12 \\text{ if } x = y,\\ 0 \\text{ otherwise}.

DeLong et al. (1988) estimate its variance from the structural components
``V10_i = (1/n) sum_j psi(X_i, Y_j)`` and ``V01_j = (1/m) sum_i psi(X_i, Y_j)``:
``Var = S10 / m + S01 / n`` with ``S10``, ``S01`` their sample (co)variances. Sun & Xu (2014) showed that
the components follow from midranks alone, ``V10_i = (Tz_i - Tx_i) / n`` and ``V01_j = 1 - (Tz_{m+j} - Ty_j) / m``
(``Tz``: midranks in the pooled sample, ``Tx``/``Ty``: midranks within each class), which costs O(k N log N) for
k correlated scores of the same N events instead of the O(k m n) pairwise sum. The same covariance matrix gives
the paired test of two models' AUC difference on the same events.

References
----------
1. E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson, "Comparing the areas under two or more correlated receiver
   operating characteristic curves: a nonparametric approach", Biometrics 44 (1988) 837-845, doi:10.2307/2531595.
2. X. Sun, W. Xu, "Fast implementation of DeLong's algorithm for comparing the areas under correlated receiver
   operating characteristic curves", IEEE Signal Processing Letters 21 (2014) 1389-1393,
   doi:10.1109/LSP.2014.2337313.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.stats import norm, rankdata

from egid.detector.schema import ELECTRON, PHOTON, FloatArray

__all__ = ("AucComparison", "AucInterval", "auc_interval", "delong_auc", "delong_compare", "delong_covariance")


class AucInterval(NamedTuple):
    """An AUC with DeLong's standard deviation and a normal confidence interval clipped to [0, 1]."""

    auc: float
    std: float
    low: float
    high: float


class AucComparison(NamedTuple):
    """The paired DeLong test of ``AUC_a - AUC_b`` on the same events (two-sided p-value, NaN when std is 0)."""

    difference: float
    std: float
    p_value: float


def delong_covariance(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return the AUCs of k scores of the same events and DeLong's (k, k) covariance matrix of those AUCs.

    Parameters
    ----------
    labels : array of shape (N,)
        1.0 for signal (electron), 0.0 for background (photon).
    scores : array of shape (N,) or (k, N)
        One row per model; a higher score means more signal-like. Ties count one half (midranks).

    Returns
    -------
    aucs : array of shape (k,)
    covariance : array of shape (k, k)
        ``S10 / m + S01 / n`` (see the module docstring); its diagonal holds the AUC variances.

    Raises
    ------
    ValueError
        If the labels are not all 0 or 1, the shapes disagree, or either class has fewer than 2 events (the
        sample variance of the structural components needs two).
    """
    y = np.asarray(labels, dtype=np.float64)
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if y.ndim != 1 or s.shape[1] != y.shape[0]:
        msg = f"Expected labels of shape (N,) and scores of shape (N,) or (k, N); got {y.shape} and {s.shape}."
        raise ValueError(msg)
    signal = y == ELECTRON
    if not np.all(signal | (y == PHOTON)):
        msg = "Expected labels 1.0 (electron) or 0.0 (photon) only; found other values."
        raise ValueError(msg)
    m, n = int(signal.sum()), int((~signal).sum())
    if m < 2 or n < 2:
        msg = f"DeLong's variance needs at least 2 events of each class; got {m} signal and {n} background."
        raise ValueError(msg)
    x, z = s[:, signal], s[:, ~signal]
    tx = rankdata(x, axis=1)
    ty = rankdata(z, axis=1)
    tz = rankdata(np.concatenate([x, z], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    covariance = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, covariance


def auc_interval(auc: float, std: float, *, confidence: float = 0.95) -> AucInterval:
    """Return the normal interval ``AUC +- z * std`` clipped to [0, 1], ``z`` the two-sided quantile (1.96 at 95%).

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        msg = f"Expected a confidence level in (0, 1); got {confidence}."
        raise ValueError(msg)
    half = float(norm.ppf(0.5 + confidence / 2.0)) * std
    return AucInterval(auc=auc, std=std, low=max(auc - half, 0.0), high=min(auc + half, 1.0))


def delong_auc(labels: npt.ArrayLike, scores: npt.ArrayLike, *, confidence: float = 0.95) -> AucInterval:
    """Return the AUC of one score with DeLong's standard deviation and a ``confidence`` interval.

    The interval is that of :func:`auc_interval`. A perfectly separating score has std 0 and the interval
    [AUC, AUC].

    Raises
    ------
    ValueError
        As :func:`delong_covariance` and :func:`auc_interval`.
    """
    aucs, covariance = delong_covariance(labels, np.asarray(scores, dtype=np.float64)[np.newaxis, :])
    return auc_interval(float(aucs[0]), float(np.sqrt(max(covariance[0, 0], 0.0))), confidence=confidence)


def delong_compare(aucs: FloatArray, covariance: FloatArray, a: int, b: int) -> AucComparison:
    """Test ``AUC_a = AUC_b`` for rows ``a`` and ``b`` of :func:`delong_covariance`'s output.

    ``z = (AUC_a - AUC_b) / sqrt(C_aa + C_bb - 2 C_ab)`` is standard normal under the null hypothesis; the
    p-value is two-sided. Identical rankings give std 0 and a NaN p-value (the test is undefined).
    """
    difference = float(aucs[a] - aucs[b])
    std = float(np.sqrt(max(covariance[a, a] + covariance[b, b] - 2.0 * covariance[a, b], 0.0)))
    p_value = float(2.0 * norm.sf(abs(difference) / std)) if std > 0.0 else float("nan")
    return AucComparison(difference=difference, std=std, p_value=p_value)
