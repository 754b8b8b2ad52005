"""One vocabulary on the command line: every 0.1 spelling (an option or the ``export`` command) is read as its new
name, with one deprecation line on stderr per use, and nothing after ``--`` is touched."""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import pytest

from egid.pipelines.commands import COMMANDS
from egid.pipelines.run import build_parser, main
from egid.pipelines.vocabulary import (
    REMOVED_IN,
    RENAMED_COMMANDS,
    RENAMED_OPTIONS,
    renamed_arguments,
    renamed_command,
)

RENAMES = [(command, old, new) for command, renames in RENAMED_OPTIONS.items() for old, new in renames.items()]


def notice(old: str, new: str) -> str:
    return f"egid: warning: {old} is deprecated, use {new} (the old spelling goes in egid 0.3)"


def test_the_old_spellings_go_in_0_3() -> None:
    assert REMOVED_IN == "0.3"
    assert RENAMED_COMMANDS == {"export": "deploy"}


@pytest.mark.parametrize(("command", "old", "new"), RENAMES, ids=[f"{c} {o}" for c, o, _ in RENAMES])
def test_every_old_spelling_becomes_its_new_option_with_one_notice(
    command: str, old: str, new: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ("--seed", "1", old, "VALUE", "--verbose")
    assert renamed_arguments(command, arguments) == ["--seed", "1", new, "VALUE", "--verbose"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [notice(old, new)]


@pytest.mark.parametrize(("command", "old", "new"), RENAMES, ids=[f"{c} {o}" for c, o, _ in RENAMES])
def test_the_equals_form_keeps_its_value(command: str, old: str, new: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert renamed_arguments(command, [f"{old}=a=b"]) == [f"{new}=a=b"]
    assert capsys.readouterr().err.splitlines() == [notice(old, new)]


def test_each_use_gives_its_own_notice(capsys: pytest.CaptureFixture[str]) -> None:
    rewritten = renamed_arguments("deploy", ["--model-dir", "run", "--out=fw", "--events", "9", "--out", "x"])
    assert rewritten == ["--run-dir", "run", "--out-dir=fw", "--max-events", "9", "--out-dir", "x"]
    assert capsys.readouterr().err.splitlines() == [
        notice("--model-dir", "--run-dir"),
        notice("--out", "--out-dir"),
        notice("--events", "--max-events"),
        notice("--out", "--out-dir"),
    ]


def test_nothing_after_a_bare_double_dash_is_touched(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--out", "dir", "--", "--out", "--n=3"]
    assert renamed_arguments("simulate", arguments) == ["--out-dir", "dir", "--", "--out", "--n=3"]
    assert capsys.readouterr().err.splitlines() == [notice("--out", "--out-dir")]
    assert arguments == ["--out", "dir", "--", "--out", "--n=3"]  # the caller's list is not changed


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("simulate", ["--events-per-class", "3", "--out-dir", "d"]),  # the new spellings
        ("run", ["--n", "3"]),  # --n is an old spelling of simulate only
        ("check", ["--out", "x", "--model-dir", "y"]),  # a command without renames
        ("simulate", ["--outdir", "x", "--n-per-class", "2", "--output", "f"]),  # only whole option names
    ],
)
def test_other_arguments_pass_unchanged_and_silently(
    command: str, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert renamed_arguments(command, arguments) == arguments
    assert capsys.readouterr().err == ""


def test_renamed_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert renamed_command("export") == "deploy"
    assert capsys.readouterr().err.splitlines() == [notice("egid export", "egid deploy")]
    for name in COMMANDS:
        assert renamed_command(name) == name
    assert renamed_command("exports") == "exports"
    assert capsys.readouterr().err == ""


def _options(command: str) -> set[str]:
    (subparsers,) = (a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices[command]._option_string_actions)


@pytest.mark.parametrize("command", list(RENAMED_OPTIONS))
def test_every_new_spelling_is_an_option_of_its_command_and_no_old_one_is(command: str) -> None:
    options = _options(command)
    assert command in COMMANDS
    assert set(RENAMED_OPTIONS[command].values()) <= options
    assert not set(RENAMED_OPTIONS[command]) & options


def test_egid_simulate_with_the_old_options_still_works_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sample"
    assert main(["simulate", "--n", "3", "--out", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert warnings == [notice("--n", "--events-per-class"), notice("--out", "--out-dir")]
    for name, label in (("electron.hdf5", 1.0), ("photon.hdf5", 0.0)):
        with h5py.File(out / name, "r") as f:
            assert f["X"].shape == (3, 32, 32, 2) and f["y"][:].tolist() == [label] * 3


def test_egid_export_is_egid_deploy_with_its_old_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The deploy command runs and reads the renamed --model-dir: its error names the run directory given there."""
    nowhere = tmp_path / "nowhere"
    command = ["-v", "export", "--model-dir", str(nowhere), "--table", "t.parquet", "--target", "c"]
    assert main([*command, "--out", str(tmp_path / "fw")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        notice("egid export", "egid deploy"),
        notice("--model-dir", "--run-dir"),
        notice("--out", "--out-dir"),
        f"egid: error: {nowhere}: no such model directory",
    ]
