"""Tests for egid.pipelines.commands.run_all (``egid run``): its options, and the refusals made before anything
(run directory, cache, simulated sample) is created."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from egid.evaluation.metrics_schema import SPLITS
from egid.pipelines.commands.run_all import CNN_PROBE_EVENTS
from egid.pipelines.run import build_parser, main
from tests.conftest import write_crops


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser("run").parse_args(["run", *argv])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (the default run directory is reports/runs/<name> below it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def files(workdir: Path) -> list[str]:
    """Enough toy events (60 per class) for every split part and three CNN folds."""
    electrons = write_crops(workdir / "inputs" / "e.h5", 60, label=1.0, seed=1)
    photons = write_crops(workdir / "inputs" / "p.h5", 60, label=0.0, seed=2)
    return ["--electrons", str(electrons), "--photons", str(photons)]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``egid run ARGV``; it must exit 2 with one error line and nothing on stdout."""
    assert main(["run", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("egid: error: ")
    return captured.err.removeprefix("egid: error: ").rstrip("\n")


def created(workdir: Path) -> set[str]:
    """What exists in the working directory besides the input files."""
    return {p.name for p in workdir.iterdir()} - {"inputs", "notes.txt", "full"}


def test_unset_options_are_absent_so_the_config_file_can_supply_them() -> None:
    args = parse([])
    assert set(vars(args)) == {"verbose", "command", "handler"}


def test_options_are_parsed() -> None:
    args = parse(
        ["--no-cnn", "--trials", "3", "--no-trigger", "--cnn-folds", "4", "--stacked-trials", "2", "--name", "x"]
    )
    assert (args.cnn, args.trials, args.trigger, args.cnn_folds, args.stacked_trials, args.name) == (
        False,
        3,
        False,
        4,
        2,
        "x",
    )
    args = parse(
        ["--simulated", "--resume", "--out-dir", "d", "--data-label", "Geant4 sample", "--cnn-init", "scratch"]
    )
    assert (args.simulated, args.resume, args.out_dir, args.data_label, args.cnn_init) == (
        True,
        True,
        "d",
        "Geant4 sample",
        "scratch",
    )
    assert parse(["--electrons", "a.h5", "b.h5", "--electrons", "c.h5"]).electrons == ["a.h5", "b.h5", "c.h5"]


def test_constants() -> None:
    assert SPLITS == ("train", "validation", "test")  # the split column run writes
    assert CNN_PROBE_EVENTS == 256


@pytest.mark.parametrize("name", ["a/b", "..", "."])
def test_a_name_that_is_not_a_folder_name_is_refused(
    name: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--name", name], capsys) == f"--name: must be a plain folder name, got {name!r}"
    assert created(workdir) == set()


def test_a_non_empty_run_directory_is_refused(
    files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "full").mkdir()
    (workdir / "full" / "mine.txt").write_text("x")
    message = refused([*files, "--out-dir", "full", "--cache-dir", "cache"], capsys)
    assert message == "full: run directory already exists and is not empty (use --resume to continue it)"
    assert [p.name for p in (workdir / "full").iterdir()] == ["mine.txt"]
    assert created(workdir) == set()


def test_resume_needs_a_run(files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = refused([*files, "--resume", "--out-dir", "nowhere", "--cache-dir", "cache"], capsys)
    assert message == "nowhere: nothing to resume, no such run directory"
    (workdir / "full").mkdir()
    message = refused([*files, "--resume", "--out-dir", "full", "--cache-dir", "cache"], capsys)
    assert message == "full: nothing to resume, no config.yaml (not an egid run directory)"
    assert list((workdir / "full").iterdir()) == []
    assert created(workdir) == set()


@pytest.mark.parametrize("where", ["--out-dir", "--cache-dir"])
def test_a_file_where_a_folder_goes_is_refused(
    where: str, files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "notes.txt").write_text("x")
    paths = {"--out-dir": "run", "--cache-dir": "cache", where: "notes.txt"}
    argv = [*files, *(text for pair in paths.items() for text in pair)]
    assert refused(argv, capsys) == "notes.txt: exists and is not a directory"
    assert created(workdir) == set()


def test_too_few_input_events_are_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    electrons = write_crops(workdir / "inputs" / "e.h5", 2, label=1.0, seed=1)
    photons = write_crops(workdir / "inputs" / "p.h5", 2, label=0.0, seed=2)
    message = refused(["--electrons", str(electrons), "--photons", str(photons), "--out-dir", "run"], capsys)
    assert message == (
        f"{electrons}, {photons}: too few events, the train split holds 2 electrons and needs at least 3; "
        "use more events (--max-events, --events-per-class)"
    )
    assert created(workdir) == set()


def test_without_the_cnn_every_split_part_needs_two_events_of_each_class(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    electrons = write_crops(workdir / "inputs" / "e.h5", 5, label=1.0, seed=1)
    photons = write_crops(workdir / "inputs" / "p.h5", 5, label=0.0, seed=2)
    argv = ["--electrons", str(electrons), "--photons", str(photons), "--out-dir", "run", "--no-cnn"]
    message = refused([*argv, "--max-events", "6"], capsys)
    assert message.endswith(
        "too few events, the validation split holds 0 electrons and needs at least 2; "
        "use more events (--max-events, --events-per-class)"
    )
    assert created(workdir) == set()


def test_a_simulated_sample_too_small_is_refused_before_it_is_simulated(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused(["--events-per-class", "2", "--out-dir", "run", "--cache-dir", "cache"], capsys)
    assert message == (
        "--events-per-class: too few events, the train split holds 2 electrons and needs at least 3; "
        "use more events (--max-events, --events-per-class)"
    )
    assert created(workdir) == set()


def test_a_missing_cnn_start_is_refused(files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = refused([*files, "--out-dir", "run", "--cache-dir", "cache", "--cnn-init", "missing.pt"], capsys)
    assert message == "missing.pt: no such file; make one with `egid pretrain --output missing.pt`"
    assert created(workdir) == set()


def test_an_unreadable_cnn_start_is_refused(
    files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "notes.txt").write_text("not weights")
    message = refused([*files, "--out-dir", "run", "--cache-dir", "cache", "--cnn-init", "notes.txt"], capsys)
    assert message.startswith("notes.txt: unreadable pretrained CNN weights (egid pretrain) (")
    assert created(workdir) == set()


def test_a_missing_config_file_is_refused(files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused([*files, "--out-dir", "run", "--config", "missing.yaml"], capsys) == "missing.yaml: no such file"
    assert created(workdir) == set()


def test_an_unknown_config_key_is_refused(files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "notes.txt").write_text("bogus_key: 1\n")
    message = refused([*files, "--out-dir", "run", "--config", "notes.txt"], capsys)
    assert message.startswith("notes.txt: unknown key 'bogus_key' (valid keys: ")
    assert created(workdir) == set()


def test_thresholds_belong_to_three_class_runs(
    files: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused([*files, "--out-dir", "run", "--thresholds", "10", "20"], capsys)
    assert message == "--thresholds: only for three-class runs (--pions, --with-pions or a --data file holding label 2)"
    assert created(workdir) == set()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cnn-folds", "1"], "argument --cnn-folds: must be an integer >= 2 and <= 100, got '1'"),
        (["--trials", "0"], "argument --trials: must be an integer >= 1"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--thresholds", "x"], "argument --thresholds: invalid float value: 'x'"),
    ],
)
def test_bad_options_are_refused(
    argv: list[str], message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["--out-dir", "run", *argv], capsys).startswith(message)
    assert created(workdir) == set()


@pytest.mark.parametrize("per_class", [3, 5, 8])
def test_data_too_small_for_the_report_is_refused_before_training(
    workdir: Path, per_class: int, capsys: pytest.CaptureFixture[str]
) -> None:
    electrons = write_crops(workdir / "small" / "e.h5", per_class, label=1.0, seed=1)
    photons = write_crops(workdir / "small" / "p.h5", per_class, label=0.0, seed=2)
    argv = ["--electrons", str(electrons), "--photons", str(photons), "--no-cnn", "--out-dir", str(workdir / "run")]
    err = refused(argv, capsys)
    assert "too few events" in err and "needs at least 2" in err
    assert not (workdir / "run").exists()
