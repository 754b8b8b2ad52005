"""The figures of a run: ROC, background rejection, overtraining check, training curves, confusion matrix, features.

Every function draws one :class:`~matplotlib.figure.Figure` in the house style (:mod:`egid.evaluation.style`: mplhep's
CMS look, labelled "Private work" and the data's name) and returns it, so tests can inspect the artists; nothing
is written until :func:`save_figure`. Scores follow the table of :func:`egid.evaluation.metrics.compute_metrics`
(``label`` 1.0 electron = signal, 0.0 photon = background; ``split``; one probability column per model). An
event is selected as an electron when its score >= the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import mplhep as hep
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import ks_2samp
from sklearn.metrics import roc_curve

from egid.detector import atomic_path
from egid.detector.schema import ELECTRON, PHOTON, FloatArray
from egid.evaluation.delong import delong_auc
from egid.evaluation.metrics import check_scores
from egid.evaluation.style import label_axes, new_figure
from egid.models.history import TrainingHistory

__all__ = (
    "MIN_EVENTS_PER_CLASS",
    "FigureFiles",
    "plot_background_rejection",
    "plot_confusion_matrix",
    "plot_feature_distributions",
    "plot_roc",
    "plot_score_distributions",
    "plot_training_curves",
    "save_figure",
)

MIN_EVENTS_PER_CLASS = 2
"""Fewest events of each class a split needs for its ROC curve and score histograms to mean anything."""

#: Colours of the two classes in every figure (blue electrons, red photons).
CLASS_COLOURS = {ELECTRON: "tab:blue", PHOTON: "tab:red"}
CLASS_NAMES = {ELECTRON: "electron", PHOTON: "photon"}
#: Resolution of the PNG files (the PDF is vector).
PNG_DPI = 100
_METRIC_LABELS = {"logloss": "Log loss", "accuracy": "Accuracy"}
"""The metrics drawn by :func:`plot_training_curves`, with their axis labels."""
_SPLIT_STYLES = {"train": ("tab:blue", "-"), "validation": ("tab:orange", "--")}


class FigureFiles(NamedTuple):
    """The two files :func:`save_figure` wrote."""

    png: Path
    pdf: Path


def plot_roc(scores: pd.DataFrame, models: Sequence[str], *, data: str, simulated: bool, split: str = "test") -> Figure:
    """ROC curves of ``models`` on ``split``: signal (electron) vs background (photon) efficiency.

    The legend gives each AUC with DeLong's standard deviation (:func:`egid.evaluation.delong.delong_auc`).

    Raises
    ------
    ValueError
        If the scores table is malformed, or ``split`` lacks two events of either class.
    """
    labels, matrix = _split_scores(scores, models, split)
    fig, ax = new_figure()
    for model, score in zip(models, matrix, strict=True):
        background_eff, signal_eff, _ = roc_curve(labels, score)
        auc = delong_auc(labels, score)
        ax.plot(background_eff, signal_eff, label=f"{model} (AUC = {auc.auc:.4f} ± {auc.std:.4f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random guess")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="Background (photon) efficiency", ylabel="Signal (electron) efficiency")
    ax.legend(loc="lower right", title=f"{split} sample", fontsize="small")
    label_axes(ax, data=data, simulated=simulated)
    return fig


def plot_background_rejection(
    scores: pd.DataFrame,
    models: Sequence[str],
    *,
    data: str,
    simulated: bool,
    split: str = "test",
    signal_efficiencies: Sequence[float] = (0.8, 0.9),
) -> Figure:
    """Background rejection ``1 / eps_B`` (log scale) against signal efficiency ``eps_S`` on ``split``.

    Points with no background left (``eps_B = 0``, infinite rejection) are not drawn. Dotted vertical lines
    mark the working points' target signal efficiencies.

    Raises
    ------
    ValueError
        As :func:`plot_roc`.
    """
    labels, matrix = _split_scores(scores, models, split)
    fig, ax = new_figure()
    for model, score in zip(models, matrix, strict=True):
        background_eff, signal_eff, _ = roc_curve(labels, score)
        kept = background_eff > 0
        ax.plot(signal_eff[kept], 1.0 / background_eff[kept], label=model)
    for efficiency in signal_efficiencies:
        ax.axvline(efficiency, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set(xlim=(0, 1), xlabel="Signal (electron) efficiency", ylabel="Background (photon) rejection 1/ε(B)")
    ax.legend(loc="upper right", title=f"{split} sample", fontsize="small")
    label_axes(ax, data=data, simulated=simulated)
    return fig


def plot_score_distributions(scores: pd.DataFrame, model: str, *, data: str, simulated: bool, bins: int = 40) -> Figure:
    """The overtraining check: ``model``'s score per class on train (filled) and test (step), normalised.

    Each test entry of the legend carries the two-sample Kolmogorov-Smirnov p-value of that class's train and
    test scores; a small p-value means the model scores the events it trained on differently (overtraining).
    A split that is absent is not drawn and no p-value is given.

    Raises
    ------
    ValueError
        If the scores table is malformed.
    """
    check_scores(scores, [model])
    labels = scores["label"].to_numpy(dtype=np.float64)
    score = scores[model].to_numpy(dtype=np.float64)
    split = scores["split"].to_numpy()
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, ax = new_figure()
    for label in (ELECTRON, PHOTON):
        train = score[(labels == label) & (split == "train")]
        test = score[(labels == label) & (split == "test")]
        colour, name = CLASS_COLOURS[label], CLASS_NAMES[label]
        if train.size:
            ax.stairs(_density(train, edges), edges, fill=True, alpha=0.35, color=colour, label=f"{name}, train")
        if test.size:
            ks = f" (KS p = {ks_2samp(train, test).pvalue:.3g})" if train.size else ""
            ax.stairs(_density(test, edges), edges, color=colour, linewidth=2, label=f"{name}, test{ks}")
    ax.set_yscale("log")
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top * (top / bottom) ** 0.4)  # headroom for the legend on the log axis
    ax.set(xlim=(0, 1), xlabel=f"{model} score (electron probability)", ylabel="Normalised to unit area")
    ax.legend(loc="upper center", fontsize="small", ncols=2)
    label_axes(ax, data=data, simulated=simulated)
    return fig


def plot_training_curves(
    history: TrainingHistory | Sequence[TrainingHistory], *, model: str, data: str, simulated: bool
) -> Figure:
    """Loss and accuracy on train (solid) and validation (dashed) per boosting round or optimizer step, side by side.

    Several histories (the CNN's cross-validation folds) are drawn as thin lines, one per fold. A dotted
    vertical line marks the kept step (``best``) of each history that has one.
    """
    histories = [history] if isinstance(history, TrainingHistory) else list(history)
    if not histories:
        msg = f"Expected at least one training history for {model!r}; got none."
        raise ValueError(msg)
    folds = len(histories) > 1
    fig, axes = _new_grid(1, len(_METRIC_LABELS), panel=(8.0, 7.0))
    for ax, metric in zip(axes, _METRIC_LABELS, strict=True):
        drawn = False
        for fold, record in enumerate(histories):
            steps = record.x
            for split, (colour, style) in _SPLIT_STYLES.items():
                values = record.curve(split, metric)
                if values is None:
                    continue
                label = split if fold == 0 else None
                width = 1 if folds else 2
                ax.plot(steps, values, color=colour, linestyle=style, linewidth=width, alpha=0.8, label=label)
                drawn = True
            if record.best is not None:
                ax.axvline(steps[record.best - 1], color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel=histories[0].x_label, ylabel=_METRIC_LABELS[metric])
        if drawn:
            ax.legend(title=f"{model}" + (f", {len(histories)} folds" if folds else ""), fontsize="small")
        else:
            ax.text(0.5, 0.5, f"{metric} not recorded", transform=ax.transAxes, ha="center", va="center")
    return _finish_grid(fig, axes, data=data, simulated=simulated)


def plot_confusion_matrix(
    scores: pd.DataFrame, model: str, *, threshold: float, data: str, simulated: bool, split: str = "test"
) -> Figure:
    """The 2x2 confusion matrix of ``model`` on ``split`` at ``threshold``: counts and fractions of each true class.

    Rows are the true class, columns the predicted one (electron when score >= threshold); the colour and
    the percentage are the row-normalised fraction (so the diagonal holds eps_S and 1 - eps_B).

    Raises
    ------
    ValueError
        If the scores table is malformed or ``split`` holds no events.
    """
    check_scores(scores, [model])
    rows = scores["split"].to_numpy() == split
    if not rows.any():
        msg = f"Expected events in split {split!r}; found none."
        raise ValueError(msg)
    labels = scores["label"].to_numpy(dtype=np.float64)[rows]
    predicted = scores[model].to_numpy(dtype=np.float64)[rows] >= threshold
    classes = (PHOTON, ELECTRON)
    counts = np.array(
        [[np.sum((labels == true) & (predicted == (guess == ELECTRON))) for guess in classes] for true in classes]
    )
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(totals > 0, counts / totals, np.nan)
    fig, ax = new_figure()
    ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for (i, j), count in np.ndenumerate(counts):
        fraction = "n/a" if np.isnan(fractions[i, j]) else f"{100 * fractions[i, j]:.1f}%"
        dark = not np.isnan(fractions[i, j]) and fractions[i, j] > 0.6
        colour = "white" if dark else "black"
        ax.text(j, i, f"{count}\n({fraction})", ha="center", va="center", fontsize=20, color=colour)
    names = [CLASS_NAMES[c] for c in classes]
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    ax.minorticks_off()
    ax.set(xlabel=f"Predicted ({model} score ≥ {threshold:.3f}: electron)", ylabel=f"True class ({split} sample)")
    label_axes(ax, data=data, simulated=simulated)
    return fig


def plot_feature_distributions(
    features: pd.DataFrame,
    labels: npt.ArrayLike,
    names: Sequence[str],
    *,
    data: str,
    simulated: bool,
    xlabels: Mapping[str, str] | None = None,
    bins: int = 40,
    quantiles: tuple[float, float] = (0.005, 0.995),
    ncols: int = 3,
) -> Figure:
    """Normalised electron and photon distributions of the features ``names``, one panel each in a grid.

    The x range of a panel spans the ``quantiles`` of both classes together, so a few extreme values do not
    squash the bulk; values outside it are added to the first or last bin. A feature taking only integer values
    over a short range gets one bin per integer. NaN (and infinite) values, a feature undefined for an event, are
    left out and counted in the legend as NaN. ``xlabels`` maps a feature to its axis label with units (default: its
    name).

    Raises
    ------
    ValueError
        If a name is not a column of ``features`` or ``labels`` has the wrong length.
    """
    y = np.asarray(labels, dtype=np.float64)
    missing = [name for name in names if name not in features.columns]
    if missing or y.shape != (len(features),) or not names:
        msg = (
            f"Expected feature columns {list(names)} and {len(features)} labels; "
            f"missing columns {missing}, labels of shape {y.shape}."
        )
        raise ValueError(msg)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = _new_grid(nrows, ncols, panel=(6.0, 5.0), rc={"font.size": 14, "legend.fontsize": 11})
    for ax, name in zip(axes, names, strict=False):
        values = features[name].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            ax.text(0.5, 0.5, f"{name}: no finite value", transform=ax.transAxes, ha="center", va="center")
        else:
            edges = _feature_edges(finite, bins, quantiles)
            for label in (ELECTRON, PHOTON):
                own = values[y == label]
                n_nan = int(np.sum(~np.isfinite(own)))
                clipped = np.clip(own[np.isfinite(own)], edges[0], edges[-1])
                entry = CLASS_NAMES[label] + (f" ({n_nan} NaN)" if n_nan else "")
                ax.stairs(_density(clipped, edges), edges, color=CLASS_COLOURS[label], linewidth=1.5, label=entry)
            ax.legend()
        ax.set(xlabel=(xlabels or {}).get(name, name), ylabel="Normalised to unit area")
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    with plt.style.context({"font.size": 14}):
        return _finish_grid(fig, axes, data=data, simulated=simulated)


def save_figure(fig: Figure, out_dir: str | Path, name: str) -> FigureFiles:
    """Write ``fig`` as ``out_dir/name.png`` and ``out_dir/name.pdf`` atomically, then close it.

    Each file appears only once complete (:func:`egid.detector.atomic_path`); the PDF carries no creation date, so
    the same figure gives the same bytes.

    Raises
    ------
    ValueError
        If ``name`` is empty or contains a path separator.
    """
    if not name or Path(name).name != name:
        msg = f"Expected a plain file name without directories; got {name!r}."
        raise ValueError(msg)
    folder = Path(out_dir)
    try:
        files = FigureFiles(png=folder / f"{name}.png", pdf=folder / f"{name}.pdf")
        with atomic_path(files.png) as tmp:
            fig.savefig(tmp, format="png", dpi=PNG_DPI, bbox_inches="tight")
        with atomic_path(files.pdf) as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    finally:
        plt.close(fig)
    return files


def _split_scores(scores: pd.DataFrame, models: Sequence[str], split: str) -> tuple[FloatArray, FloatArray]:
    """Labels (n,) and scores (k, n) of ``split``; raise ValueError without MIN_EVENTS_PER_CLASS of each class."""
    check_scores(scores, models)
    rows = scores["split"].to_numpy() == split
    labels = scores["label"].to_numpy(dtype=np.float64)[rows]
    n_signal, n_background = int(np.sum(labels == ELECTRON)), int(np.sum(labels == PHOTON))
    if min(n_signal, n_background) < MIN_EVENTS_PER_CLASS:
        msg = (
            f"Expected at least {MIN_EVENTS_PER_CLASS} electrons and {MIN_EVENTS_PER_CLASS} photons in split "
            f"{split!r}; found {n_signal} and {n_background}."
        )
        raise ValueError(msg)
    return labels, scores[list(models)].to_numpy(dtype=np.float64)[rows].T


def _density(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Histogram of ``values`` normalised to unit area (all zeros when empty)."""
    counts, _ = np.histogram(values, bins=edges)
    total = counts.sum()
    return counts / (total * np.diff(edges)) if total else counts.astype(np.float64)


def _feature_edges(finite: FloatArray, bins: int, quantiles: tuple[float, float]) -> FloatArray:
    """Bin edges over the ``quantiles`` of ``finite``; one bin per integer for short-ranged integer features."""
    low, high = np.quantile(finite, quantiles)
    if np.all(finite == np.round(finite)) and high - low <= 2 * bins:
        return np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.0)
    if high <= low:
        return np.linspace(low - 0.5, low + 0.5, bins + 1)
    return np.linspace(low, high, bins + 1)


def _new_grid(
    nrows: int, ncols: int, *, panel: tuple[float, float], rc: Mapping[str, object] | None = None
) -> tuple[Figure, list[Axes]]:
    """A grid of axes in the house style, row by row (:func:`egid.evaluation.style.new_figure` draws one axes)."""
    with plt.style.context([hep.style.CMS, dict(rc or {})]):
        fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows), squeeze=False)
    return fig, list(axes.flat)


def _finish_grid(fig: Figure, axes: list[Axes], *, data: str, simulated: bool) -> Figure:
    """Lay the panels out without overlaps, then label the top-left panel once, above the grid (the saved file's
    tight bounding box takes it in)."""
    fig.tight_layout()
    label_axes(axes[0], data=data, simulated=simulated)
    return fig
