"""Tests for egid.evaluation.precision_plots: the firmware precision scan draws AUC and score error per width."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from egid.evaluation.precision_plots import plot_precision_scan

DATA = "egid simulation"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _scan(widths: list[int], auc: list[float], diff: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"width": widths, "auc": auc, "max_abs_probability_difference": diff})


@pytest.fixture
def scans() -> dict[str, pd.DataFrame]:
    return {
        "lightgbm": _scan([8, 12, 16, 20], [0.70, 0.85, 0.899, 0.9], [0.3, 0.02, 1e-4, 0.0]),
        "xgboost": _scan([8, 12, 16], [0.65, 0.84, 0.88], [0.4, 0.05, 2e-5]),
    }


NATIVE = {"lightgbm": 0.9, "xgboost": 0.88}


def test_top_draws_each_models_auc_against_width_and_its_native_line(scans: dict[str, pd.DataFrame]) -> None:
    fig = plot_precision_scan(scans, NATIVE, data=DATA, simulated=True)
    top, _bottom = fig.axes
    by_label = {line.get_label(): line for line in top.get_lines()}
    assert set(by_label) == {
        "lightgbm ap_fixed emulation",
        "lightgbm native",
        "xgboost ap_fixed emulation",
        "xgboost native",
    }
    for name, scan in scans.items():
        emulation = by_label[f"{name} ap_fixed emulation"]
        np.testing.assert_array_equal(emulation.get_xdata(), scan["width"])
        np.testing.assert_array_equal(emulation.get_ydata(), scan["auc"])
        native = by_label[f"{name} native"]
        assert native.get_linestyle() == "--"
        assert set(native.get_ydata()) == {NATIVE[name]}
        assert native.get_color() == emulation.get_color()
    assert top.get_ylabel() == "test AUC"
    assert [t.get_text() for t in top.get_legend().get_texts()] == list(by_label)


def test_bottom_draws_the_score_error_on_a_log_axis_with_zero_clipped(scans: dict[str, pd.DataFrame]) -> None:
    fig = plot_precision_scan(scans, NATIVE, data=DATA, simulated=True)
    top, bottom = fig.axes
    assert bottom.get_yscale() == "log"
    assert bottom.get_xlabel() == "ap_fixed width W (bits)"
    lines = bottom.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), [8, 12, 16, 20])
    # The exact match at 20 bits (difference 0) is drawn at the floor 1e-7; the others as they are.
    np.testing.assert_allclose(lines[0].get_ydata(), [0.3, 0.02, 1e-4, 1e-7])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.4, 0.05, 2e-5])
    assert bottom.get_shared_x_axes().joined(top, bottom)
    # The widths are read on the bottom axis only.
    assert not any(label.get_visible() and label.get_text() for label in top.get_xticklabels())


def test_the_input_scans_are_left_unchanged(scans: dict[str, pd.DataFrame]) -> None:
    before = {name: scan.copy() for name, scan in scans.items()}
    plot_precision_scan(scans, NATIVE, data=DATA, simulated=False)
    for name, scan in scans.items():
        pd.testing.assert_frame_equal(scan, before[name])


@pytest.mark.parametrize("simulated", [True, False])
def test_house_labels(scans: dict[str, pd.DataFrame], simulated: bool) -> None:
    fig = plot_precision_scan(scans, NATIVE, data=DATA, simulated=simulated)
    fig.canvas.draw()
    drawn = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert "Private work" in drawn
    assert DATA in drawn
    assert ("Simulation" in drawn) is simulated
    assert not any("CMS" in text for text in drawn)


def test_a_model_without_its_native_auc_is_refused(scans: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(KeyError, match="xgboost"):
        plot_precision_scan(scans, {"lightgbm": 0.9}, data=DATA, simulated=True)
