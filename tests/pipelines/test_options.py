"""Numeric options: every range is checked at parse time, from one table shared with the config file, and a
refused value is one line naming the option, with nothing created."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egid.pipelines.options import BOUNDS
from egid.pipelines.run import main

BAD_VALUES = {
    ("run", "--trials"): ["0", "-3", "1.5", "many"],
    ("run", "--stacked-trials"): ["0", "2.5"],
    ("run", "--seed"): ["-1", str(2**31)],
    ("run", "--tuning-rows"): ["-10", "0"],
    ("run", "--cnn-folds"): ["1", "0"],
    ("run", "--cnn-epochs"): ["0"],
    ("run", "--events-per-class"): ["0"],
    ("run", "--max-events"): ["1", "-5"],
    ("run", "--timeout"): ["0", "-1", "nan", "inf", "-inf"],
    ("check", "--max-events"): ["0"],
    ("features", "--seed"): ["-2"],
    ("simulate", "--events-per-class"): ["0", "-1"],
    ("pretrain", "--events-per-class"): ["0"],
    ("pretrain", "--seed"): ["-1"],
    ("importances", "--top"): ["0"],
}
CASES = [(cmd, opt, value) for (cmd, opt), values in BAD_VALUES.items() for value in values]
REQUIRED = {
    "run": [],
    "check": ["--data", "d.hdf5"],
    "features": ["--data", "d.hdf5", "--output", "t.parquet"],
    "simulate": ["--out-dir", "sim"],
    "pretrain": ["--output", "w.pt"],
    "importances": ["--run-dir", "run"],
}


@pytest.mark.parametrize(("command", "option", "value"), CASES)
def test_out_of_range_value_is_one_line_before_anything(
    command: str,
    option: str,
    value: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [command, *REQUIRED[command], f"{option}={value}"]
    if command == "simulate" and option != "--events-per-class":
        argv += ["--events-per-class", "5"]
    if command == "run":
        argv += ["--out-dir", "run", "--cache-dir", "cache"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"egid: error: argument {option}: must be "), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("key", "value"), [("trials", 0), ("seed", -1), ("cnn_folds", 1), ("timeout", float("nan"))])
def test_config_file_values_meet_the_same_bound(
    key: str, value: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"{key}: {'.nan' if isinstance(value, float) and math.isnan(value) else value}\n")
    assert main(["run", "--config", str(config), "--out-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == f"egid: error: {config}: key '{key}' must be {BOUNDS[key].describe()}, got {value!r}\n"
    assert not (tmp_path / "run").exists()


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(BOUNDS)), value=st.integers(-(2**40), 2**40) | st.floats(allow_nan=True))
def test_parse_accepts_exactly_the_described_range(name: str, value: float) -> None:
    bound = BOUNDS[name]
    text = repr(value) if isinstance(value, float) else str(value)
    inside = math.isfinite(value) and (value >= bound.low if bound.closed else value > bound.low)
    inside = inside and (bound.high is None or value <= bound.high)
    inside = inside and (not bound.integer or isinstance(value, int))
    if inside:
        assert bound.parse(text) == value
    else:
        with pytest.raises(Exception, match=r"^must be "):
            bound.parse(text)
