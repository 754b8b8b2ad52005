"""TuningSettings: every field is checked, and the message says which field, what was expected, what was found."""

from __future__ import annotations

import dataclasses

import pytest

from egid.models import TuningSettings

INVALID = [
    ("n_trials", 0, r"n_trials: expected an int >= 1, found int 0\."),
    ("n_trials", 2.0, r"n_trials: expected an int >= 1, found float 2\.0\."),
    ("n_trials", True, r"n_trials: expected an int >= 1, found bool True\."),
    ("timeout", 0.0, r"timeout: expected a number of seconds > 0 or None, found float 0\.0\."),
    ("timeout", "60", r"timeout: expected a number of seconds > 0 or None, found str '60'\."),
    ("tuning_rows", 1, r"tuning_rows: expected an int >= 2 or None, found int 1\."),
    ("max_rounds", 0, r"max_rounds: expected an int >= 1, found int 0\."),
    ("early_stopping_rounds", None, r"early_stopping_rounds: expected an int >= 1, found NoneType None\."),
    ("n_jobs", 0, r"n_jobs: expected an int >= 1 or None, found int 0\."),
    ("pruner_startup_trials", -1, r"pruner_startup_trials: expected an int >= 0, found int -1\."),
    ("pruner_warmup_rounds", -1, r"pruner_warmup_rounds: expected an int >= 0, found int -1\."),
    ("storage", "", r"storage: expected a non-empty str, an opened Optuna storage or None, found str ''\."),
    ("study_name", 3, r"study_name: expected a non-empty str or None, found int 3\."),
    ("resume", 1, r"resume: expected a bool, found int 1\."),
    ("seed", -1, r"seed: expected an int >= 0, found int -1\."),
    ("progress", "yes", r"progress: expected a bool, found str 'yes'\."),
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID, ids=[f"{f}={v!r}" for f, v, _ in INVALID])
def test_an_invalid_setting_is_refused_with_what_was_expected_and_found(field, value, message):
    with pytest.raises(ValueError, match=rf"^TuningSettings\.{message}$"):
        TuningSettings(**{"n_trials": 1, field: value})


def test_every_field_has_an_invalid_case():
    assert {field.name for field in dataclasses.fields(TuningSettings)} == {field for field, _, _ in INVALID}


def test_settings_are_frozen_and_replace_validates_again():
    settings = TuningSettings(n_trials=3, timeout=30, tuning_rows=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.n_trials = 4
    with pytest.raises(ValueError, match="n_trials"):
        dataclasses.replace(settings, n_trials=0)
