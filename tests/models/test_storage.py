"""Opening Optuna storages: the psycopg2 driver for postgresql://, heartbeats that fail and retry dead trials, and
SQLite refused to a second process. Runs against the throw-away PostgreSQL server of ``tests/postgres.py``."""

from __future__ import annotations

import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from egid.detector import InputError
from egid.models.storage import driver_url, fail_dead_trials, open_rdb


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@host/db", "postgresql+psycopg2://u@host/db"),
        ("postgresql+psycopg://u@host/db", "postgresql+psycopg://u@host/db"),
        ("mysql://u@host/db", "mysql://u@host/db"),
        ("sqlite:///tuning.db", "sqlite:///tuning.db"),
    ],
)
def test_driver_url_names_the_psycopg2_driver_of_the_postgres_extra(url, expected):
    assert driver_url(url) == expected


def test_a_bare_postgresql_url_opens_through_psycopg2_and_keeps_trials(postgres_url):
    storage = open_rdb(postgres_url)
    assert storage.engine.dialect.driver == "psycopg2"
    study = optuna.create_study(storage=storage, study_name="storage-roundtrip", direction="maximize")
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=3)
    reloaded = optuna.load_study(study_name="storage-roundtrip", storage=driver_url(postgres_url))
    assert [t.state for t in reloaded.trials] == [TrialState.COMPLETE] * 3
    assert reloaded.best_value == study.best_value


def test_a_trial_whose_heartbeat_stopped_is_failed_and_queued_once_more(postgres_url):
    storage = open_rdb(postgres_url, heartbeat=1)
    study = optuna.create_study(storage=storage, study_name="stale-heartbeat", direction="maximize")
    with pytest.warns(UserWarning, match="Heartbeat of storage is supposed to be used with Study.optimize"):
        trial = study.ask()  # a trial outside optimize(): no heartbeat thread, the test plays the worker
    x = trial.suggest_float("x", 0.0, 1.0)
    storage.record_heartbeat(trial._trial_id)  # what the worker's heartbeat thread does, then the worker "dies"
    fail_dead_trials(study, storage, private=False, where=postgres_url)
    assert study.trials[0].state == TrialState.RUNNING  # within the grace period (2 heartbeats) it is alive
    deadline = time.monotonic() + 10
    while study.trials[0].state == TrialState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        fail_dead_trials(study, storage, private=False, where=postgres_url)
    original, retry = study.trials
    assert original.state == TrialState.FAIL
    assert retry.state == TrialState.WAITING
    assert retry.params == {"x": x}
    assert retry.system_attrs["failed_trial"] == original.number


def test_sqlite_is_refused_to_a_second_process_with_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    open_rdb(url)
    open_rdb(url)  # the same process may open it again (a run opens one study per model)
    second = subprocess.run(
        [sys.executable, "-c", f"from egid.models.storage import open_rdb; open_rdb({url!r})"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode != 0
    assert f"InputError: {url}: another process is using this SQLite study" in second.stderr


@pytest.mark.parametrize("url", ["postgresql://nobody@/nodb?host=/nonexistent-egid-socket", "nosuchdb://x/y"])
def test_an_unusable_storage_is_one_input_error_naming_the_url(url):
    with pytest.raises(InputError, match=r"^" + url.replace("?", r"\?") + ": cannot open the Optuna storage: "):
        open_rdb(url)


def test_a_heartbeat_below_one_second_is_refused():
    with pytest.raises(InputError, match="--heartbeat: must be at least 1 second, got 0"):
        open_rdb("sqlite://", heartbeat=0)
