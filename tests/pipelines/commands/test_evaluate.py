"""Tests for egid.pipelines.commands.evaluate: its options and the refusals made before any model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from egid.pipelines.commands.evaluate import EVALUATIONS
from egid.pipelines.run import build_parser, main
from tests.conftest import write_crops


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["evaluate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    return captured.err


def test_defaults() -> None:
    args = build_parser("evaluate").parse_args(["evaluate", "--run-dir", "r", "--data", "d.h5"])
    assert args.run_dir == "r"
    assert args.data == "d.h5"
    assert args.out_dir is None
    assert args.data_label == "CMS Open Data"
    assert args.simulated is False
    assert args.overwrite is False
    assert args.seed == 0
    assert args.max_events is None
    assert EVALUATIONS == "evaluations"


def test_options_are_parsed() -> None:
    argv = ["--run-dir", "r", "--electrons", "e1.h5", "e2.h5", "--photons", "p.h5", "--out-dir", "o"]
    argv += ["--data-label", "Geant4 sample", "--simulated", "--max-events", "10", "--seed", "3"]
    args = build_parser("evaluate").parse_args(["evaluate", *argv])
    assert args.electrons == ["e1.h5", "e2.h5"]
    assert args.photons == ["p.h5"]
    assert (args.out_dir, args.data_label, args.simulated, args.max_events, args.seed) == (
        "o",
        "Geant4 sample",
        True,
        10,
        3,
    )


def test_run_dir_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--data", "d.h5"], capsys) == "egid: error: the following arguments are required: --run-dir\n"


def test_a_file_as_out_dir_is_refused_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    err = _run(["--run-dir", str(tmp_path / "nowhere"), "--data", "d.h5", "--out-dir", str(file)], capsys)
    assert err == f"egid: error: {file}: exists and is not a directory\n"


def test_a_missing_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_crops(tmp_path / "crops.hdf5", 4, label=1.0)
    run_dir = tmp_path / "nowhere"
    err = _run(["--run-dir", str(run_dir), "--data", str(data)], capsys)
    assert err == f"egid: error: {run_dir}: no such model directory\n"
    assert not run_dir.exists()


def test_a_folder_without_models_is_refused_and_left_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_crops(tmp_path / "crops.hdf5", 4, label=1.0)
    empty = tmp_path / "empty"
    empty.mkdir()
    err = _run(["--run-dir", str(empty), "--data", str(data)], capsys)
    assert err == (
        f"egid: error: {empty}: no manifest.json here, in models/ or in their subfolders; not an egid run directory\n"
    )
    assert list(empty.iterdir()) == []


def test_negative_max_events_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = _run(["--run-dir", "r", "--data", "d.h5", "--max-events", "-5"], capsys)
    assert err.startswith("egid: error: argument --max-events: must be an integer >= 2")
