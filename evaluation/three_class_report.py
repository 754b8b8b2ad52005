"""The report of a three-class (electron / photon / charged pion) run: ``report.html`` and its ``report.md`` twin.

Both open with the headline: the data, the evaluated (test) events per class, the best model by three-class
accuracy with its accuracy and balanced accuracy, its e/gamma-vs-pion AUC and pion efficiency at 99 % e/gamma
efficiency, its electron-vs-photon AUC, and its confusion matrix normalised per true class. The details follow:
the per-model summary, the per-class efficiencies, every model's confusion matrix, the one-vs-rest and pairwise
AUCs with their DeLong intervals beside the one-vs-rest ROC curves, and the energy-threshold study (the accuracy
above each threshold, one model and retrained) with the published accuracy beside it, labelled as coming from a
different simulation: it is not a measurement on egid's events.

The figures follow :func:`egid.evaluation.three_class_metrics.three_class_metrics` (the numbers) and
:func:`egid.evaluation.threshold_study.threshold_study` (the study's rows). The blocks and their rendering are the
binary report's (:func:`egid.evaluation.report.write_blocks`): a self-contained HTML that embeds its PNGs, and a
Markdown that links them. The figures are drawn in the house style (:mod:`egid.evaluation.style`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, FloatArray, class_name
from egid.evaluation.plots import CLASS_COLOURS, save_figure
from egid.evaluation.report import Block, Figures, Heading, Paragraph, ReportFigure, Table, write_blocks
from egid.evaluation.style import label_axes, new_figure
from egid.evaluation.three_class_metrics import EGAMMA_EFFICIENCIES
from egid.evaluation.threshold_study import ENERGY_COLUMN, MODES, PUBLISHED_ACCURACY, PUBLISHED_NOTE, STUDY_FILES

__all__ = ("CONFUSION_FIGURE", "DEFAULT_TITLE", "ROC_FIGURE", "write_three_class_report")

DEFAULT_TITLE: Final = "egid three-class run: electron / photon / charged pion"
CONFUSION_FIGURE: Final = "three_class_confusion"
"""File stem of the best model's confusion matrix (``.png`` and ``.pdf``)."""
ROC_FIGURE: Final = "three_class_roc"
"""File stem of the one-vs-rest ROC curves of every model (``.png`` and ``.pdf``)."""
_STUDY_FIGURE: Final = f"{STUDY_FILES}.png"
"""The figure :func:`egid.evaluation.threshold_study.write_threshold_study` writes into the same folder."""
_INTERVAL: Final = "95% CI"
"""The DeLong interval :func:`~egid.evaluation.three_class_metrics.three_class_metrics` gives every AUC."""
_COLOURS: Final = {class_name(label): CLASS_COLOURS.get(label, "tab:green") for label in CLASS_LABELS}
"""Colour of each class in the ROC figure: the binary figures' electron and photon colours, green pions."""
_LINESTYLES: Final = ("-", "--", "-.", (0, (1, 1)))
"""Line style of each model in the ROC figure, in turn."""


def write_three_class_report(
    folder: str | os.PathLike[str],
    *,
    metrics: Mapping[str, Mapping[str, Any]],
    study: pd.DataFrame,
    labels: npt.ArrayLike,
    probabilities: Mapping[str, npt.ArrayLike],
    data: str,
    simulated: bool,
    title: str = DEFAULT_TITLE,
) -> list[Path]:
    """Draw the figures and write ``report.html`` and ``report.md`` of a three-class run into ``folder``.

    Every file appears only once complete (:func:`egid.detector.atomic_path`). ``threshold_study.png``, when
    ``folder`` holds it (:func:`egid.evaluation.threshold_study.write_threshold_study`), is shown in the study's
    section.

    Parameters
    ----------
    folder : path
        The run (or evaluation) folder, created if missing; the Markdown links figures relative to it.
    metrics : mapping of str to dict
        Model name -> :func:`egid.evaluation.three_class_metrics.three_class_metrics` of ``labels`` and its
        ``probabilities``; the report lists the models in this order.
    study : pandas.DataFrame
        The rows of :func:`egid.evaluation.threshold_study.threshold_study` (one or both :data:`MODES`).
    labels : array-like of shape (n,)
        The evaluated events' labels: 0 photon, 1 electron, 2 charged pion.
    probabilities : mapping of str to array-like of shape (n, 3)
        Model name (the same as ``metrics``) -> class probabilities, column ``k`` the class of label ``k``.
    data : str
        The data's name, as the figures and the headline state it, e.g. "egid simulation".
    simulated : bool
        Whether the events are simulated (the figures' "Simulation" label).
    title : str
        The report's title.

    Returns
    -------
    list of Path
        ``report.html``, ``report.md``, then ``three_class_confusion.{png,pdf}`` (the best model's confusion
        matrix) and ``three_class_roc.{png,pdf}`` (the one-vs-rest ROC curves).

    Raises
    ------
    ValueError
        If ``metrics`` is empty, ``probabilities`` names other models than ``metrics``, or an array has the wrong
        shape.
    """
    root = Path(folder)
    y, scores = _checked(metrics, labels, probabilities)
    best = max(metrics, key=lambda name: float(metrics[name]["accuracy"]))  # the first of equals wins a tie
    confusion = save_figure(
        _plot_confusion(metrics[best], model=best, data=data, simulated=simulated), root, CONFUSION_FIGURE
    )
    roc = save_figure(_plot_roc(y, scores, metrics, data=data, simulated=simulated), root, ROC_FIGURE)
    events = sum(metrics[best]["n_events"].values())
    on = f"on the {events} test events of {data}"
    headline = ReportFigure(
        "confusion", confusion.png, f"Confusion matrix of {best}, normalised per true class, {on}.", "headline"
    )
    curves = ReportFigure(
        "roc", roc.png, f"One-vs-rest ROC curves of every class and model {on}; AUCs in the legend.", "performance"
    )
    study_figure = None
    if (root / _STUDY_FIGURE).is_file():
        study_figure = ReportFigure(
            "threshold-study",
            root / _STUDY_FIGURE,
            f"Three-class accuracy above each summed crop energy threshold on {data} (dashed: {MODES[0]}, solid: "
            f"{MODES[1]}); the grey bands are the published accuracy ({PUBLISHED_NOTE}).",
            "performance",
        )
    blocks: list[Block] = [
        Heading(1, title),
        *_headline(metrics, best, data, headline),
        Heading(2, "Performance"),
        *_summary(metrics),
        Heading(2, "Per-class efficiencies"),
        *_efficiencies(metrics),
        Heading(2, "Confusion matrices"),
        *_confusion(metrics),
        Heading(2, "ROC curves and AUCs"),
        *_aucs(metrics, curves),
        Heading(2, "Energy-threshold study"),
        *_study(study, study_figure),
    ]
    html_path, md_path = write_blocks(root, title, blocks)
    return [html_path, md_path, *confusion, *roc]


def _checked(
    metrics: Mapping[str, Mapping[str, Any]], labels: npt.ArrayLike, probabilities: Mapping[str, npt.ArrayLike]
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """The labels (n,) and each model's probabilities (n, 3), in the order of ``metrics``."""
    if not metrics or set(metrics) != set(probabilities):
        msg = f"Expected the probabilities of the models of metrics {list(metrics)}; got {list(probabilities)}."
        raise ValueError(msg)
    y = np.asarray(labels, dtype=np.float64)
    scores: dict[str, FloatArray] = {name: np.asarray(probabilities[name], dtype=np.float64) for name in metrics}
    wrong = {name: p.shape for name, p in scores.items() if p.shape != (y.size, len(CLASS_LABELS))}
    if y.ndim != 1 or wrong:
        msg = f"Expected labels (n,) and probabilities (n, {len(CLASS_LABELS)}); got {y.shape} and {wrong}."
        raise ValueError(msg)
    return y, scores


def _number(value: float) -> str:
    """Four decimals, as the run's summary line prints them; ``n/a`` for NaN (a figure the study could not compute)."""
    return f"{value:.4f}" if np.isfinite(value) else "n/a"


def _auc(auc: Mapping[str, float]) -> str:
    """An AUC with its interval, e.g. ``0.9871 [0.9812, 0.9930]``."""
    return f"{_number(auc['auc'])} [{_number(auc['low'])}, {_number(auc['high'])}]"


def _efficiency_label(level: float) -> str:
    return f"{100 * level:g}% e/γ efficiency"


def _headline(metrics: Mapping[str, Mapping[str, Any]], best: str, data: str, figure: ReportFigure) -> list[Block]:
    """The data, the events per class, the best model's numbers in words and its confusion matrix."""
    values = metrics[best]
    counts = values["n_events"]
    total = sum(counts.values())
    rows = tuple((name, str(count), f"{100 * count / total:.0f}%") for name, count in counts.items())
    level = EGAMMA_EFFICIENCIES[-1]
    sentence = (
        f"Best model by three-class accuracy on the {total} test events: {best}, accuracy "
        f"{_number(values['accuracy'])}, balanced accuracy {_number(values['balanced_accuracy'])}; e/γ-vs-pion AUC "
        f"{_auc(values['egamma_vs_pion_auc'])} ({_INTERVAL}, DeLong), pion efficiency "
        f"{_number(values['pion_efficiency_at_egamma_efficiency'][f'{level:g}'])} at {_efficiency_label(level)}; "
        f"electron-vs-photon AUC {_auc(values['electron_vs_photon_auc'])}."
    )
    return [
        Paragraph(f"Data: {data}."),
        Table(("Class", "Test events", "Share"), rows),
        Paragraph(sentence),
        Figures((figure,)),
    ]


def _summary(metrics: Mapping[str, Mapping[str, Any]]) -> list[Block]:
    pion = tuple(f"Pion efficiency at {_efficiency_label(level)}" for level in EGAMMA_EFFICIENCIES)
    header = (
        "Model",
        "Accuracy",
        "Balanced accuracy",
        f"e/γ vs pion AUC [{_INTERVAL}]",
        *pion,
        f"Electron vs photon AUC [{_INTERVAL}]",
    )
    rows = tuple(
        (
            name,
            _number(values["accuracy"]),
            _number(values["balanced_accuracy"]),
            _auc(values["egamma_vs_pion_auc"]),
            *(_number(values["pion_efficiency_at_egamma_efficiency"][f"{level:g}"]) for level in EGAMMA_EFFICIENCIES),
            _auc(values["electron_vs_photon_auc"]),
        )
        for name, values in metrics.items()
    )
    return [
        Paragraph(
            "The predicted class is the most probable one. The balanced accuracy is the mean of the per-class "
            "efficiencies. The e/γ-vs-pion score is p(electron) + p(photon); the pion efficiency is the fraction of "
            "pions passing the threshold that keeps the given fraction of electrons and photons (the pion "
            "misidentification rate of an e/γ selection)."
        ),
        Table(header, rows),
    ]


def _efficiencies(metrics: Mapping[str, Mapping[str, Any]]) -> list[Block]:
    rows = tuple((name, *(_number(values["efficiency"][c]) for c in CLASS_NAMES)) for name, values in metrics.items())
    return [
        Paragraph("The fraction of each true class predicted as that class (the confusion matrix's diagonal)."),
        Table(("Model", *CLASS_NAMES), rows),
    ]


def _confusion(metrics: Mapping[str, Mapping[str, Any]]) -> list[Block]:
    rows = tuple(
        (name, true, *(_number(fraction) for fraction in row))
        for name, values in metrics.items()
        for true, row in zip(values["confusion_matrix"]["classes"], values["confusion_matrix"]["matrix"], strict=True)
    )
    return [
        Paragraph(
            "Each row holds the fractions of one true class predicted as each class (rows sum to 1); the best "
            "model's matrix is drawn in the headline."
        ),
        Table(("Model", "True class", *(f"Predicted {c}" for c in CLASS_NAMES)), rows),
    ]


def _aucs(metrics: Mapping[str, Mapping[str, Any]], figure: ReportFigure) -> list[Block]:
    rows = []
    for name, values in metrics.items():
        named = [(f"{c} vs rest", values["one_vs_rest_auc"][c]) for c in CLASS_NAMES]
        named += [(key.replace("_vs_", " vs "), auc) for key, auc in values["pairwise_auc"].items()]
        named.append(("e/γ vs pion", values["egamma_vs_pion_auc"]))
        rows += [(name, what, _number(auc["auc"]), _number(auc["std"]), _auc(auc)) for what, auc in named]
    return [
        Paragraph(
            "One-vs-rest: the probability of a class separating it from the two others. Pairwise a vs b: on the "
            "events of a and b only, p(a) / (p(a) + p(b)). Every AUC with DeLong's standard deviation and interval."
        ),
        Table(("Model", "Separation", "AUC", "Std", f"AUC [{_INTERVAL}]"), tuple(rows)),
        Figures((figure,)),
    ]


def _study(study: pd.DataFrame, figure: ReportFigure | None) -> list[Block]:
    """The accuracy per threshold (one column per model and mode), the published figures, then every row."""
    modes = [mode for mode in MODES if mode in set(study["mode"])]
    present = set(zip(study["model"], study["mode"], strict=True))  # not every model is retrained
    columns = [(model, mode) for model in dict.fromkeys(study["model"]) for mode in modes if (model, mode) in present]
    accuracy = {(row.threshold_gev, row.model, row.mode): row.accuracy for row in study.itertuples()}
    pivot = tuple(
        (f"{threshold:g}", *(_number(accuracy.get((threshold, *column), np.nan)) for column in columns))
        for threshold in dict.fromkeys(study["threshold_gev"])
    )
    published = tuple(
        (name, f"{low:.3f} – {high:.3f}", PUBLISHED_NOTE) for name, (low, high) in PUBLISHED_ACCURACY.items()
    )
    details = tuple(
        (
            f"{row.threshold_gev:g}",
            str(row.mode),
            str(row.model),
            str(row.n_train),
            str(row.n_test),
            _number(row.accuracy),
            _number(row.balanced_accuracy),
            _number(row.pion_eff_at_99),
            _number(row.e_vs_gamma_auc),
        )
        for row in study.itertuples()
    )
    blocks: list[Block] = [
        Paragraph(
            f"Events are kept when their summed crop energy ({ENERGY_COLUMN}) reaches the threshold T (E >= T). "
            f"{MODES[0]!r}: the model trained on every event, evaluated on the test events above T; {MODES[1]!r}: "
            "the best features-only and the best stacked tree (by the validation log-loss) trained and validated on "
            "the events above T only (hyperparameters as tuned on every event), evaluated on the test events above "
            "T, as in the published study (where T cuts no event, as T = 0 does, the model trained on every event)."
        ),
        Table(("T [GeV]", *(f"Accuracy {model} ({mode})" for model, mode in columns)), pivot),
        Paragraph(
            "The published networks' three-class accuracy, lowest to highest over T = 0-30 GeV, was measured on a "
            "different simulation: a reference for scale, not a measurement on these events."
        ),
        Table(("Published network", "Accuracy, T = 0-30 GeV", "Source"), published),
        Paragraph(
            "Every row of the study (n/a where a class has fewer than 2 test events left or no model was trained):"
        ),
        Table(
            (
                "T [GeV]",
                "Mode",
                "Model",
                "Train events",
                "Test events",
                "Accuracy",
                "Balanced accuracy",
                "Pion efficiency at 99% e/γ efficiency",  # the study's column pion_eff_at_99
                "Electron vs photon AUC",
            ),
            details,
        ),
    ]
    return blocks if figure is None else [*blocks, Figures((figure,))]


def _plot_confusion(values: Mapping[str, Any], *, model: str, data: str, simulated: bool) -> Figure:
    """The 3x3 confusion matrix of ``values`` (a three-class metrics dict): rows true, columns predicted class."""
    classes = values["confusion_matrix"]["classes"]
    fractions = np.asarray(values["confusion_matrix"]["matrix"], dtype=np.float64)
    counts = np.rint(fractions * np.array([values["n_events"][c] for c in classes])[:, None]).astype(int)
    fig, ax = new_figure()
    ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for (i, j), fraction in np.ndenumerate(fractions):
        colour = "white" if fraction > 0.6 else "black"
        ax.text(j, i, f"{counts[i, j]}\n({100 * fraction:.1f}%)", ha="center", va="center", fontsize=18, color=colour)
    ticks = list(range(len(classes)))
    ax.set_xticks(ticks, classes)
    ax.set_yticks(ticks, classes)
    ax.minorticks_off()
    ax.set(xlabel=f"Predicted class ({model}: the most probable)", ylabel="True class (test sample)")
    label_axes(ax, data=data, simulated=simulated)
    return fig


def _plot_roc(
    labels: FloatArray,
    scores: Mapping[str, FloatArray],
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    data: str,
    simulated: bool,
) -> Figure:
    """One-vs-rest ROC curves: a colour per class, a line style per model, the metrics' AUC in the legend."""
    fig, ax = new_figure()
    for (name, probabilities), style in zip(scores.items(), itertools.cycle(_LINESTYLES), strict=False):
        for label in CLASS_LABELS:
            cls = class_name(label)
            rest_eff, class_eff, _ = roc_curve(labels == label, probabilities[:, int(label)])
            auc = metrics[name]["one_vs_rest_auc"][cls]["auc"]
            label_text = f"{cls}, {name} (AUC = {auc:.4f})"
            ax.plot(rest_eff, class_eff, linestyle=style, color=_COLOURS[cls], label=label_text)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="random guess")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="Other classes' efficiency", ylabel="Class efficiency (one vs rest)")
    ax.legend(loc="lower right", title="test sample", fontsize="x-small")
    label_axes(ax, data=data, simulated=simulated)
    return fig
