"""Tests for egid.pipelines.commands.predict: its options and the refusals made before any model is loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from egid.pipelines.run import build_parser, main
from tests.conftest import write_crops


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_crops(tmp_path / "crops.hdf5", 4, label=1.0)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["predict", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    return captured.err


def test_options() -> None:
    args = build_parser("predict").parse_args(["predict", "--run-dir", "r", "--data", "d.h5", "--output", "o.csv"])
    assert (args.run_dir, args.data, args.output, args.overwrite) == ("r", "d.h5", "o.csv", False)


@pytest.mark.parametrize("missing", ["--run-dir", "--data", "--output"])
def test_required_options(missing: str, capsys: pytest.CaptureFixture[str]) -> None:
    given = {"--run-dir": "r", "--data": "d.h5", "--output": "o.csv"}
    del given[missing]
    argv = [text for pair in given.items() for text in pair]
    assert _run(argv, capsys) == f"egid: error: the following arguments are required: {missing}\n"


@pytest.mark.parametrize("name", ["scores.txt", "scores.hdf5", "scores"])
def test_unknown_output_formats_are_refused(
    name: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / name
    suffix = out.suffix
    err = _run(["--run-dir", str(tmp_path / "nowhere"), "--data", str(data), "--output", str(out)], capsys)
    assert err == f"egid: error: {out}: unknown output format '{suffix}', expected one of .parquet, .csv\n"
    assert not out.exists()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_the_input_file_is_never_the_output(
    overwrite: list[str], data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = data.with_suffix(".csv")
    shutil.copyfile(data, renamed)
    before = renamed.read_bytes()
    err = _run(["--run-dir", "nowhere", "--data", str(renamed), "--output", str(renamed), *overwrite], capsys)
    assert err == (
        f"egid: error: --output {renamed}: is the input {renamed}; writing it would destroy the input, "
        "choose another path\n"
    )
    assert renamed.read_bytes() == before


def test_a_directory_output_is_refused(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "scores.csv"
    folder.mkdir()
    err = _run(["--run-dir", "nowhere", "--data", str(data), "--output", str(folder)], capsys)
    assert err == f"egid: error: {folder}: is a directory, expected the path of a file to write\n"


def test_an_existing_output_needs_overwrite(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.csv"
    out.write_text("mine\n")
    run_dir = tmp_path / "nowhere"
    err = _run(["--run-dir", str(run_dir), "--data", str(data), "--output", str(out)], capsys)
    assert err == f"egid: error: --output {out}: already exists; give --overwrite to replace it\n"
    # With --overwrite the next check is the run directory's; the old scores stay until new ones exist.
    err = _run(["--run-dir", str(run_dir), "--data", str(data), "--output", str(out), "--overwrite"], capsys)
    assert err == f"egid: error: {run_dir}: no such model directory\n"
    assert out.read_text() == "mine\n"


def test_a_folder_without_models_is_refused(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "scores.parquet"
    err = _run(["--run-dir", str(empty), "--data", str(data), "--output", str(out)], capsys)
    assert err == (
        f"egid: error: {empty}: no manifest.json here, in models/ or in their subfolders; not an egid run directory\n"
    )
    assert not out.exists()
