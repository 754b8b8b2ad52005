"""The run-time benchmark's arithmetic: the ratios of paired runs and the median seconds of each run's own steps."""

from __future__ import annotations

import statistics
from types import ModuleType

import pytest

from tests.benchmark_modules import load_benchmark


@pytest.fixture(scope="module")
def runtime() -> ModuleType:
    return load_benchmark("three_class_runtime")


def test_the_summary_pairs_the_runs_and_takes_each_steps_median(runtime: ModuleType) -> None:
    timing = runtime.Timing
    timings = [
        timing("binary", 0, 100.0, {"tune trees": 60.0, "report": 40.0}),
        timing("three-class", 0, 150.0, {"tune and fit": 70.0, "threshold study": 80.0}),
        timing("binary", 1, 110.0, {"tune trees": 64.0, "report": 46.0}),
        timing("three-class", 1, 140.0, {"tune and fit": 66.0, "threshold study": 74.0}),
        timing("binary", 2, 90.0, {"tune trees": 50.0, "report": 40.0}),
        timing("three-class", 2, 200.0, {"tune and fit": 90.0, "threshold study": 110.0}),
    ]
    summary = runtime.summarise(timings)
    assert summary.seconds["binary"] == {"min": 90.0, "median": 100.0, "max": 110.0}
    assert summary.seconds["three-class"] == {"min": 140.0, "median": 150.0, "max": 200.0}
    assert summary.ratio_of_medians == pytest.approx(1.5)
    assert summary.median_pair_ratio == pytest.approx(statistics.median([1.5, 140 / 110, 200 / 90]))
    assert summary.steps["binary"] == {"tune trees": 60.0, "report": 40.0, "tune and fit": 0.0, "threshold study": 0.0}
    assert summary.steps["three-class"]["threshold study"] == 80.0
    lines = runtime.format_summary(summary).splitlines()
    assert lines[3] == "three-class / binary: ratio of medians 1.50 (median of the per-pair ratios 1.50)"
    assert lines[-1].split() == ["threshold", "study", "0.0", "80.0"]
