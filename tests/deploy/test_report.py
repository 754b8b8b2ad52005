"""The deploy report: report.json holds the header and every section as given, report.md says the same for people
(one paragraph per target, the precision scan as a table), and a conifer scan is drawn without its double row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from egid.deploy import report
from egid.deploy.report import REPORT_JSON, REPORT_MD, SCAN_PLOT, write_report

HEADER = {"run_dir": "runs/r1/models/features_only", "table": "t.parquet", "events_note": "at most 4000 of 5000"}

C_SECTION: dict[str, Any] = {
    "target": "c",
    "model": "lightgbm",
    "library": "lightgbm.so",
    "events": 4000,
    "events_with_undefined_features": 381,
    "max_abs_probability_difference": 1.234567e-07,
}


def conifer_section(*, scaled: bool, excluded: int | None) -> dict[str, Any]:
    section: dict[str, Any] = {
        "target": "conifer",
        "model": "xgboost",
        "n_trees": 20,
        "max_depth": 3,
        "splitting_convention": "<",
        "events": 3600,
        "native_auc": 0.912345678,
        "integer_bits": 4,
        "hls_precision": "ap_fixed<18,4>",
        "input_scaling": {
            "file": "hls/input_scaling.json",
            "integer_bits": 4,
            "width": 18,
            "shifts": {"r9": 2, "eta": -1},
        }
        if scaled
        else None,
        "fpga_part": "xcvu9p-flgb2104-2L-e",
        "clock_period_ns": 5.0,
        "estimates": {"latency": 7, "lut": 1234, "ff": 567},
        "estimates_source": "conifer performance models",
        "scan": [
            {
                "precision": "double",
                "width": None,
                "auc": 0.912345678,
                "max_abs_probability_difference": 2.5e-08,
                "max_abs_logodds_difference": 1e-07,
            },
            {
                "precision": "ap_fixed<10,4>",
                "width": 10,
                "auc": 0.9012,
                "max_abs_probability_difference": 0.0421,
                "max_abs_logodds_difference": 0.1875,
            },
            {
                "precision": "ap_fixed<18,4>",
                "width": 18,
                "auc": 0.91234,
                "max_abs_probability_difference": 0.000123456,
                "max_abs_logodds_difference": 0.00048828125,
            },
        ],
    }
    if excluded is not None:
        section["events_with_undefined_features_excluded"] = excluded
    return section


def test_a_c_section_is_one_paragraph_and_no_plot_is_drawn(tmp_path: Path) -> None:
    written = write_report(tmp_path, [C_SECTION], HEADER, data="egid simulation", simulated=True)
    assert written == [tmp_path / REPORT_JSON, tmp_path / REPORT_MD]
    assert (tmp_path / REPORT_MD).read_text().splitlines() == [
        "# egid deployment of runs/r1/models/features_only",
        "",
        "Events: at most 4000 of 5000",
        "",
        "## lightgbm: c",
        "",
        "Shared library `lightgbm/lightgbm.so` (tl2cgen, gcc); max |p_C - p_native| = 1.23e-07 on 4000 events "
        "(381 with an undefined feature).",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPORT_JSON, REPORT_MD]


def test_report_json_is_the_header_and_the_sections_as_given(tmp_path: Path) -> None:
    sections = [C_SECTION, conifer_section(scaled=True, excluded=12)]
    write_report(tmp_path, sections, HEADER, data="egid simulation", simulated=True)
    document = json.loads((tmp_path / REPORT_JSON).read_text())
    assert document == {**HEADER, "exports": sections}
    assert list(document) == [*HEADER, "exports"]


def test_a_conifer_section_gives_the_project_the_estimates_the_events_and_the_scan(tmp_path: Path) -> None:
    write_report(tmp_path, [conifer_section(scaled=False, excluded=None)], HEADER, data="d", simulated=False)
    lines = (tmp_path / REPORT_MD).read_text().splitlines()
    assert lines[4:] == [
        "## xgboost: conifer",
        "",
        "20 trees of depth <= 3, split `x < t`; HLS project in `xgboost/hls` at `ap_fixed<18,4>`, "
        "part xcvu9p-flgb2104-2L-e, 5.0 ns clock.",
        "",
        "Inputs not scaled: one `ap_fixed` type for inputs, thresholds and scores, 4 integer bits fitted to the "
        "largest threshold or score bound.",
        "",
        "Estimated latency 7 clock cycles (35 ns), 1234 LUT, 567 FF. Source: conifer performance models.",
        "",
        "Native AUC 0.91235 on 3600 events with every feature defined.",
        "",
        "| precision | AUC | max abs dp | max abs d(log-odds) |",
        "|---|---|---|---|",
        "| `double` | 0.91235 | 2.5e-08 | 1e-07 |",
        "| `ap_fixed<10,4>` | 0.90120 | 0.0421 | 0.188 |",
        "| `ap_fixed<18,4>` | 0.91234 | 0.000123 | 0.000488 |",
    ]


def test_scaled_inputs_and_excluded_events_are_spelled_out(tmp_path: Path) -> None:
    write_report(tmp_path, [conifer_section(scaled=True, excluded=400)], HEADER, data="d", simulated=False)
    text = (tmp_path / REPORT_MD).read_text()
    assert (
        "Inputs scaled by powers of two: the firmware takes input i as `x_i * 2**s_i` "
        "(`xgboost/hls/input_scaling.json`), each feature's thresholds scaled into the 4 integer bits the score "
        "needs: r9 2^2, eta 2^-1."
    ) in text.splitlines()
    assert (
        "Native AUC 0.91235 on 3600 events with every feature defined; 400 events of the table have an undefined "
        "feature and are left out (conifer routes no missing value), so this AUC is of a selected subset, not the "
        "model's on all events."
    ) in text.splitlines()


def test_zero_excluded_events_read_as_none_excluded(tmp_path: Path) -> None:
    write_report(tmp_path, [conifer_section(scaled=False, excluded=0)], HEADER, data="d", simulated=False)
    assert "Native AUC 0.91235 on 3600 events with every feature defined." in (tmp_path / REPORT_MD).read_text()


def test_the_scan_plot_gets_the_fixed_point_rows_of_each_conifer_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple] = []

    def plot(scans: dict[str, pd.DataFrame], native_auc: dict[str, float], *, data: str, simulated: bool):
        figure = plt.figure()
        drawn.append((scans, native_auc, data, simulated, figure))
        return figure

    monkeypatch.setattr(report, "plot_precision_scan", plot)
    sections = [C_SECTION, conifer_section(scaled=True, excluded=None)]
    written = write_report(tmp_path, sections, HEADER, data="Geant4 slice", simulated=False)
    assert written == [tmp_path / REPORT_JSON, tmp_path / REPORT_MD, tmp_path / SCAN_PLOT]
    ((scans, native_auc, data, simulated, figure),) = drawn
    assert list(scans) == ["xgboost"] and native_auc == {"xgboost": 0.912345678}
    assert scans["xgboost"]["precision"].tolist() == ["ap_fixed<10,4>", "ap_fixed<18,4>"]  # no double row
    assert (data, simulated) == ("Geant4 slice", False)
    assert not plt.fignum_exists(figure.number)  # the figure is closed once saved


def test_the_scan_plot_is_a_png(tmp_path: Path) -> None:
    write_report(tmp_path, [conifer_section(scaled=False, excluded=None)], HEADER, data="d", simulated=True)
    assert (tmp_path / SCAN_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SCAN_PLOT, REPORT_JSON, REPORT_MD]
