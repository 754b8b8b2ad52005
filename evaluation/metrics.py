"""How well each model separates electrons (signal, label 1) from photons (background, label 0), as a JSON-able dict.

From a table of per-event scores this computes, per model and per split: the ROC AUC with a DeLong confidence
interval (:mod:`egid.evaluation.delong`), the accuracy at score 0.5, working points at fixed signal efficiency, the
same AUC/accuracy in bins of |eta|, paired DeLong tests between models, and the AUC cost of a constrained model
(the trigger-sized one) against the best of its reference models. The result follows
:data:`egid.evaluation.metrics_schema.METRICS_SCHEMA`; :func:`format_summary` renders the terminal table.

Definitions (an event is selected as an electron when its score >= the threshold t):

- signal efficiency ``eps_S(t) = N_e(score >= t) / N_e``, background efficiency ``eps_B(t) = N_gamma(score >= t) /
  N_gamma``, background rejection ``1 / eps_B``;
- accuracy ``= (N_e(score >= 0.5) + N_gamma(score < 0.5)) / N``.

Working-point thresholds are chosen on the validation split and reported on the test split, so the test numbers
are unbiased. Without a validation split (evaluating an unseen file) they come from the ``thresholds`` argument
(the ones saved at training), and failing that from the test split itself, which the output flags.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

from egid.detector.schema import ELECTRON, PHOTON, FloatArray
from egid.evaluation.delong import auc_interval, delong_compare, delong_covariance
from egid.evaluation.metrics_schema import METRICS_SCHEMA, SCHEMA_VERSION, SPLITS, validate_metrics

__all__ = (
    "ACCURACY_THRESHOLD",
    "CONFIDENCE_LEVEL",
    "METRICS_SCHEMA",
    "SPLITS",
    "check_scores",
    "compute_metrics",
    "format_summary",
    "validate_metrics",
    "working_point_threshold",
    "working_point_thresholds",
)

ACCURACY_THRESHOLD: Final = 0.5
"""Score at and above which an event counts as an electron for the accuracy."""
CONFIDENCE_LEVEL: Final = 0.95
"""Coverage of the AUC confidence intervals."""
ThresholdSource = Literal["validation", "given", "test"]


def check_scores(scores: pd.DataFrame, models: Sequence[str]) -> None:
    """Raise ValueError unless ``scores`` holds ``label``, ``split`` and one probability column per model.

    Labels must be 1.0 (electron) or 0.0 (photon), splits among :data:`SPLITS`, and scores finite in [0, 1].
    """
    missing = [name for name in ("label", "split", *models) if name not in scores.columns]
    if missing:
        msg = f"Expected score columns {missing} in the scores table; found columns {list(scores.columns)}."
        raise ValueError(msg)
    if not models:
        msg = "Expected at least one model name; got none."
        raise ValueError(msg)
    labels = scores["label"].to_numpy(dtype=np.float64)
    if not np.all((labels == ELECTRON) | (labels == PHOTON)):
        others = sorted(set(labels.tolist()) - {ELECTRON, PHOTON})[:5]
        msg = f"Expected labels {ELECTRON} (electron) or {PHOTON} (photon) in column 'label'; found {others}."
        raise ValueError(msg)
    unknown = sorted(set(scores["split"].unique()) - set(SPLITS))
    if unknown:
        msg = f"Expected splits among {SPLITS}; found {unknown}."
        raise ValueError(msg)
    for model in models:
        values = scores[model].to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values >= 0.0) & (values <= 1.0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            msg = (
                f"Expected probabilities in [0, 1] in column {model!r}; "
                f"{int(bad.sum())} are not (first at row {first}: {values[first]})."
            )
            raise ValueError(msg)


def working_point_threshold(labels: npt.ArrayLike, scores: npt.ArrayLike, *, signal_efficiency: float) -> float | None:
    """Return the highest threshold t with ``eps_S(t) >= signal_efficiency`` (selection: score >= t).

    With the signal scores sorted in decreasing order, t is the ``ceil(eps * N_e)``-th of them, so the signal
    efficiency on these events is the target rounded up to the next whole event (ties at t can only add more).

    Returns
    -------
    float or None
        None when there is no signal event.
    """
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    signal = np.sort(s[y == ELECTRON])[::-1]
    if signal.size == 0:
        return None
    # The tolerance keeps a product such as 0.7 * 10 = 7.000000000000001 from rounding up a whole event.
    n_pass = min(max(math.ceil(signal_efficiency * signal.size - 1e-9), 1), signal.size)
    return float(signal[n_pass - 1])


def compute_metrics(
    scores: pd.DataFrame,
    models: Sequence[str],
    *,
    signal_efficiencies: Sequence[float] = (0.8, 0.9),
    eta_bins: Sequence[float] = (0.0, 0.4, 0.8, 1.2),
    thresholds: Mapping[str, Mapping[float, float] | Mapping[str, float]] | None = None,
    costs: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Return the metrics of every model on every split present, as a dict following :data:`METRICS_SCHEMA`.

    Parameters
    ----------
    scores : DataFrame
        One row per event: ``label`` (1.0 electron, 0.0 photon), ``split`` (among :data:`SPLITS`), optionally
        ``eta``, and one column per model with its electron probability.
    models : sequence of str
        The score columns, in display order.
    signal_efficiencies : sequence of float
        Target signal efficiencies of the working points, each in (0, 1].
    eta_bins : sequence of float
        Increasing |eta| bin edges; bin i holds ``edges[i] <= |eta| < edges[i+1]`` (the last bin includes its
        upper edge); events outside every bin, or with NaN eta, are in no bin. Ignored without an ``eta`` column.
    thresholds : mapping of model -> (target efficiency -> threshold), optional
        Saved thresholds (see :func:`working_point_thresholds`); keys may be strings such as ``"0.8"`` (as JSON
        gives them back). They take precedence; otherwise a working point's threshold is chosen on the
        validation split, or on the test split when there is no validation split
        (``threshold_source == "test"`` and ``thresholds_from_test`` true: optimistic numbers).
    costs : mapping of model -> sequence of reference models, optional
        For each model (say the trigger-sized one), the models whose best it is measured against: on the events
        of the paired comparisons (test), the reference is the candidate with the highest AUC, and the cost is
        ``AUC_reference - AUC_model`` with the standard deviation and p-value of that pair's DeLong comparison.
        Choosing the reference on those events makes the cost the largest over the candidates.

    Returns
    -------
    dict
        Plain Python types only: no numpy scalars, ``None`` for undefined values. A split or bin holding one
        class only has ``auc`` None (accuracy stays defined); the DeLong interval needs two events of each
        class, else ``auc_std``/``auc_ci`` are None; an empty bin has ``accuracy`` None. Working points are
        evaluated on the test split and are an empty list without one. Deterministic: no random numbers.

    Raises
    ------
    ValueError
        If the scores table is malformed (:func:`check_scores`), the efficiencies or bin edges are invalid, or a
        model of ``costs`` or one of its references is not among ``models`` (or is its own reference).
    """
    check_scores(scores, models)
    _check_costs(costs or {}, models)
    efficiencies = [float(e) for e in signal_efficiencies]
    if not all(0.0 < e <= 1.0 for e in efficiencies):
        msg = f"Expected signal efficiencies in (0, 1]; got {efficiencies}."
        raise ValueError(msg)
    edges = [float(e) for e in eta_bins]
    if len(edges) < 2 or edges[0] < 0.0 or np.any(np.diff(edges) <= 0.0):
        msg = f"Expected at least two increasing, non-negative |eta| bin edges; got {edges}."
        raise ValueError(msg)
    has_eta = "eta" in scores.columns
    given = {model: {float(k): float(v) for k, v in values.items()} for model, values in (thresholds or {}).items()}

    labels = scores["label"].to_numpy(dtype=np.float64)
    matrix = scores[list(models)].to_numpy(dtype=np.float64).T  # (k, N)
    split_of = scores["split"].to_numpy()
    present = [split for split in SPLITS if np.any(split_of == split)]
    masks = {split: split_of == split for split in present}
    abs_eta = np.abs(scores["eta"].to_numpy(dtype=np.float64)) if has_eta else None

    results: dict[str, dict[str, Any]] = {
        model: {"splits": {}, "working_points": [], "eta_bins": {}} for model in models
    }
    for split in present:
        for model, sample in zip(models, _sample_metrics(labels[masks[split]], matrix[:, masks[split]]), strict=True):
            results[model]["splits"][split] = sample
        if abs_eta is not None:
            for b, (low, high) in enumerate(itertools.pairwise(edges)):
                upper = abs_eta <= high if b == len(edges) - 2 else abs_eta < high
                in_bin = masks[split] & (abs_eta >= low) & upper
                for model, sample in zip(models, _sample_metrics(labels[in_bin], matrix[:, in_bin]), strict=True):
                    entry = {"abs_eta_low": low, "abs_eta_high": high, **sample}
                    results[model]["eta_bins"].setdefault(split, []).append(entry)

    from_test = False
    if "test" in masks:
        test = masks["test"]
        for k, model in enumerate(models):
            for efficiency in efficiencies:
                point = _working_point(labels, matrix[k], masks, test, efficiency, given.get(model, {}).get(efficiency))
                from_test |= point["threshold_source"] == "test"
                results[model]["working_points"].append(point)

    comparisons = _comparisons(labels, matrix, models, masks, present)
    return {
        "schema_version": SCHEMA_VERSION,
        "models": list(models),
        "splits": present,
        "confidence_level": CONFIDENCE_LEVEL,
        "accuracy_threshold": ACCURACY_THRESHOLD,
        "signal_efficiencies": efficiencies,
        "eta_bins": edges if has_eta else None,
        "thresholds_from_test": from_test,
        "results": results,
        "comparisons": comparisons,
        "costs": _costs(costs or {}, results, comparisons),
    }


def working_point_thresholds(metrics: Mapping[str, Any]) -> dict[str, dict[float, float]]:
    """Return ``{model: {target signal efficiency: threshold}}`` from a metrics dict, to save with the models.

    Pass the result (or its JSON round trip) as ``thresholds`` to :func:`compute_metrics` when evaluating a file
    without a validation split. Working points without a threshold are left out.
    """
    return {
        model: {
            float(point["target_signal_efficiency"]): float(point["threshold"])
            for point in result["working_points"]
            if point["threshold"] is not None
        }
        for model, result in metrics["results"].items()
    }


def format_summary(metrics: Mapping[str, Any]) -> str:
    """Render AUC (with its confidence interval on test) and accuracy per model and split as a plain-text table."""
    splits = list(metrics["splits"])
    level = round(100 * metrics["confidence_level"])
    header = ["model"]
    header += [f"AUC {split}" + (f" ({level}% CI)" if split == "test" else "") for split in splits]
    header += [f"accuracy {split}" for split in splits]
    rows = [header]
    for model in metrics["models"]:
        samples = metrics["results"][model]["splits"]
        row = [model]
        for split in splits:
            sample = samples[split]
            text = _fmt(sample["auc"])
            if split == "test" and sample["auc_ci"] is not None:
                text += f" [{sample['auc_ci'][0]:.4f}, {sample['auc_ci'][1]:.4f}]"
            row.append(text)
        row += [_fmt(samples[split]["accuracy"]) for split in splits]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))])
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines += [
        f"{cost['model']}: AUC cost {cost['auc_cost']:.4f} +- {cost['std']:.4f} against {cost['reference']} "
        f"on {cost['split']} (paired DeLong p = {_fmt_p(cost['p_value'])})"
        for cost in metrics["costs"]
    ]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _sample_metrics(labels: FloatArray, matrix: FloatArray) -> list[dict[str, Any]]:
    """AUC, DeLong interval and accuracy of each row of ``matrix`` (k, n) on events with ``labels`` (n,)."""
    n_signal = int(np.sum(labels == ELECTRON))
    n_background = int(labels.size - n_signal)
    both = n_signal > 0 and n_background > 0
    stds: list[float | None] = [None] * matrix.shape[0]
    if n_signal >= 2 and n_background >= 2:
        _, covariance = delong_covariance(labels, matrix)
        stds = [float(np.sqrt(max(c, 0.0))) for c in np.diag(covariance)]
    samples = []
    for row, std in zip(matrix, stds, strict=True):
        selected = (row >= ACCURACY_THRESHOLD).astype(np.float64)
        auc = float(roc_auc_score(labels, row)) if both else None
        interval = auc_interval(auc, std, confidence=CONFIDENCE_LEVEL) if auc is not None and std is not None else None
        samples.append(
            {
                "n_events": int(labels.size),
                "n_signal": n_signal,
                "n_background": n_background,
                "auc": auc,
                "auc_std": std,
                "auc_ci": None if interval is None else [interval.low, interval.high],
                "accuracy": float(accuracy_score(labels, selected)) if labels.size else None,
            }
        )
    return samples


def _working_point(
    labels: FloatArray,
    score: FloatArray,
    masks: Mapping[str, npt.NDArray[np.bool_]],
    test: npt.NDArray[np.bool_],
    efficiency: float,
    given: float | None,
) -> dict[str, Any]:
    """One working point: its threshold (given, else chosen on validation, else on test) evaluated on test."""
    source: ThresholdSource
    chosen: float | None = None
    threshold: float | None
    if given is not None:
        source, threshold = "given", given
    else:
        source = "validation" if "validation" in masks else "test"
        choose = masks[source]
        threshold = working_point_threshold(labels[choose], score[choose], signal_efficiency=efficiency)
        if threshold is not None:
            chosen = _pass_fraction(score[choose & (labels == ELECTRON)], threshold)
    y, s = labels[test], score[test]
    n_signal, n_background = int(np.sum(y == ELECTRON)), int(np.sum(y == PHOTON))
    n_signal_pass = n_background_pass = 0
    if threshold is not None:
        n_signal_pass = int(np.sum(s[y == ELECTRON] >= threshold))
        n_background_pass = int(np.sum(s[y == PHOTON] >= threshold))
    defined = threshold is not None
    background_efficiency = n_background_pass / n_background if defined and n_background else None
    return {
        "target_signal_efficiency": efficiency,
        "threshold": threshold,
        "threshold_source": source,
        "chosen_signal_efficiency": chosen,
        "evaluated_on": "test",
        "n_signal": n_signal,
        "n_background": n_background,
        "n_signal_pass": n_signal_pass,
        "n_background_pass": n_background_pass,
        "signal_efficiency": n_signal_pass / n_signal if defined and n_signal else None,
        "background_efficiency": background_efficiency,
        "background_rejection": 1.0 / background_efficiency if background_efficiency else None,
    }


def _pass_fraction(values: FloatArray, threshold: float) -> float | None:
    return float(np.mean(values >= threshold)) if values.size else None


def _comparisons(
    labels: FloatArray,
    matrix: FloatArray,
    models: Sequence[str],
    masks: Mapping[str, npt.NDArray[np.bool_]],
    present: Sequence[str],
) -> list[dict[str, Any]]:
    """Paired DeLong tests of every pair of models (in display order) on test, or the last split present."""
    if len(models) < 2 or not present:
        return []
    split = "test" if "test" in masks else present[-1]
    y = labels[masks[split]]
    if np.sum(y == ELECTRON) < 2 or np.sum(y == PHOTON) < 2:
        return []
    aucs, covariance = delong_covariance(y, matrix[:, masks[split]])
    comparisons = []
    for a in range(len(models)):
        for b in range(a + 1, len(models)):
            test = delong_compare(aucs, covariance, a, b)
            comparisons.append(
                {
                    "split": split,
                    "model_a": models[a],
                    "model_b": models[b],
                    "auc_difference": test.difference,
                    "std": test.std,
                    "p_value": _finite_or_none(test.p_value),
                }
            )
    return comparisons


def _check_costs(costs: Mapping[str, Sequence[str]], models: Sequence[str]) -> None:
    for model, candidates in costs.items():
        unknown = [name for name in (model, *candidates) if name not in models]
        if unknown or not candidates or model in candidates:
            msg = (
                f"Expected a cost of a model against at least one other model, all among {list(models)}; "
                f"got {model!r} against {list(candidates)}."
            )
            raise ValueError(msg)


def _costs(
    costs: Mapping[str, Sequence[str]], results: Mapping[str, Any], comparisons: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each model's cost against the best of its candidates, read from the paired comparisons (none without)."""
    if not comparisons:
        return []
    split = comparisons[0]["split"]

    def auc(name: str) -> float:
        return float(results[name]["splits"][split]["auc"])

    out = []
    for model, candidates in costs.items():
        reference = max(candidates, key=auc)
        pair = next(c for c in comparisons if {c["model_a"], c["model_b"]} == {model, reference})
        sign = 1.0 if pair["model_a"] == reference else -1.0
        out.append(
            {
                "split": split,
                "model": model,
                "reference": reference,
                "candidates": list(candidates),
                "auc": auc(model),
                "reference_auc": auc(reference),
                "auc_cost": sign * pair["auc_difference"],
                "std": pair["std"],
                "p_value": pair["p_value"],
            }
        )
    return out
