"""Distributed tuning against a real PostgreSQL: two ``egid tune`` workers, one SIGKILLed worker, then ``egid run``.

The killed worker dies in the middle of a trial. Its trial must be found through its stale heartbeat, marked
failed and run again by a live worker; the studies must end with no trial RUNNING or WAITING, trial numbers
unique, and as many finished trials as asked for (plus at most one still in flight elsewhere when the target
was reached); the run must refit from the shared studies and list every one of their trials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy
from optuna.trial import TrialState

from egid.models.storage import driver_url
from tests.conftest import write_crops

pytestmark = pytest.mark.slow

TRIALS = 2
HEARTBEAT_S = 1
STUDY = "cluster"
WORKER_TIMEOUT_S = 240


def _command(files: tuple[Path, Path], cache: Path, url: str, *extra: str) -> list[str]:
    electrons, photons = files
    return [sys.executable, "-m", "egid.pipelines.run", *extra, "--electrons", str(electrons), "--photons",
            str(photons), "--cache-dir", str(cache), "--storage", url, "--study-name", STUDY, "--trials", str(TRIALS),
            "--heartbeat", str(HEARTBEAT_S)]  # fmt: skip


def _running_with_heartbeat(url: str, study: str) -> bool:
    """Whether ``study`` has a RUNNING trial whose worker already sent a heartbeat (so it can go stale)."""
    engine = sqlalchemy.create_engine(driver_url(url))
    query = sqlalchemy.text(
        "SELECT count(*) FROM trials JOIN studies USING (study_id) JOIN trial_heartbeats USING (trial_id) "
        "WHERE studies.study_name = :name AND trials.state = 'RUNNING'"
    )
    try:
        with engine.connect() as connection:
            return bool(connection.execute(query, {"name": study}).scalar())
    except sqlalchemy.exc.ProgrammingError:  # the worker has not created Optuna's tables yet
        return False
    finally:
        engine.dispose()


def _kill_mid_trial(command: list[str], url: str) -> None:
    """Start a worker and SIGKILL it while it runs a trial of the LightGBM study."""
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    try:
        while not _running_with_heartbeat(url, f"{STUDY}-lightgbm"):
            assert worker.poll() is None, f"worker ended before its first trial: {worker.stderr.read().decode()}"
            assert time.monotonic() < deadline, "worker started no trial in time"
            time.sleep(0.005)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        worker.stderr.close()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> dict[str, object]:
    root = tmp_path_factory.mktemp("cluster")
    files = (
        write_crops(root / "electron.hdf5", 200, label=1.0, seed=31),
        write_crops(root / "photon.hdf5", 200, label=0.0, seed=32),
    )
    base = _command(files, root / "cache", postgres_url, "tune")
    _kill_mid_trial(base, postgres_url)
    workers = [subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=WORKER_TIMEOUT_S)
        assert worker.returncode == 0, output
    storage = optuna.storages.RDBStorage(driver_url(postgres_url))
    trigger = optuna.load_study(study_name=f"{STUDY}-trigger", storage=storage)
    trigger_before_run = len(_finished(trigger))
    run = subprocess.run(
        [*_command(files, root / "cache", postgres_url, "run"), "--no-cnn", "--out-dir", str(root / "run")],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    studies = {
        model: optuna.load_study(study_name=f"{STUDY}-{model}", storage=storage)
        for model in ("lightgbm", "xgboost", "trigger")
    }
    return {"studies": studies, "run_dir": root / "run", "trigger_before_run": trigger_before_run}


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def test_no_trial_is_left_running_or_waiting(tuned):
    for study in tuned["studies"].values():
        states = {t.state for t in study.trials}
        assert TrialState.RUNNING not in states
        assert TrialState.WAITING not in states


def test_the_killed_trial_failed_and_was_run_once_more(tuned):
    study = tuned["studies"]["lightgbm"]
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    # The retry keeps whatever parameters the dead trial had drawn (none when it died before its first suggest).
    assert retries[0].params.items() >= failed[0].params.items()


def test_the_trial_count_adds_up(tuned):
    for kind, study in tuned["studies"].items():
        numbers = [t.number for t in study.trials]
        assert sorted(numbers) == list(range(len(numbers))), f"{kind}: trial numbers lost or repeated"
        failed = sum(t.state == TrialState.FAIL for t in study.trials)
        assert len(study.trials) == len(_finished(study)) + failed
        # Two live workers: the one finishing the last trial stops both, a trial of the other may still end.
        assert TRIALS <= len(_finished(study)) <= TRIALS + 1, kind
        assert len({tuple(sorted(t.params.items())) for t in _finished(study)}) == len(_finished(study)), kind


def test_the_workers_tuned_the_trigger_model_before_the_run(tuned):
    assert TRIALS <= tuned["trigger_before_run"] == len(_finished(tuned["studies"]["trigger"]))


def test_the_run_refits_the_best_shared_trial_and_lists_every_trial(tuned):
    """The workers filled every study the run tunes, the trigger model's included (an XGBoost study)."""
    for model, study in tuned["studies"].items():
        folder, kind = ("trigger", "xgboost") if model == "trigger" else ("features_only", model)
        tuning = tuned["run_dir"] / "tuning" / folder
        summary = json.loads((tuning / f"{kind}_best_params.json").read_text())
        assert summary["study_name"] == f"{STUDY}-{model}"
        assert summary["best_trial"] == study.best_trial.number
        assert summary["n_complete"] + summary["n_pruned"] == len(_finished(study))
        assert len(pd.read_csv(tuning / f"{kind}_trials.csv")) == len(study.trials)
    assert (tuned["run_dir"] / "metrics.json").exists()
