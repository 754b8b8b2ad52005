"""Workers that start together: any number of processes may open a fresh PostgreSQL storage at the same instant
(Optuna's tables are created under a database lock), and a storage that cannot be opened is one InputError."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import optuna
import pytest

from egid.detector import InputError
from egid.models.storage import driver_url, open_rdb, open_storage

pytestmark = pytest.mark.slow

WORKERS = 6


def _open_at_once(url: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue) -> None:
    barrier.wait(timeout=60)
    try:
        storage = open_rdb(url, heartbeat=1)
        study = optuna.create_study(storage=storage, study_name="s", direction="maximize", load_if_exists=True)
        study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=2)
        results.put("ok")
    except BaseException as err:  # the test reports whatever a worker met
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.parametrize("workers", [4, WORKERS])
def test_workers_opening_a_fresh_database_at_once_all_succeed(fresh_postgres_url: str, workers: int) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    results: multiprocessing.Queue = context.Queue()
    processes = [
        context.Process(target=_open_at_once, args=(fresh_postgres_url, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert outcomes == ["ok"] * workers, outcomes
    study = optuna.load_study(study_name="s", storage=driver_url(fresh_postgres_url))
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 2 * workers


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("sqlite:///{tmp}/missing/dir/tuning.db", "no such directory"),
        ("sqlite:////proc/egid-not-here/tuning.db", "no such directory"),
        ("nosuchdialect://user@host/db", "cannot open the Optuna storage"),
        ("postgresql://user@/db?host=/nonexistent-socket-dir", "cannot open the Optuna storage"),
        ("{tmp}/file/below/a/file.journal", "cannot open the Optuna journal"),
    ],
)
def test_a_storage_that_cannot_be_opened_is_one_input_error(tmp_path: Path, spec: str, says: str) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(InputError, match=says) as caught:
        open_storage(spec.format(tmp=tmp_path), tmp_path)
    assert "\n" not in str(caught.value)
