"""Tests for egid.pipelines.commands.pretrain: its options and the refusals made before any training."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from egid.models.pretrained import PRETRAINING_EVENTS_PER_CLASS, SHIPPED_THREE_CLASS_WEIGHTS, SHIPPED_WEIGHTS
from egid.pipelines.run import build_parser, main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["pretrain", *argv])
    captured = capsys.readouterr()
    assert captured.out == ""
    return status, captured.err


def test_defaults() -> None:
    args = build_parser("pretrain").parse_args(["pretrain", "--output", "w.pt"])
    assert args.output == "w.pt"
    assert args.events_per_class == PRETRAINING_EVENTS_PER_CLASS
    assert args.seed == 0
    assert args.threads is None
    assert args.overwrite is False
    assert args.with_pions is False


def test_options_are_parsed() -> None:
    argv = ["pretrain", "--output", "w.pt", "--events-per-class", "12", "--seed", "4", "--threads", "1"]
    args = build_parser("pretrain").parse_args([*argv, "--with-pions"])
    assert (args.events_per_class, args.seed, args.threads, args.with_pions) == (12, 4, 1, True)


@pytest.mark.parametrize("shipped", [SHIPPED_WEIGHTS, SHIPPED_THREE_CLASS_WEIGHTS])
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_the_shipped_weights_are_never_an_output(
    shipped: Path, overwrite: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = shipped.read_bytes()
    status, err = _run(["--output", str(shipped), "--events-per-class", "1", "--with-pions", *overwrite], capsys)
    assert status == 2
    assert err == (
        f"egid: error: --output {shipped}: is the input {shipped}; writing it would destroy the "
        "input, choose another path\n"
    )
    assert shipped.read_bytes() == before


def test_a_link_to_the_shipped_weights_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "weights.pt"
    link.symlink_to(SHIPPED_WEIGHTS)
    status, err = _run(["--output", str(link), "--overwrite"], capsys)
    assert status == 2
    assert err.startswith(f"egid: error: --output {link}: is the input {SHIPPED_WEIGHTS}; ")


def test_an_output_whose_description_is_the_shipped_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # FILE.json of a FILE beside the shipped weights with the same stem would be the shipped description.
    description = SHIPPED_WEIGHTS.with_suffix(".json")
    output = SHIPPED_WEIGHTS.with_suffix(".bin")
    assert not output.exists()
    status, err = _run(["--output", str(output), "--overwrite"], capsys)
    assert status == 2
    assert err.startswith(f"egid: error: --output {description}: is the input {description}; ")
    assert not output.exists()


def test_a_json_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.json"
    status, err = _run(["--output", str(out)], capsys)
    assert status == 2
    assert err == (
        f"egid: error: --output {out}: the weights file may not end in .json, its description is written to FILE.json\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_directory_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(["--output", str(tmp_path)], capsys)
    assert status == 2
    assert err == f"egid: error: {tmp_path}: is a directory, expected the path of the weights file to write\n"


@pytest.mark.parametrize("existing", ["w.pt", "w.json"])
def test_an_existing_output_or_description_needs_overwrite(
    existing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / existing).write_text("mine")
    status, err = _run(["--output", str(tmp_path / "w.pt")], capsys)
    assert status == 2
    assert err == f"egid: error: --output {tmp_path / existing}: already exists; give --overwrite to replace it\n"
    assert (tmp_path / existing).read_text() == "mine"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--events-per-class", "0", "argument --events-per-class: must be an integer >= 1"),
        ("--threads", "0", "argument --threads: must be an integer >= 1"),
        ("--seed", "x", "argument --seed: must be an integer >= 0"),
    ],
)
def test_bad_numbers_are_one_line(
    option: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _run(["--output", str(tmp_path / "w.pt"), option, value], capsys)
    assert status == 2
    assert err.startswith(f"egid: error: {message}")
    assert err.count("\n") == 1


def test_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run([], capsys)
    assert status == 2
    assert err == "egid: error: the following arguments are required: --output\n"


def test_a_copy_of_the_shipped_weights_elsewhere_is_only_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.pt"
    shutil.copyfile(SHIPPED_WEIGHTS, copy)
    status, err = _run(["--output", str(copy)], capsys)
    assert status == 2
    assert err == f"egid: error: --output {copy}: already exists; give --overwrite to replace it\n"


@pytest.mark.parametrize("events", ["1", "8", "39"])
def test_too_few_events_to_hold_out_both_classes_are_one_line(
    events: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _run(["--output", str(tmp_path / "w.pt"), "--events-per-class", events], capsys)
    assert status == 2
    assert err == (
        "egid: error: --events-per-class: pretraining needs at least 40 events per class (its held-out share must "
        f"hold 2 of each), got {events}\n"
    )
    assert list(tmp_path.iterdir()) == []
