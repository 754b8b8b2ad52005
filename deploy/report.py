"""The deploy report: ``report.json`` (every target's section), ``report.md`` for people and, for conifer, the
precision scan figure ``precision_scan.png``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from egid.detector import atomic_path
from egid.evaluation.precision_plots import plot_precision_scan

__all__ = ("REPORT_JSON", "REPORT_MD", "SCAN_PLOT", "write_report")

REPORT_JSON, REPORT_MD, SCAN_PLOT = "report.json", "report.md", "precision_scan.png"


def _markdown(sections: Sequence[Mapping[str, Any]], header: Mapping[str, Any]) -> str:
    lines = [f"# egid deployment of {header['run_dir']}", "", f"Events: {header['events_note']}", ""]
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
