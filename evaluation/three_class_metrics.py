"""Metrics of a three-class (electron / photon / charged pion) classifier, as one JSON-able dict.

A three-class model gives each event the probabilities ``p = (p_photon, p_electron, p_pion)``, column ``k`` the
class of label ``k`` (:data:`egid.detector.schema.CLASS_LABELS`: 0 photon, 1 electron, 2 pion). The predicted
class is the most probable one. Reported (every dict keyed by class name, in the order electron, photon, pion):

* **accuracy** -- the fraction of events whose predicted class is their true class;
* **balanced accuracy** -- the mean over classes of the per-class efficiency, insensitive to the class mix;
* **efficiency** of class ``c`` -- the fraction of true ``c`` events predicted ``c`` (the diagonal of the
  confusion matrix normalised by true class, whose row ``i`` holds the fractions of true class ``i`` predicted
  as each class);
* **one-vs-rest AUC** of class ``c`` -- the ROC AUC of ``p_c`` separating ``c`` from the two others;
* **pairwise AUC** of ``a`` vs ``b`` -- on the events of ``a`` and ``b`` only, the AUC of ``p_a / (p_a + p_b)``,
  the probability of ``a`` given that the event is ``a`` or ``b`` (Hand & Till 2001 use ``p_a`` alone; the
  ratio removes the third class's share, so the electron-vs-photon AUC of the three-class model is comparable
  to a binary electron/photon model's);
* **e/gamma vs pion**: the score ``s = p_electron + p_photon``, its AUC (e and gamma signal, pions background),
  and the pion efficiency (pions passing ``s >= t``) at the threshold ``t`` keeping 95 % and 99 % of the e/gamma
  events: the pion misidentification rate of an e/gamma selection.

Every AUC comes with DeLong's standard deviation and 95 % interval (:mod:`egid.evaluation.delong`).

References
----------
1. D. J. Hand, R. J. Till, "A simple generalisation of the area under the ROC curve for multiple class
   classification problems", Machine Learning 45 (2001) 171-186, doi:10.1023/A:1010920819831.
2. E. R. DeLong et al., Biometrics 44 (1988) 837-845 (see :mod:`egid.evaluation.delong`).
"""

from __future__ import annotations

import itertools
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, ELECTRON, PHOTON, PION, FloatArray
from egid.evaluation.delong import delong_auc

__all__ = (
    "EGAMMA_EFFICIENCIES",
    "efficiency_at",
    "format_three_class_summary",
    "three_class_metrics",
    "threshold_at",
)

EGAMMA_EFFICIENCIES: Final = (0.95, 0.99)
"""The e/gamma efficiencies at which the pion efficiency is reported."""
_N_CLASSES: Final = len(CLASS_LABELS)


def _checked(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], FloatArray]:
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape != (y.size, _N_CLASSES):
        msg = f"Expected labels (N,) and probabilities (N, {_N_CLASSES}); got {y.shape} and {p.shape}."
        raise ValueError(msg)
    if not np.isin(y, CLASS_LABELS).all():
        msg = f"Expected labels among {sorted(CLASS_LABELS)}; found {sorted(set(np.unique(y).tolist()))}."
        raise ValueError(msg)
    missing = [name for name, value in zip(CLASS_NAMES, CLASS_LABELS, strict=True) if np.count_nonzero(y == value) < 2]
    if missing:
        msg = f"Expected at least 2 events of every class for the three-class metrics; too few {missing}."
        raise ValueError(msg)
    if not np.isfinite(p).all() or (p < 0).any():
        msg = "Expected finite, non-negative class probabilities."
        raise ValueError(msg)
    return y.astype(np.int64), p


def _interval(signal: npt.NDArray[np.bool_], score: FloatArray) -> dict[str, float]:
    return delong_auc(signal.astype(np.float64), score)._asdict()


def efficiency_at(signal_scores: FloatArray, background_scores: FloatArray, signal_efficiency: float) -> float:
    """The fraction of background events with a score at or above the threshold that keeps ``signal_efficiency``.

    The threshold is the largest ``t`` with ``mean(signal_scores >= t) >= signal_efficiency``: the
    ``ceil(signal_efficiency * m)``-th highest of the ``m`` signal scores.

    Parameters
    ----------
    signal_scores, background_scores : array of shape (m,) and (n,)
        Scores of signal (e/gamma) and background (pion) events; higher is more signal-like.
    signal_efficiency : float
        In (0, 1].

    Returns
    -------
    float
        Background efficiency (the pion misidentification rate), in [0, 1].
    """
    threshold = threshold_at(signal_scores, signal_efficiency)
    return float(np.mean(np.asarray(background_scores) >= threshold))


def threshold_at(signal_scores: FloatArray, signal_efficiency: float) -> float:
    """The score cut of :func:`efficiency_at`: the largest ``t`` with ``mean(signal_scores >= t) >=
    signal_efficiency`` (``signal_efficiency`` in (0, 1]); events with a score ``>= t`` pass."""
    if not 0.0 < signal_efficiency <= 1.0:
        msg = f"Expected a signal efficiency in (0, 1]; got {signal_efficiency}."
        raise ValueError(msg)
    ordered = np.sort(np.asarray(signal_scores, dtype=np.float64))[::-1]
    kept = int(np.ceil(signal_efficiency * ordered.size - 1e-9))  # the -1e-9 keeps 0.99 * 100 from becoming 100
    return float(ordered[max(kept, 1) - 1])


def three_class_metrics(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> dict[str, Any]:
    """Compute the three-class metrics of the module docstring.

    Parameters
    ----------
    labels : array-like of shape (N,)
        0.0 photon, 1.0 electron, 2.0 charged pion; at least 2 events of each.
    probabilities : array-like of shape (N, 3)
        Column ``k`` the probability of the class of label ``k``.

    Returns
    -------
    dict
        JSON-able: ``n_events``, ``accuracy``, ``balanced_accuracy``, ``efficiency``, ``confusion_matrix``
        (``classes``, ``matrix`` rows true class, columns predicted, normalised per true class),
        ``one_vs_rest_auc``, ``pairwise_auc`` (``"electron_vs_photon"`` ...), ``electron_vs_photon_auc``,
        ``egamma_vs_pion_auc``, ``pion_efficiency_at_egamma_efficiency`` (keys ``"0.95"``, ``"0.99"``); each
        AUC a dict ``auc``, ``std``, ``low``, ``high``.

    Raises
    ------
    ValueError
        On shapes that disagree, labels other than 0/1/2, fewer than 2 events of a class, or probabilities that
        are negative or not finite.
    """
    y, p = _checked(labels, probabilities)
    predicted = p.argmax(axis=1)
    order = [int(value) for value in CLASS_LABELS]  # display order: electron, photon, pion
    names = list(CLASS_NAMES)
    counts = np.array([np.count_nonzero(y == k) for k in order])
    matrix = np.array([[np.count_nonzero((y == i) & (predicted == j)) for j in order] for i in order]) / counts[:, None]
    efficiency = {name: float(matrix[row, row]) for row, name in enumerate(names)}
    pairwise = {}
    for (a, name_a), (b, name_b) in itertools.combinations(zip(order, names, strict=True), 2):
        both = (y == a) | (y == b)
        total = p[both, a] + p[both, b]
        # an event given no probability of either class carries no preference between them
        ratio = np.divide(p[both, a], total, out=np.full(total.shape, 0.5), where=total > 0)
        pairwise[f"{name_a}_vs_{name_b}"] = _interval(y[both] == a, ratio)
    egamma = (y == int(ELECTRON)) | (y == int(PHOTON))
    s = p[:, int(ELECTRON)] + p[:, int(PHOTON)]
    return {
        "n_events": {name: int(count) for name, count in zip(names, counts, strict=True)},
        "accuracy": float(np.mean(predicted == y)),
        "balanced_accuracy": float(np.mean(list(efficiency.values()))),
        "efficiency": efficiency,
        "confusion_matrix": {"classes": names, "normalised_by": "true class", "matrix": matrix.tolist()},
        "one_vs_rest_auc": {name: _interval(y == k, p[:, k]) for k, name in zip(order, names, strict=True)},
        "pairwise_auc": pairwise,
        "electron_vs_photon_auc": pairwise["electron_vs_photon"],
        "egamma_vs_pion_auc": _interval(egamma, s),
        "pion_efficiency_at_egamma_efficiency": {
            f"{level:g}": efficiency_at(s[egamma], s[y == int(PION)], level) for level in EGAMMA_EFFICIENCIES
        },
    }


def format_three_class_summary(metrics: dict[str, Any], *, model: str) -> str:
    """One line of the headline three-class figures of ``model`` (a :func:`three_class_metrics` dict)."""
    efficiencies = ", ".join(f"{name} {value:.3f}" for name, value in metrics["efficiency"].items())
    pion = metrics["pion_efficiency_at_egamma_efficiency"]
    return (
        f"{model}: accuracy {metrics['accuracy']:.4f}, balanced {metrics['balanced_accuracy']:.4f} "
        f"(efficiency {efficiencies}); e/gamma-vs-pion AUC {metrics['egamma_vs_pion_auc']['auc']:.4f}, "
        f"pion efficiency {pion['0.95']:.4f} / {pion['0.99']:.4f} at 95 / 99 % e/gamma; "
        f"e-vs-gamma AUC {metrics['electron_vs_photon_auc']['auc']:.4f}"
    )
