"""``egid tune`` workers started at the same instant on a fresh, empty PostgreSQL database (the README's SLURM job
array does exactly this): every worker succeeds and every trial is accounted for."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from egid.models.storage import driver_url
from tests.conftest import write_crops

pytestmark = pytest.mark.slow

TRIALS = 2
STUDY = "together"
TIMEOUT_S = 300

# Each worker imports everything first, then waits for the go file, so that all of them open the storage at once.
_WAIT_THEN_RUN = """
import os, sys, time
import egid.pipelines.commands.tune
from egid.pipelines.run import main
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("workers", [4])
def test_workers_started_together_on_a_fresh_database(tmp_path: Path, fresh_postgres_url: str, workers: int) -> None:
    electrons = write_crops(tmp_path / "e.hdf5", 150, label=1.0, seed=41)
    photons = write_crops(tmp_path / "p.hdf5", 150, label=0.0, seed=42)
    cache = tmp_path / "cache"
    files = ["--electrons", str(electrons), "--photons", str(photons), "--cache-dir", str(cache)]
    shared = ["--storage", fresh_postgres_url, "--study-name", STUDY, "--trials", str(TRIALS), "--threads", "1"]
    argv = ["tune", *files, *shared]
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WAIT_THEN_RUN, str(go), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(workers)
    ]
    time.sleep(8)  # every worker has imported egid and waits
    go.touch()
    for process in processes:
        output, _ = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, output
    storage = optuna.storages.RDBStorage(driver_url(fresh_postgres_url))
    for model in ("lightgbm", "xgboost", "trigger"):
        study = optuna.load_study(study_name=f"{STUDY}-{model}", storage=storage)
        states = [t.state for t in study.trials]
        assert TrialState.RUNNING not in states and TrialState.WAITING not in states, model
        assert sorted(t.number for t in study.trials) == list(range(len(study.trials))), model
        finished = states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED)
        # Each worker stops once the study holds TRIALS; trials of the others still running then finish.
        assert TRIALS <= finished <= TRIALS + workers - 1, (model, states)
        assert finished + states.count(TrialState.FAIL) == len(study.trials), model
