"""Run settings: precedence, strict keys and types, and the round trip through the saved config.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from egid.detector import InputError
from egid.pipelines.config import (
    THREE_CLASS_TUNING_ROWS,
    RunConfig,
    given_settings,
    job_settings,
    load_config,
    save_config,
)


def test_command_line_overrides_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("trials: 7\nseed: 3\ncnn: false\n")
    config = load_config(path, {"seed": 11})
    assert (config.trials, config.seed, config.cnn) == (7, 11, False)
    assert config.cnn_folds == RunConfig().cnn_folds


def test_saved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(None, {"electrons": "e.hdf5", "photons": "p.hdf5", "timeout": 30, "max_events": 100})
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml", {}) == config
    assert isinstance(config.timeout, float)


def test_unknown_key_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("trails: 5\n")
    with pytest.raises(InputError, match=rf"^{path}: unknown key 'trails' \(valid keys: electrons, photons, "):
        load_config(path, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trials: five\n", r"key 'trials' must be int, got str 'five'"),
        ("cnn: 1\n", r"key 'cnn' must be bool, got int 1"),
        ("trigger: off-please\n", r"key 'trigger' must be bool, got str 'off-please'"),
        ("trials: true\n", r"key 'trials' must be int, got bool True"),
        ("- 1\n- 2\n", r"expected a mapping of option names to values, got list"),
        ("trials: [\n", r"not a readable YAML file"),
    ],
)
def test_wrong_types_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"^{path}: {message}"):
        load_config(path, {})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope.yaml: no such file$"):
        load_config(tmp_path / "nope.yaml", {})


@pytest.mark.parametrize(
    ("three_class", "text", "expected"),
    [
        (False, "", RunConfig().tuning_rows),
        (True, "", THREE_CLASS_TUNING_ROWS),
        (True, f"tuning_rows: {RunConfig().tuning_rows}\n", RunConfig().tuning_rows),  # given, even as the default
        (True, "tuning_rows: null\n", None),
        (False, "tuning_rows: 500\n", 500),
    ],
)
def test_a_three_class_run_tunes_on_fewer_events_unless_told(
    tmp_path: Path, three_class: bool, text: str, expected: int | None
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    given = given_settings(path, {})
    assert job_settings(RunConfig(**given), given, three_class=three_class).tuning_rows == expected
    assert (RunConfig().tuning_rows or 0) > THREE_CLASS_TUNING_ROWS  # "fewer events", as the test says
