"""The reporting step: metrics.json, the figures and report.html/report.md for a table of scores.

The training run and ``egid evaluate`` both end here, so an evaluation on an unseen file produces the same
metrics and plots as the run itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from egid.detector import atomic_path, stratified_subsample
from egid.evaluation.importance_plots import plot_importance_bars, plot_shap_summary
from egid.evaluation.metrics import compute_metrics, validate_metrics
from egid.evaluation.plots import (
    plot_background_rejection,
    plot_confusion_matrix,
    plot_feature_distributions,
    plot_roc,
    plot_score_distributions,
    plot_training_curves,
    save_figure,
)
from egid.evaluation.report import ReportFigure, Section, best_model, write_report
from egid.features import get_feature
from egid.models import ShapValues, TreeModel, shap_values
from egid.models.catalogue import CNN_SCORE
from egid.models.history import TrainingHistory
from egid.models.importance import shap_rows

__all__ = ("DataDescription", "publish", "shap_on_test_events", "tree_history")


METRICS_FILE = "metrics.json"
_TOP_FEATURES = 12
_CONFUSION_EFFICIENCY = 0.9
_SHOWN_FILES = 4
"""Input files named in the report's headline; the configuration section lists them all."""


class _Style(TypedDict):
    """The keyword arguments every figure takes: the data's name and whether it is simulated."""

    data: str
    simulated: bool


@dataclass(frozen=True)
class DataDescription:
    """What the figures say about the data: its name (e.g. "egid simulation") and whether it is simulated."""

    label: str
    simulated: bool


def tree_history(model: TreeModel) -> TrainingHistory:
    """The per-round training curves of a boosted-tree model, in the report's form."""
    curves = {
        split: {metric: model.history[f"{split}_{metric}"].to_numpy() for metric in ("logloss", "accuracy")}
        for split in ("train", "validation")
    }
    return TrainingHistory(x_label="boosting round", curves=curves, best=model.best_iteration)


def shap_on_test_events(
    trees: Mapping[str, TreeModel], table: pd.DataFrame, scores: pd.DataFrame, *, seed: int = 0
) -> dict[str, ShapValues]:
    """Exact TreeSHAP of every tree on test events drawn seeded and stratified by class.

    Each model gets :func:`egid.models.importance.shap_rows` events (2000 for the usual LightGBM model, down
    to 500 for deep XGBoost ones, whose exact TreeSHAP costs tens of times more per event); the smaller draws are
    subsets of the larger ones only by chance, each is its own stratified sample.

    ``table`` is the feature table and ``scores`` holds the ``split`` name and ``label`` of each of its rows
    (same row order). The run computes these once: the report draws them and the exported models store their
    mean |SHAP|. The values keep ``table``'s index of the events drawn.
    """
    test = np.flatnonzero(scores["split"].to_numpy() == "test")
    labels = scores["label"].to_numpy()[test]
    shap = {}
    for name, model in trees.items():
        rows = table.iloc[test[stratified_subsample(labels, shap_rows(model), seed=seed)]]
        shap[name] = shap_values(model, rows[list(model.feature_names)])
    return shap


def publish(
    out_dir: Path,
    *,
    title: str,
    scores: pd.DataFrame,
    models: Sequence[str],
    table: pd.DataFrame,
    trees: Mapping[str, TreeModel],
    data: DataDescription,
    config: Mapping[str, Any],
    histories: Mapping[str, Sequence[TrainingHistory]] | None = None,
    thresholds: Mapping[str, Mapping[float, float] | Mapping[str, float]] | None = None,
    shap: Mapping[str, ShapValues] | None = None,
    costs: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Write ``metrics.json``, ``plots/`` and the reports into ``out_dir``; return the metrics.

    Parameters
    ----------
    scores : DataFrame
        ``label``, ``split``, optional ``eta`` and one probability column per model (see
        :func:`egid.evaluation.metrics.compute_metrics`).
    models : sequence of str
        Score columns in display order.
    table : DataFrame
        The feature table of the same events (plus ``cnn_score`` when present), for the feature figures.
    trees : mapping of str to TreeModel
        The boosted-tree models, for importance and SHAP figures.
    histories : mapping, optional
        Training curves per model (several for the CNN's folds); absent for evaluations.
    thresholds : mapping, optional
        Saved working-point thresholds (for data without a validation split).
    shap : mapping of str to ShapValues, optional
        :func:`shap_on_test_events` of ``trees``, when the caller has them already.
    costs : mapping of model -> reference models, optional
        The AUC costs to state (see :func:`egid.evaluation.metrics.compute_metrics`).
    """
    metrics = compute_metrics(scores, models, thresholds=thresholds, costs=costs)
    validate_metrics(metrics)
    with atomic_path(out_dir / METRICS_FILE) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    if shap is None:
        shap = shap_on_test_events(trees, table, scores)
    figures = _draw_all(out_dir / "plots", scores, models, table, trees, shap, metrics, data, histories or {})
    write_report(
        out_dir,
        title=title,
        data=_data_used(data, config),
        metrics=metrics,
        figures=figures,
        config=config,
        notes=notes,
    )
    return metrics


def _draw_all(
    plot_dir: Path,
    scores: pd.DataFrame,
    models: Sequence[str],
    table: pd.DataFrame,
    trees: Mapping[str, TreeModel],
    shap: Mapping[str, ShapValues],
    metrics: Mapping[str, Any],
    data: DataDescription,
    histories: Mapping[str, Sequence[TrainingHistory]],
) -> list[ReportFigure]:
    """Draw and save every figure of the report, each with the section it belongs to and its caption."""
    style: _Style = {"data": data.label, "simulated": data.simulated}
    split = "test"
    test = f"the {split} sample of {data.label}"
    saved: list[ReportFigure] = []

    def keep(name: str, fig: Figure, section: Section, caption: str) -> None:
        # Save and close at once: a run draws dozens of figures.
        png = save_figure(fig, plot_dir, name.replace("+", "_plus_")).png
        saved.append(ReportFigure(name=name, path=png, caption=caption, section=section))

    keep(
        "roc",
        plot_roc(scores, models, split=split, **style),
        "headline",
        f"ROC curves of all models on {test}: electron (signal) efficiency against photon (background) efficiency; "
        "the legend gives each AUC with its DeLong standard deviation.",
    )
    keep(
        "background_rejection",
        plot_background_rejection(scores, models, split=split, **style),
        "performance",
        f"Background rejection 1/ε_B against signal efficiency ε_S of all models on {test}.",
    )
    best, _split = best_model(metrics)
    threshold = _working_point_threshold(metrics, best, _CONFUSION_EFFICIENCY)
    point = f"its {_CONFUSION_EFFICIENCY:.0%} signal-efficiency working point" if threshold is not None else "0.5"
    keep(
        f"confusion_{best}",
        plot_confusion_matrix(scores, best, threshold=0.5 if threshold is None else threshold, split=split, **style),
        "working_points",
        f"Confusion matrix of the best model, {best}, on {test} at {point}: counts and fractions of each true class.",
    )
    for model in models:
        keep(
            f"scores_{model}",
            plot_score_distributions(scores, model, **style),
            "overtraining",
            f"Overtraining check of {model}: its score for electrons and photons on the training (filled) and test "
            f"(line) samples of {data.label}, with the Kolmogorov-Smirnov p-value of train against test per class.",
        )
    for model, runs in histories.items():
        steps = f"{runs[0].x_label}, one line per fold" if len(runs) > 1 else runs[0].x_label
        keep(
            f"training_{model}",
            plot_training_curves(list(runs), model=model, **style),
            "overtraining",
            f"Training curves of {model}: log loss and accuracy per {steps} on the training (solid) and validation "
            f"(dashed) samples of {data.label}.",
        )
    for name, tree in trees.items():
        keep(
            f"importance_{name}",
            plot_importance_bars(tree.importance("gain"), kind="gain", model=name, **style),
            "importance",
            f"Gain importance of the features of {name}: the total gain of the splits on each feature in training "
            f"on {data.label}.",
        )
        shown = shap[name].values.index
        events = table.loc[shown, list(tree.feature_names)]
        labels = scores["label"].to_numpy()[table.index.get_indexer(shown)]
        keep(
            f"shap_{name}",
            plot_shap_summary(shap[name], events, labels=labels, model=name, **style),
            "importance",
            f"SHAP values of {name} on {len(shown)} events of {test}: each point is one event's contribution "
            "(log-odds) of the feature to its electron score, coloured by the feature's value.",
        )
    reference, tree = next(iter(trees.items()))  # the first tree model in display order
    gain = tree.importance("gain").sort_values(ascending=False, kind="stable")
    top = [name for name in gain.index if name != CNN_SCORE][:_TOP_FEATURES]
    xlabels = {name: _axis_label(name) for name in top}
    keep(
        "top_features",
        plot_feature_distributions(table, scores["label"].to_numpy(), top, xlabels=xlabels, **style),
        "features",
        f"Distributions of the {len(top)} features with the highest gain in {reference}, for electrons and photons "
        f"of every split of {data.label}, each normalised to unit area.",
    )
    return saved


def _working_point_threshold(metrics: Mapping[str, Any], model: str, efficiency: float) -> float | None:
    for point in metrics["results"][model]["working_points"]:
        if point["target_signal_efficiency"] == efficiency and point["threshold"] is not None:
            return float(point["threshold"])
    return None


def _data_used(data: DataDescription, config: Mapping[str, Any]) -> str:
    """The data as the report's headline states it: its name, whether simulated, and the input files."""
    kind = "simulated" if data.simulated else "recorded"
    # `egid run` names its inputs in electrons/photons/data (the embedded simulation's files once resolved),
    # `egid evaluate` in inputs; each holds a path, a glob or a list of them.
    files: list[str] = []
    for key in ("electrons", "photons", "data", "inputs"):
        value = config.get(key) or []
        files += [Path(str(item)).name for item in (value if isinstance(value, list) else [value])]
    if not files:
        return f"{data.label} ({kind} events)"
    more = f" and {len(files) - _SHOWN_FILES} more" if len(files) > _SHOWN_FILES else ""
    return f"{data.label} ({kind} events) from {', '.join(files[:_SHOWN_FILES])}{more}"


def _axis_label(name: str) -> str:
    unit = get_feature(name).unit
    return name if unit in ("dimensionless", "count", "flag") else f"{name} [{unit}]"
