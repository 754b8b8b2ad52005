"""Deployment exports of a tree model: conifer firmware (with its precision scan) and compiled C, checked and reported.

Each export checks the deployed code against the native booster on a labelled feature table and returns a plain
JSON-ready section of the export report (:func:`write_report`: ``report.json``, ``report.md`` and, for conifer,
``precision_scan.png``). Scores are electron probabilities; conifer's log-odds go through the sigmoid first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score

from egid.detector import InputError, atomic_path
from egid.evaluation.precision_plots import plot_precision_scan
from egid.models import compiled, firmware
from egid.models.trees import TreeModel, feature_matrix

__all__ = (
    "DEFAULT_HLS_WIDTH",
    "DEFAULT_SCAN_WIDTHS",
    "compiled_export",
    "conifer_export",
    "stratified_sample",
    "write_report",
)

logger = logging.getLogger(__name__)

DEFAULT_SCAN_WIDTHS = (8, 10, 12, 14, 16, 18, 24)
"""Total ``ap_fixed`` widths (bits) of the precision scan."""
DEFAULT_HLS_WIDTH = 18
"""Total width of the HLS project's ``ap_fixed`` when no precision is given (conifer's default is 18 bits)."""
REPORT_JSON, REPORT_MD, SCAN_PLOT = "report.json", "report.md", "precision_scan.png"
INPUT_SCALING = "input_scaling.json"
"""File of the HLS project (``hls/``) that lists each input's power-of-two scaling."""
TESTBENCH_DATA = "tb_data"
"""Folder of the HLS project holding the C-simulation inputs and the expected log-odds (see ``conifer_export``)."""


def stratified_sample(labels: npt.ArrayLike, n: int, *, seed: int) -> npt.NDArray[np.intp]:
    """Sorted indices of at most ``n`` rows drawn without replacement, each class in its share of ``labels``."""
    y = np.asarray(labels)
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = []
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        picked.append(rng.choice(rows, size=round(n * len(rows) / len(y)), replace=False))
    return np.sort(np.concatenate(picked))


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


def _markdown(sections: Sequence[Mapping[str, Any]], header: Mapping[str, Any]) -> str:
    lines = [f"# egid deployment export of {header['model_dir']}", "", f"Events: {header['events_note']}", ""]
    for section in sections:
        lines += [f"## {section['model']}: {section['target']}", ""]
        if section["target"] == "c":
            lines += [
                f"Shared library `{section['model']}/{section['library']}` (tl2cgen, gcc); max |p_C - p_native| = "
                f"{section['max_abs_probability_difference']:.3g} on {section['events']} events "
                f"({section['events_with_undefined_features']} with an undefined feature).",
                "",
            ]
            continue
        estimates = section["estimates"]
        lines += [
            f"{section['n_trees']} trees of depth <= {section['max_depth']}, "
            f"split `x {section['splitting_convention']} t`; "
            f"HLS project in `{section['model']}/hls` at `{section['hls_precision']}`, part {section['fpga_part']}, "
            f"{section['clock_period_ns']} ns clock.",
            "",
            _scaling_line(section),
            "",
            f"Estimated latency {estimates['latency']} clock cycles "
            f"({estimates['latency'] * section['clock_period_ns']:.0f} ns), "
            f"{estimates['lut']} LUT, {estimates['ff']} FF. "
            f"Source: {section['estimates_source']}.",
            "",
            _events_line(section),
            "",
            "| precision | AUC | max abs dp | max abs d(log-odds) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{row['precision']}` | {row['auc']:.5f} | {row['max_abs_probability_difference']:.3g} | "
            f"{row['max_abs_logodds_difference']:.3g} |"
            for row in section["scan"]
        ]
        lines.append("")
    return "\n".join(lines)


def _events_line(section: Mapping[str, Any]) -> str:
    """The events the scan used: conifer routes no NaN, so events with an undefined feature are left out, and the
    AUC is that of the remaining subset (which can differ much from the model's AUC on all events)."""
    line = f"Native AUC {section['native_auc']:.5f} on {section['events']} events with every feature defined"
    excluded = section.get("events_with_undefined_features_excluded")
    if not excluded:
        return line + "."
    return (
        f"{line}; {excluded} events of the table have an undefined feature and are left out (conifer routes no "
        "missing value), so this AUC is of a selected subset, not the model's on all events."
    )


def _scaling_line(section: Mapping[str, Any]) -> str:
    scaling = section["input_scaling"]
    if scaling is None:
        return (
            f"Inputs not scaled: one `ap_fixed` type for inputs, thresholds and scores, {section['integer_bits']} "
            "integer bits fitted to the largest threshold or score bound."
        )
    shifts = ", ".join(f"{name} 2^{shift}" for name, shift in scaling["shifts"].items())
    return (
        f"Inputs scaled by powers of two: the firmware takes input i as `x_i * 2**s_i` "
        f"(`{section['model']}/{scaling['file']}`), each feature's thresholds scaled into the "
        f"{scaling['integer_bits']} integer bits the score needs: {shifts}."
    )


def write_report(
    out: Path, sections: Sequence[Mapping[str, Any]], header: Mapping[str, Any], *, data: str, simulated: bool
) -> list[Path]:
    """Write ``report.json``, ``report.md`` and, when a conifer section has a scan, ``precision_scan.png``."""
    document = {**header, "exports": list(sections)}
    written = []
    with atomic_path(out / REPORT_JSON) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
    with atomic_path(out / REPORT_MD) as tmp:
        tmp.write_text(_markdown(sections, header))
    written += [out / REPORT_JSON, out / REPORT_MD]
    scans = {
        s["model"]: pd.DataFrame([row for row in s["scan"] if row["width"] is not None])
        for s in sections
        if s["target"] == "conifer"
    }
    if scans:
        figure = plot_precision_scan(
            scans,
            {s["model"]: s["native_auc"] for s in sections if s["target"] == "conifer"},
            data=data,
            simulated=simulated,
        )
        with atomic_path(out / SCAN_PLOT) as tmp:
            figure.savefig(tmp, format="png", dpi=110)
        plt.close(figure)
        written.append(out / SCAN_PLOT)
    return written
