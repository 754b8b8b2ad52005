"""Thread counts that follow the load: busy cores from /proc/stat, idle ones for the next fit."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest

from egid.models import cpu, tuning_settings
from egid.models.tuning import tune
from egid.models.tuning_settings import TuningSettings


def fake_times(monkeypatch: pytest.MonkeyPatch, *samples: tuple[int, int], cores: int = 2) -> None:
    it = iter(samples)
    monkeypatch.setattr(cpu, "_cpu_times", lambda: next(it))
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(cpu, "usable_cores", lambda: cores)
    monkeypatch.setattr(cpu.time, "sleep", lambda s: None)


@pytest.mark.parametrize(
    ("busy_jiffies", "expected_busy", "expected_threads"),
    [(0, 0.0, 2), (40, 0.4, 2), (50, 0.5, 1), (100, 1.0, 1), (150, 1.5, 1), (200, 2.0, 1)],
)
def test_threads_are_the_cores_other_jobs_leave_idle_and_at_least_one(
    monkeypatch: pytest.MonkeyPatch, busy_jiffies: int, expected_busy: float, expected_threads: int
) -> None:
    fake_times(monkeypatch, (1000, 5000), (1000 + busy_jiffies, 5200))
    assert cpu.busy_cores() == pytest.approx(expected_busy)
    fake_times(monkeypatch, (1000, 5000), (1000 + busy_jiffies, 5200))
    assert cpu.threads_for_next_fit() == expected_threads


def test_a_limit_caps_the_threads_of_a_quiet_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_times(monkeypatch, (0, 0), (0, 800), cores=8)
    assert cpu.threads_for_next_fit(limit=3) == 3


def test_a_spinning_process_is_counted_busy() -> None:
    before = cpu.busy_cores(0.5)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        during = cpu.busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.0 <= before <= os.cpu_count() and during <= os.cpu_count()
    assert during >= 0.7  # the spinner alone keeps one core busy, whatever else runs


def test_settings_without_n_jobs_ask_before_every_fit(tree_table, tmp_path, monkeypatch) -> None:
    calls = itertools.count()
    monkeypatch.setattr(tuning_settings, "threads_for_next_fit", lambda: next(calls) % 2 + 1)
    t = tree_table
    settings = TuningSettings(n_trials=3, seed=3, max_rounds=30, early_stopping_rounds=5)
    study = tune("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=tmp_path)
    assert len(study.trials) == 3 and next(calls) == 3
    assert TuningSettings(n_trials=1, n_jobs=4).threads() == 4
