"""Output paths are checked before any work: one line naming the path, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest

from egid.pipelines.run import main
from tests.conftest import write_crops
from tests.unprivileged import as_nobody, shared_dir


def _one_line(argv: list[str], capsys: pytest.CaptureFixture[str], says: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and says in err, err
    return err


def test_predict_out_naming_a_directory_is_refused_before_scoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scores.csv"
    folder.mkdir()
    argv = ["predict", "--run-dir", str(tmp_path / "no-run"), "--data", "x.hdf5", "--output", str(folder)]
    _one_line(argv, capsys, f"egid: error: {folder}: is a directory")


def test_evaluate_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "evaluation"
    existing.write_text("x")
    argv = ["evaluate", "--run-dir", str(tmp_path), "--data", "x.hdf5", "--out-dir", str(existing)]
    _one_line(argv, capsys, f"egid: error: {existing}: exists and is not a directory")


def test_simulate_out_below_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    _one_line(
        ["simulate", "--events-per-class", "3", "--out-dir", str(tmp_path / "f" / "sim")], capsys, "is not a directory"
    )
    assert (tmp_path / "f").read_text() == "x"


def test_features_and_run_out_in_a_read_only_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with shared_dir() as root:
        data = write_crops(root / "d.hdf5", 30, label=1.0)
        folder = root / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        with as_nobody():
            features = ["features", "--data", str(data), "--output", str(folder / "t.parquet")]
            _one_line(features, capsys, f"{folder} is not writable")
            run = ["run", "--data", str(data), "--out-dir", str(folder / "run"), "--cache-dir", str(root / "cache")]
            _one_line(run, capsys, f"{folder} is not writable")
        assert list(folder.iterdir()) == [] and not (root / "cache").exists()
