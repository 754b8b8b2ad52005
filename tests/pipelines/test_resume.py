"""Resuming a run: it restores the saved settings, refuses contradicting options and other data, and a lock
keeps a second live process out. A refused run leaves nothing behind that blocks the corrected one."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path

import h5py
import pytest

from egid.pipelines.run import main
from tests.conftest import write_crops


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], says: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("egid: error: ") and says in err, err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resume")
    electrons = write_crops(root / "e.hdf5", 150, label=1.0, seed=1)
    photons = write_crops(root / "p.hdf5", 150, label=0.0, seed=2)
    argv = ["run", "--electrons", str(electrons), "--photons", str(photons), "--no-cnn", "--trials", "1"]
    assert main([*argv, "--out-dir", str(root / "run"), "--cache-dir", str(root / "cache")]) == 0
    return root / "run"


@pytest.mark.slow
def test_resume_refuses_a_contradicting_option(finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(
        ["run", "--out-dir", str(finished_run), "--resume", "--seed", "3"], capsys, "--seed: the run being resumed"
    )
    _refused(["run", "--out-dir", str(finished_run), "--resume", "--cnn-folds", "4"], capsys, "--cnn-folds: ")
    _refused(
        ["run", "--out-dir", str(finished_run), "--resume", "--no-trigger"], capsys, "--trigger: the run being resumed"
    )


@pytest.mark.slow
def test_resume_refuses_other_data(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    photons = Path((run / "config.yaml").read_text().split("photons: ")[1].split("\n")[0])
    backup = tmp_path / "p.hdf5"
    shutil.copy(photons, backup)
    try:
        with h5py.File(photons, "a") as f:
            f["X"][0, 0, 0, 0] = 0.5
        _refused(["run", "--out-dir", str(run), "--resume"], capsys, "not the data the run in")
    finally:
        shutil.copy(backup, photons)


@pytest.mark.slow
def test_second_live_process_is_refused_at_once(finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fd = os.open(finished_run / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _refused(["run", "--out-dir", str(finished_run), "--resume"], capsys, "another egid process is working")
    finally:
        os.close(fd)


@pytest.mark.slow
def test_new_run_into_a_finished_directory_is_refused(finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(["run", "--out-dir", str(finished_run), "--no-cnn"], capsys, "use --resume to continue it")


def test_refused_run_leaves_nothing_and_logs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    electrons = write_crops(tmp_path / "e.hdf5", 20, label=1.0, seed=1)
    bad_photons = write_crops(tmp_path / "p.hdf5", 20, label=1.0, seed=2)
    out = tmp_path / "run"
    argv = ["run", "--electrons", str(electrons), "--photons", str(bad_photons), "--out-dir", str(out)]
    with caplog.at_level(logging.DEBUG, logger="egid"):
        _refused([*argv, "--cache-dir", str(tmp_path / "cache")], capsys, "expected a photon file")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("egid")] == []
    assert not out.exists()
    _refused(["run", "--out-dir", str(out), "--resume"], capsys, "nothing to resume, no such run directory")
