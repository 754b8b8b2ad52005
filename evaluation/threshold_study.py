"""The energy-threshold study of the three-class (electron / photon / charged pion) identification.

The published study (the issue's reference: a shallow 784-10-10-3 network and a CNN on 28x28 energy images)
removed, from training and test alike, the events whose summed window energy was below a threshold ``T`` and
reported the three-class accuracy for ``T`` = 0, 10, 20 and 30 GeV: 0.895-0.904 (shallow network) and
0.914-0.933 (CNN) over those thresholds, on its own simulation. egid repeats it two ways on its split:

* **one model** -- the model trained on every event, evaluated on the test events with summed crop energy
  ``E >= T``;
* **retrained** -- a model trained and validated only on events with ``E >= T`` (its hyperparameters those chosen
  on every event), evaluated on the test events with ``E >= T``: the published procedure.

The cut is the published one, :func:`above_threshold`: the events below ``T`` are removed, so ``T`` = 0 keeps
every event (an empty crop included) and is the study without a threshold.

The summed crop energy is the feature ``e_sum`` (GeV, the sum of channel 0 over the 32x32 crop times 50;
:mod:`egid.features`). Per threshold and model: the test events kept, the accuracy, the balanced accuracy, the
pion efficiency at 99 % e/gamma efficiency and the electron-vs-photon AUC (:mod:`egid.evaluation.three_class_metrics`;
NaN where a class has fewer than 2 test events left). The published figures are drawn beside egid's, labelled as
coming from a different simulation: they are not a measurement on egid's events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector import InputError, atomic_path
from egid.detector.schema import FloatArray, IndexArray
from egid.evaluation.three_class_metrics import three_class_metrics

__all__ = (
    "DEFAULT_THRESHOLDS_GEV",
    "ENERGY_COLUMN",
    "MODES",
    "PUBLISHED_ACCURACY",
    "STUDY_FILES",
    "Cut",
    "Retrain",
    "above_threshold",
    "check_thresholds",
    "plot_threshold_study",
    "threshold_study",
    "write_threshold_study",
)

DEFAULT_THRESHOLDS_GEV: Final = (0.0, 10.0, 20.0, 30.0)
"""Thresholds on the summed crop energy, in GeV (the published study's)."""
ENERGY_COLUMN: Final = "e_sum"
"""The feature column holding the summed crop energy in GeV."""
MODES: Final = ("one model", "retrained")
PUBLISHED_ACCURACY: Final = {"shallow NN (784-10-10-3)": (0.895, 0.904), "CNN": (0.914, 0.933)}
"""The published three-class accuracy, lowest and highest over the thresholds 0-30 GeV, on a different simulation."""
PUBLISHED_NOTE: Final = "published, different simulation"
STUDY_FILES: Final = "threshold_study"
"""File stem of the study's table (``.csv``, ``.json``) and figure (``.png``) in a run or evaluation folder."""

Cut = tuple[IndexArray, IndexArray, IndexArray]
"""The ``(train_rows, validation_rows, test_rows)`` of the split above one threshold (table positions)."""
Retrain = Callable[[Sequence[Cut]], Sequence[Mapping[str, FloatArray]]]
"""``retrain(cuts)``: for each :data:`Cut` (one per threshold), fit the models on its training and validation
rows and return each model's ``(len(test_rows), 3)`` class probabilities on its test rows (NaN where a model could
not be trained, say with no pion left above the threshold: its row's figures are then NaN). It gets every
threshold at once, so that it may run the fits side by side."""


def check_thresholds(thresholds: Sequence[float], *, source: str = "--thresholds") -> tuple[float, ...]:
    """Return ``thresholds`` as floats; refuse (InputError, one line starting with ``source``) an empty, negative,
    non-finite or repeated one."""
    values = tuple(float(t) for t in thresholds)
    if not values or not all(np.isfinite(v) and v >= 0 for v in values) or len(set(values)) != len(values):
        msg = f"{source}: expected distinct finite energies >= 0 GeV, got {list(thresholds)}"
        raise InputError(msg)
    return values


def above_threshold(energy_gev: npt.ArrayLike, threshold_gev: float) -> npt.NDArray[np.bool_]:
    """Whether each event's summed crop energy reaches ``threshold_gev``: ``E >= T``, the published study's cut (it
    removed the events below ``T``; ``T`` = 0 keeps every event)."""
    return np.asarray(energy_gev, dtype=np.float64) >= threshold_gev


def _row(labels: npt.NDArray[np.float64], probabilities: FloatArray) -> dict[str, float]:
    if not np.isfinite(probabilities).all():  # a model that could not be trained (retrain returned NaN)
        return dict.fromkeys(("accuracy", "balanced_accuracy", "pion_eff_at_99", "e_vs_gamma_auc"), np.nan)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels)) if labels.size else float("nan")
    try:
        metrics = three_class_metrics(labels, probabilities)
    except ValueError:  # a class with fewer than 2 events above the threshold: accuracy only
        return {"accuracy": accuracy, "balanced_accuracy": np.nan, "pion_eff_at_99": np.nan, "e_vs_gamma_auc": np.nan}
    return {
        "accuracy": accuracy,
        "balanced_accuracy": metrics["balanced_accuracy"],
        "pion_eff_at_99": metrics["pion_efficiency_at_egamma_efficiency"]["0.99"],
        "e_vs_gamma_auc": metrics["electron_vs_photon_auc"]["auc"],
    }


def threshold_study(
    energy_gev: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    train: IndexArray,
    validation: IndexArray,
    test: IndexArray,
    test_probabilities: Mapping[str, FloatArray],
    retrain: Retrain | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS_GEV,
) -> pd.DataFrame:
    """Accuracy and friends of each model above each energy threshold, one model and retrained.

    Parameters
    ----------
    energy_gev : array-like of shape (N,)
        Summed crop energy of every event (GeV), the table's ``e_sum``.
    labels : array-like of shape (N,)
        0 photon, 1 electron, 2 pion.
    train, validation, test : ndarray of int
        Table positions of the split.
    test_probabilities : mapping of str to ndarray of shape (len(test), 3)
        Each model's class probabilities on ``test``, from the models trained on every event.
    retrain : callable, optional
        See :data:`Retrain`; None skips the retrained rows.
    thresholds : sequence of float
        In GeV (:func:`check_thresholds`).

    Returns
    -------
    pandas.DataFrame
        One row per (threshold, mode, model): ``threshold_gev``, ``mode`` (:data:`MODES`), ``model``, ``n_train``
        (events the model was trained on), ``n_test``, ``accuracy``, ``balanced_accuracy``, ``pion_eff_at_99``,
        ``e_vs_gamma_auc``.
    """
    values = check_thresholds(thresholds)
    energy = np.asarray(energy_gev, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    kept = [above_threshold(energy, threshold) for threshold in values]
    cuts: list[Cut] = [(train[keep[train]], validation[keep[validation]], test[keep[test]]) for keep in kept]
    retrained = None if retrain is None else retrain(cuts)
    rows: list[dict[str, Any]] = []
    for index, (threshold, keep) in enumerate(zip(values, kept, strict=True)):
        test_keep = keep[test]
        for name, probabilities in test_probabilities.items():
            rows.append(
                {"threshold_gev": threshold, "mode": MODES[0], "model": name, "n_train": int(train.size)}
                | {"n_test": int(test_keep.sum())}
                | _row(y[test][test_keep], np.asarray(probabilities)[test_keep])
            )
        if retrained is None:
            continue
        cut_train, _, cut_test = cuts[index]
        for name, probabilities in retrained[index].items():
            rows.append(
                {"threshold_gev": threshold, "mode": MODES[1], "model": name, "n_train": int(cut_train.size)}
                | {"n_test": int(cut_test.size)}
                | _row(y[cut_test], np.asarray(probabilities))
            )
    return pd.DataFrame(rows)


def plot_threshold_study(study: pd.DataFrame, path: str | os.PathLike[str], *, data: str, simulated: bool) -> Path:
    """Draw the three-class accuracy against the threshold, egid's models beside the published networks.

    Solid lines: models retrained above each threshold; dashed: the one model trained on every event. The
    published accuracy (lowest to highest over the thresholds) is a grey band per network, labelled as a
    different simulation. mplhep's CMS style, labelled "Private work" and ``data`` (:mod:`egid.evaluation.style`).
    """
    import matplotlib.pyplot as plt

    from egid.evaluation.style import label_axes, new_figure

    fig, ax = new_figure()
    lines = {MODES[0]: "--", MODES[1]: "-"}
    for (mode, model), part in study.groupby(["mode", "model"], sort=False):
        ax.plot(part["threshold_gev"], part["accuracy"], lines[str(mode)], marker="o", label=f"egid {model} ({mode})")
    span = (study["threshold_gev"].min(), study["threshold_gev"].max())
    for (name, (low, high)), colour in zip(PUBLISHED_ACCURACY.items(), ("0.75", "0.55"), strict=True):
        ax.fill_between(span, low, high, color=colour, alpha=0.5, label=f"{name}: {PUBLISHED_NOTE}")
    ax.set_xlabel("Summed crop energy threshold T [GeV]")
    ax.set_ylabel("Three-class accuracy (E >= T)")
    ax.legend(fontsize="x-small", loc="lower left")
    label_axes(ax, data=data, simulated=simulated)
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", bbox_inches="tight")
    plt.close(fig)
    return out


def write_threshold_study(
    study: pd.DataFrame, out_dir: str | os.PathLike[str], *, data: str, simulated: bool
) -> dict[str, Path]:
    """Write ``threshold_study.csv``, ``threshold_study.json`` (the rows and the published figures, labelled) and
    ``threshold_study.png`` into ``out_dir``; return their paths by suffix."""
    root = Path(out_dir)
    paths = {suffix: root / f"{STUDY_FILES}.{suffix}" for suffix in ("csv", "json", "png")}
    with atomic_path(paths["csv"]) as tmp:
        study.to_csv(tmp, index=False)
    document = {
        "energy": f"summed crop energy ({ENERGY_COLUMN}, GeV) > threshold",
        "rows": json.loads(study.to_json(orient="records")),
        "published": {
            "note": "three-class accuracy, lowest and highest over thresholds 0-30 GeV; a different simulation",
            "accuracy": {name: list(bounds) for name, bounds in PUBLISHED_ACCURACY.items()},
        },
    }
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
    plot_threshold_study(study, paths["png"], data=data, simulated=simulated)
    return paths
