"""Tests for egid.pipelines.timing: step times add up, logging waits for start(), timings.json holds them."""

from __future__ import annotations

import json
import logging
import re
import resource
import time
from pathlib import Path

import pytest

from egid.pipelines.timing import StepTimer

LOGGER = "egid.pipelines.timing"


def test_steps_are_timed_in_order_and_a_repeated_step_adds_up() -> None:
    timer = StepTimer()
    with timer.step("b"):
        time.sleep(0.02)
    with timer.step("a"):
        pass
    with timer.step("b"):
        time.sleep(0.03)
    assert list(timer.seconds) == ["b", "a"]
    assert timer.seconds["b"] >= 0.05
    assert 0 <= timer.seconds["a"] < timer.seconds["b"]


def test_a_failed_step_is_not_recorded() -> None:
    timer = StepTimer()
    with pytest.raises(RuntimeError, match="boom"), timer.step("broken"):
        raise RuntimeError("boom")
    assert timer.seconds == {}


def test_steps_before_start_are_logged_only_at_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    timer = StepTimer()
    with timer.step("inputs"):
        pass
    assert caplog.messages == []
    timer.start()
    assert len(caplog.messages) == 1
    assert re.fullmatch(r"inputs took \d+\.\d s", caplog.messages[0])
    with timer.step("features"):
        pass
    assert re.fullmatch(r"features took \d+\.\d s", caplog.messages[1])
    # A second start() logs nothing again.
    timer.start()
    assert len(caplog.messages) == 2


def test_a_refused_input_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    timer = StepTimer()
    with timer.step("simulate or find inputs"):
        pass
    with pytest.raises(ValueError, match="bad input"), timer.step("check"):
        raise ValueError("bad input")
    assert caplog.messages == []


def test_peak_memory_is_ru_maxrss_in_gib() -> None:
    expected = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    peak = StepTimer.peak_memory_gib()
    assert peak == pytest.approx(expected, rel=0.05)
    assert 0.01 < peak < 64


def test_write_timings_json(tmp_path: Path) -> None:
    timer = StepTimer()
    timer.seconds.update({"features": 1.234, "report": 2.0})
    path = tmp_path / "timings.json"
    timer.write(path)
    document = json.loads(path.read_text())
    assert document["seconds"] == {"features": 1.23, "report": 2.0}
    assert document["total_seconds"] == 3.23
    assert document["peak_memory_gib"] == pytest.approx(StepTimer.peak_memory_gib(), abs=0.01)
    assert path.read_text().endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["timings.json"]  # written atomically, nothing left over
