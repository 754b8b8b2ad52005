"""Tests for egid.pipelines.rundir: run directory paths, the checks that only look, the claim that creates and
locks, the data record and the reports/latest pointer."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from egid.detector import EventDataset, InputError, load_dataset
from egid.pipelines.rundir import (
    CONFIG_NAME,
    REPORTS_DIR,
    TUNING_NAME,
    check_data_record,
    check_new_run_dir,
    check_resumable,
    claim_run_dir,
    point_latest_to,
    run_dir_path,
    write_data_record,
)
from tests.conftest import write_crops


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _dataset(folder: Path, seed: int, n: int = 6) -> EventDataset:
    return load_dataset(
        electrons=[str(write_crops(folder / f"e{seed}.h5", n, label=1.0, seed=seed))],
        photons=[str(write_crops(folder / f"p{seed}.h5", n, label=0.0, seed=seed + 100))],
    )


# --- run_dir_path ----------------------------------------------------------------------------------------------


def test_out_dir_wins_over_the_name() -> None:
    assert run_dir_path("somewhere/else", "ignored") == Path("somewhere/else")
    assert run_dir_path("x", "a/b") == Path("x")  # the name is not even checked


def test_named_run_goes_under_reports_runs() -> None:
    assert Path("reports") == REPORTS_DIR
    assert run_dir_path(None, "first") == Path("reports/runs/first")


def test_unnamed_run_gets_a_utc_time_stamp() -> None:
    path = run_dir_path(None, None)
    assert path.parent == Path("reports/runs")
    assert re.fullmatch(r"\d{8}-\d{6}", path.name)


@pytest.mark.parametrize("name", ["a/b", ".", "..", "/abs"])
def test_a_name_must_be_a_plain_folder_name(name: str) -> None:
    with pytest.raises(InputError, match=rf"^--name: must be a plain folder name, got {re.escape(repr(name))}$"):
        run_dir_path(None, name)


# --- check_new_run_dir / check_resumable -----------------------------------------------------------------------


def test_a_new_run_dir_may_be_absent_or_empty_and_is_not_created(tmp_path: Path) -> None:
    check_new_run_dir(tmp_path / "absent" / "deeper")
    assert not (tmp_path / "absent").exists()
    (tmp_path / "empty").mkdir()
    check_new_run_dir(tmp_path / "empty")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / ".lock").touch()  # only a lock left by a finished process
    check_new_run_dir(tmp_path / "locked")


def test_a_non_empty_run_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(InputError, match=rf"^{tmp_path}: run directory already exists and is not empty \(use --resume"):
        check_new_run_dir(tmp_path)


def test_a_file_is_no_run_dir(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(InputError, match=rf"^{file}: exists and is not a directory$"):
        check_new_run_dir(file)


def test_resumable_needs_the_saved_settings(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"^{tmp_path / 'x'}: nothing to resume, no such run directory$"):
        check_resumable(tmp_path / "x")
    with pytest.raises(InputError, match=rf"^{tmp_path}: nothing to resume, no {CONFIG_NAME} \(not an egid run"):
        check_resumable(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("seed: 0\n")
    assert check_resumable(tmp_path) == tmp_path / CONFIG_NAME


# --- claim_run_dir ---------------------------------------------------------------------------------------------


def test_claim_creates_and_locks(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "a"
    with claim_run_dir(run, new=True) as claimed:
        assert claimed == run
        assert run.is_dir()
        fd = os.open(run / ".lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        (run / "metrics.json").write_text("{}")
    assert (run / "metrics.json").exists()
    # Released: another claim (a resume) gets the lock at once.
    with claim_run_dir(run, new=False):
        pass


def test_a_second_claim_while_the_first_holds_the_lock_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with claim_run_dir(run, new=True):
        code = (
            "import sys; from pathlib import Path; from egid.pipelines.rundir import claim_run_dir\n"
            "from egid.detector import InputError\n"
            "try:\n"
            "    with claim_run_dir(Path(sys.argv[1]), new=False): pass\n"
            "except InputError as err: print(err)\n"
        )
        out = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True, check=True).stdout
    assert (
        out == f"{run}: another egid process is working in this run directory (it holds {run / '.lock'}); wait for it\n"
    )


def test_a_failed_new_run_leaves_nothing(tmp_path: Path) -> None:
    run = tmp_path / "new"
    with pytest.raises(RuntimeError, match="fit failed"), claim_run_dir(run, new=True):
        (run / "tuning").mkdir()
        (run / "config.yaml").write_text("x")
        raise RuntimeError("fit failed")
    assert not run.exists()


def test_a_failed_new_run_in_an_existing_empty_folder_keeps_the_folder(tmp_path: Path) -> None:
    run = tmp_path / "mine"
    run.mkdir()
    with pytest.raises(RuntimeError), claim_run_dir(run, new=True):
        (run / "plots").mkdir()
        (run / "data.json").write_text("{}")
        raise RuntimeError
    assert run.is_dir()
    assert list(run.iterdir()) == []


def test_an_interrupted_new_run_keeps_its_studies_for_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt) as err, claim_run_dir(run, new=True):
        (run / TUNING_NAME).mkdir()
        (run / CONFIG_NAME).write_text("seed: 0\n")
        raise KeyboardInterrupt
    assert (run / TUNING_NAME).is_dir()
    assert err.value.__notes__ == [
        f"kept {run} with its finished trials; egid run --resume --out-dir {run} continues it"
    ]


def test_an_interrupted_new_run_before_tuning_leaves_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt) as err, claim_run_dir(run, new=True):
        raise KeyboardInterrupt
    assert not run.exists()
    assert not getattr(err.value, "__notes__", [])


def test_a_failed_resume_keeps_the_run(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("seed: 0\n")
    with pytest.raises(RuntimeError), claim_run_dir(tmp_path, new=False):
        raise RuntimeError
    assert (tmp_path / CONFIG_NAME).read_text() == "seed: 0\n"


def test_a_claim_removes_a_killed_runs_staging_folders(tmp_path: Path) -> None:
    from egid.detector.atomic import staging_prefix

    run = tmp_path / "run"
    run.mkdir()
    (run / CONFIG_NAME).write_text("seed: 0\n")
    stale = run / f"{staging_prefix(run)}abc"
    stale.mkdir()
    (stale / "report.html").write_text("half")
    with claim_run_dir(run, new=False):
        assert not stale.exists()
    assert (run / CONFIG_NAME).exists()


# --- data record -----------------------------------------------------------------------------------------------


def test_data_record_round_trip(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, seed=1)
    run = tmp_path / "run"
    run.mkdir()
    write_data_record(run, dataset)
    record = json.loads((run / "data.json").read_text())
    assert record == {"fingerprint": dataset.fingerprint(), "files": dataset.paths, "events": 12}
    check_data_record(run, _dataset(tmp_path, seed=1))  # the same files again


def test_other_data_is_refused_on_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    first = _dataset(tmp_path, seed=1)
    write_data_record(run, first)
    other = _dataset(tmp_path, seed=2)
    with pytest.raises(InputError) as err:
        check_data_record(run, other)
    assert str(err.value) == (
        f"{', '.join(other.paths)}: not the data the run in {run} was started on "
        f"(12 events of {', '.join(first.paths)}); a resumed run must read the same events"
    )


def test_missing_or_damaged_data_record(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, seed=1)
    path = tmp_path / "data.json"
    with pytest.raises(InputError, match=rf"^{path}: missing, so the run's data cannot be verified; start a new run"):
        check_data_record(tmp_path, dataset)
    for damaged in ("{not json", '{"files": []}', "[1, 2]"):
        path.write_text(damaged)
        with pytest.raises(InputError, match=rf"^{path}: unreadable data record; start a new run instead of resuming$"):
            check_data_record(tmp_path, dataset)


# --- reports/latest --------------------------------------------------------------------------------------------


def test_latest_points_to_the_last_run_under_reports(workdir: Path) -> None:
    first = Path("reports/runs/first")
    second = Path("reports/runs/second")
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    assert point_latest_to(first) == Path("reports/latest")
    assert os.readlink("reports/latest") == "runs/first"
    point_latest_to(second)
    assert os.readlink("reports/latest") == "runs/second"
    assert Path("reports/latest").resolve() == second.resolve()
    assert sorted(p.name for p in Path("reports").iterdir()) == ["latest", "runs"]


def test_a_run_elsewhere_leaves_latest_alone(workdir: Path) -> None:
    regular = Path("reports/runs/regular")
    regular.mkdir(parents=True)
    point_latest_to(regular)
    elsewhere = workdir / "adhoc"
    elsewhere.mkdir()
    assert point_latest_to(elsewhere) is None
    assert os.readlink("reports/latest") == "runs/regular"
