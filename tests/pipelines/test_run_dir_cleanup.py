"""What a failed or interrupted run leaves in its directory: a new run nothing (or its studies after a signal, for
--resume), a resumed run its directory; a SIGKILLed run's staged report is swept by the next claim."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from egid.detector import InputError
from egid.pipelines.rundir import TUNING_NAME, claim_run_dir
from egid.pipelines.signals import Terminated


def _fail_in(run_dir: Path, error: BaseException, *, new: bool, studies: bool) -> BaseException:
    with pytest.raises(type(error)) as caught, claim_run_dir(run_dir, new=new):
        (run_dir / "config.yaml").write_text("seed: 0\n")
        if studies:
            (run_dir / TUNING_NAME).mkdir()
            (run_dir / TUNING_NAME / "optuna.journal").write_text("{}")
        raise error
    return caught.value


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Terminated(), OSError(28, "No space left"), InputError("x")])
@pytest.mark.parametrize("existed", [False, True], ids=["created", "empty before"])
def test_a_new_run_that_fails_before_its_studies_leaves_nothing(
    tmp_path: Path, error: BaseException, existed: bool
) -> None:
    run_dir = tmp_path / "run"
    if existed:
        run_dir.mkdir()
    caught = _fail_in(run_dir, error, new=True, studies=False)
    assert not getattr(caught, "__notes__", None)
    assert (run_dir.is_dir() and list(run_dir.iterdir()) == []) if existed else not run_dir.exists()


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Terminated()])
def test_a_signal_keeps_a_new_runs_studies_and_says_so(tmp_path: Path, error: BaseException) -> None:
    run_dir = tmp_path / "run"
    caught = _fail_in(run_dir, error, new=True, studies=True)
    assert (run_dir / TUNING_NAME / "optuna.journal").exists() and (run_dir / "config.yaml").exists()
    assert caught.__notes__ == [f"kept {run_dir} with its finished trials; egid run --resume --out-dir {run_dir} "
                                "continues it"]  # fmt: skip


def test_an_error_after_the_studies_removes_a_new_run(tmp_path: Path) -> None:
    _fail_in(tmp_path / "run", OSError(28, "No space left"), new=True, studies=True)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left")])
def test_a_resumed_run_keeps_its_directory(tmp_path: Path, error: BaseException) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text("{}")
    _fail_in(run_dir, error, new=False, studies=False)
    assert (run_dir / "metrics.json").read_text() == "{}"


def test_another_process_holding_the_run_is_refused_and_its_files_kept(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InputError, match="another egid process"), claim_run_dir(run_dir, new=True):
            pass
    finally:
        os.close(fd)
    assert run_dir.is_dir()


def test_a_killed_runs_staged_outputs_are_swept(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    stale = run_dir / ".run.partial-abc123" / "models"
    stale.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("seed: 0\n")
    with claim_run_dir(run_dir, new=False):
        assert not stale.parent.exists()
    assert (run_dir / "config.yaml").exists()
