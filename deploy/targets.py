"""The deploy targets of a tree model: conifer firmware (with its precision scan) and compiled C, each checked.

Each target writes its project for one model, checks the deployed code against the native booster on a labelled
feature table and returns a plain JSON-ready section of the deploy report (:func:`egid.deploy.report.write_report`).
Scores are electron probabilities; conifer's log-odds go through the sigmoid first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from egid.deploy import compiled, firmware
from egid.detector import InputError, atomic_path, stratified_subsample
from egid.features.extract import LABEL_COLUMN
from egid.models.export import onnx_path
from egid.models.trees import TreeModel, feature_matrix

__all__ = (
    "DEFAULT_HLS_WIDTH",
    "DEFAULT_SCAN_WIDTHS",
    "TARGETS",
    "compiled_export",
    "conifer_export",
    "deploy_model",
)

logger = logging.getLogger(__name__)

TARGETS = ("conifer", "c")
"""The deploy targets: conifer firmware (an HLS project and its emulation) and compiled C (tl2cgen)."""
DEFAULT_SCAN_WIDTHS = (8, 10, 12, 14, 16, 18, 24)
"""Total ``ap_fixed`` widths (bits) of the precision scan."""
DEFAULT_HLS_WIDTH = 18
"""Total width of the HLS project's ``ap_fixed`` when no precision is given (conifer's default is 18 bits)."""
INPUT_SCALING = "input_scaling.json"
"""File of the HLS project (``hls/``) that lists each input's power-of-two scaling."""
TESTBENCH_DATA = "tb_data"
"""Folder of the HLS project holding the C-simulation inputs and the expected log-odds (see ``conifer_export``)."""


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores))


def _sigmoid(logodds: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-logodds)), dtype=np.float64)


def conifer_export(
    model: TreeModel,
    ensemble: firmware.Ensemble,
    X: pd.DataFrame,
    labels: np.ndarray,
    out: Path,
    *,
    widths: Sequence[int] = DEFAULT_SCAN_WIDTHS,
    precision: str | None = None,
    input_scaling: bool = True,
) -> dict[str, Any]:
    """Write the HLS project, build the emulations and scan the ``ap_fixed`` width; return the report section.

    Parameters
    ----------
    model : TreeModel
        The native booster, the reference.
    ensemble : firmware.Ensemble
        Its conifer form (:func:`firmware.ensemble_from_xgboost` or :func:`firmware.ensemble_from_onnx`).
    X, labels : DataFrame, ndarray
        Events with every feature defined (conifer routes no NaN) and their labels (1 electron).
    out : Path
        Receives ``hls/`` (the HLS project, with ``input_scaling.json`` when the inputs are scaled) and
        ``emulation/<precision>/`` (each compiled emulation).
    widths : sequence of int
        Total widths of the scan; the integer bits are :func:`firmware.integer_bits` of the (scaled) ensemble.
    precision : str, optional
        The HLS project's precision; default ``ap_fixed<18, integer bits>``.
    input_scaling : bool, default=True
        Scale each feature by its power of two (:func:`firmware.scale_inputs`, chosen for the HLS project's
        width): the HLS project and every emulation then take input ``i`` times ``2**s_i``, and the emulations are
        fed the events scaled so. The native booster, the reference, always reads the raw events.

    Raises
    ------
    InputError
        With input scaling, if ``precision`` has fewer integer bits than the scaled ensemble needs or no fractional
        bit beyond them.
    """
    values = feature_matrix(X, model.feature_names)
    native = model.predict(X)
    scaling = None
    if input_scaling:
        ensemble, scaling = _scale(ensemble, precision)
        values = scaling.apply(values)
    integer = firmware.integer_bits(ensemble)
    hls_precision = precision or firmware.fixed_point(DEFAULT_HLS_WIDTH, integer)
    firmware.write_hls_project(ensemble, hls_precision, out / "hls")
    if scaling is not None:
        _write_input_scaling(out / "hls" / INPUT_SCALING, scaling, model.feature_names, hls_precision)
    native_logodds = np.log(native) - np.log1p(-native)
    points: list[tuple[int | None, str]] = [(None, "double")]
    points += [(w, firmware.fixed_point(w, integer)) for w in widths if w > integer]
    if hls_precision not in {p for _, p in points}:  # the project's own precision is always scanned
        bits = firmware.fixed_point_bits(hls_precision)
        points.append((None if bits is None else bits[0], hls_precision))
    rows = []
    for width, emulated_precision in points:
        emulation = firmware.build_emulation(
            ensemble, emulated_precision, out / "emulation" / _folder(emulated_precision)
        )
        logodds = emulation.decision_function(values)
        if emulated_precision == hls_precision:
            _write_testbench_data(out / "hls" / TESTBENCH_DATA, values, logodds)
        probability = _sigmoid(logodds)
        rows.append(
            {
                "precision": emulated_precision,
                "width": width,
                "auc": _auc(labels, probability),
                "max_abs_probability_difference": float(np.max(np.abs(probability - native))),
                "max_abs_logodds_difference": float(np.max(np.abs(logodds - native_logodds))),
            }
        )
        logger.info("%s conifer %s: AUC %.5f", model.kind, emulated_precision, rows[-1]["auc"])
    return {
        "target": "conifer",
        "model": model.kind,
        "n_trees": int(ensemble["n_trees"]),
        "max_depth": int(ensemble["max_depth"]),
        "splitting_convention": ensemble["splitting_convention"],
        "events": len(values),
        "native_auc": _auc(labels, native),
        "integer_bits": integer,
        "hls_precision": hls_precision,
        "input_scaling": None if scaling is None else _scaling_section(scaling, model.feature_names),
        "fpga_part": firmware.DEFAULT_FPGA_PART,
        "clock_period_ns": firmware.DEFAULT_CLOCK_PERIOD_NS,
        "estimates": firmware.performance_estimates(ensemble),
        "estimates_source": "conifer 1.11 performance models (conifer.utils.performance, BDTs fitted to HLS "
        "synthesis results; experimental), not a synthesis of this model",
        "scan": rows,
    }


def _folder(precision: str) -> str:
    """The emulation folder of ``precision``: ``double``, ``float`` or ``ap_fixed_<W>_<I>``."""
    bits = firmware.fixed_point_bits(precision)
    return precision if bits is None else f"ap_fixed_{bits[0]}_{bits[1]}"


def _write_testbench_data(folder: Path, values: np.ndarray, logodds: np.ndarray) -> None:
    """The HLS project's C-simulation inputs and what they should give.

    ``tb_input_features.dat`` (read by conifer's testbench ``egid_bdt_test.cpp``): one event per line, its inputs
    as the firmware takes them (scaled by their powers of two when the inputs are scaled), in feature order.
    ``egid_expected_logodds.dat``: conifer's C++ emulation of the project's precision on those events, the
    decision function (log-odds) that the C simulation should reproduce, one per line.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in (("tb_input_features.dat", values), ("egid_expected_logodds.dat", logodds[:, None])):
        with atomic_path(folder / name) as tmp:
            np.savetxt(tmp, table, fmt="%.17g", delimiter=" ")


def _scale(ensemble: firmware.Ensemble, precision: str | None) -> tuple[firmware.Ensemble, firmware.InputScaling]:
    """:func:`firmware.scale_inputs` for the HLS project's width, checking that ``precision`` can hold the result."""
    bits = None if precision is None else firmware.fixed_point_bits(precision)
    integer = firmware.score_integer_bits(ensemble)
    if bits is not None and not (integer <= bits[1] and integer < bits[0]):
        msg = (
            f"precision {precision}: the input-scaled thresholds and scores need {integer} integer bits and a width "
            f"above {integer}; give more bits or turn the input scaling off"
        )
        raise InputError(msg)
    return firmware.scale_inputs(ensemble, width=DEFAULT_HLS_WIDTH if bits is None else bits[0])


def _scaling_section(scaling: firmware.InputScaling, names: Sequence[str]) -> dict[str, Any]:
    return {
        "file": f"hls/{INPUT_SCALING}",
        "integer_bits": scaling.integer_bits,
        "width": scaling.width,
        "shifts": dict(zip(names, scaling.shifts, strict=True)),
    }


def _write_input_scaling(path: Path, scaling: firmware.InputScaling, names: Sequence[str], hls_precision: str) -> None:
    """The firmware's contract with its upstream: which power of two multiplies each input, and where it saturates."""
    bits = firmware.fixed_point_bits(hls_precision)
    top = scaling.integer_bits if bits is None else bits[1]
    document = {
        "precision": hls_precision,
        "rule": "firmware input i = x_i * 2**shift_i (x_i in the feature's own units), converted to the input type "
        "with rounding and saturation; |x_i| at or beyond saturates_beyond clips to the end of the range",
        "integer_bits": scaling.integer_bits,
        "headroom_width": scaling.width,
        "inputs": [
            {"index": i, "feature": name, "shift": shift, "saturates_beyond": 2.0 ** (top - 1 - shift)}
            for i, (name, shift) in enumerate(zip(names, scaling.shifts, strict=True))
        ],
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")


def compiled_export(model: TreeModel, X: pd.DataFrame, out: Path) -> dict[str, Any]:
    """Write ``model``'s C source (``src/``) and shared library (``<kind>.so``) and check it; the report section."""
    compiled.write_c_source(model, out / "src")
    library = compiled.compile_tree_model(model, out / f"{model.kind}.so")
    difference = np.abs(library.predict(X) - model.predict(X))
    return {
        "target": "c",
        "model": model.kind,
        "library": f"{model.kind}.so",
        "events": len(X),
        "events_with_undefined_features": int(np.isnan(feature_matrix(X, model.feature_names)).any(axis=1).sum()),
        "max_abs_probability_difference": float(np.max(difference)) if len(difference) else 0.0,
    }


def deploy_model(
    model: TreeModel,
    model_set: Path,
    table: pd.DataFrame,
    out: Path,
    *,
    target: str,
    max_events: int,
    widths: Sequence[int] = DEFAULT_SCAN_WIDTHS,
    precision: str | None = None,
    input_scaling: bool = True,
) -> dict[str, Any]:
    """Write and check ``target`` for ``model`` (of the model set folder ``model_set``); return its report section.

    At most ``max_events`` events of the labelled feature ``table`` are drawn stratified by class (seed 0). conifer
    routes no NaN, so its events are drawn among those with every feature defined, and the section says how many
    were left out. conifer reads an XGBoost booster directly and a LightGBM one through its ONNX graph.
    """
    sample = table.iloc[stratified_subsample(table[LABEL_COLUMN].to_numpy(), max_events, seed=0)]
    if target == "c":
        return compiled_export(model, sample[list(model.feature_names)], out)
    defined = table[table[list(model.feature_names)].notna().all(axis=1)]
    events = defined.iloc[stratified_subsample(defined[LABEL_COLUMN].to_numpy(), max_events, seed=0)]
    if model.kind == "xgboost":
        ensemble = firmware.ensemble_from_xgboost(model.booster)
    else:
        import onnx

        ensemble = firmware.ensemble_from_onnx(onnx.load(str(onnx_path(model_set, model.kind))))
    section = conifer_export(
        model,
        ensemble,
        events[list(model.feature_names)],
        events[LABEL_COLUMN].to_numpy(),
        out,
        widths=widths,
        precision=precision,
        input_scaling=input_scaling,
    )
    section["events_with_undefined_features_excluded"] = len(table) - len(defined)
    return section
