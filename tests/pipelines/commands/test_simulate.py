"""Tests for egid.pipelines.commands.simulate: the files it writes, its options and its refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.pipelines.run import build_parser, main
from egid.simulation import write_sample


def test_writes_the_sample_that_write_sample_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "sample"
    assert main(["simulate", "--events-per-class", "4", "--out-dir", str(out), "--seed", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["electron.hdf5", "photon.hdf5"]
    reference = write_sample(tmp_path / "reference", 4, seed=3)
    for path in reference:
        with h5py.File(path, "r") as want, h5py.File(out / path.name, "r") as got:
            assert sorted(got) == sorted(want)
            for key in want:
                np.testing.assert_array_equal(got[key][()], want[key][()])
    with h5py.File(out / "electron.hdf5", "r") as f:
        assert f["X"].shape == (4, 32, 32, 2)
        np.testing.assert_array_equal(f["y"][()], np.ones(4))
    with h5py.File(out / "photon.hdf5", "r") as f:
        np.testing.assert_array_equal(f["y"][()], np.zeros(4))
    assert capsys.readouterr().err == ""


def test_pions_on_request(tmp_path: Path) -> None:
    assert main(["simulate", "--events-per-class", "2", "--out-dir", str(tmp_path), "--particles", "pion"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["pion.hdf5"]
    with h5py.File(tmp_path / "pion.hdf5", "r") as f:
        np.testing.assert_array_equal(f["y"][()], [2.0, 2.0])
        assert {"charge", "int_depth"} <= set(f)


def test_defaults() -> None:
    args = build_parser("simulate").parse_args(["simulate", "--events-per-class", "7", "--out-dir", "d"])
    assert args.events_per_class == 7
    assert args.out_dir == Path("d")
    assert args.particles == ("electron", "photon")
    assert args.seed == 0
    assert args.overwrite is False


def test_particles_are_parsed_with_spaces() -> None:
    args = build_parser("simulate").parse_args(
        ["simulate", "--events-per-class", "1", "--out-dir", "d", "--particles", "photon, pion"]
    )
    assert tuple(args.particles) == ("photon", "pion")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--events-per-class", "0"],
            "argument --events-per-class: must be an integer >= 1 and <= 1000000000, got '0'",
        ),
        (["--events-per-class", "2", "--seed", "-1"], "argument --seed: must be an integer >= 0"),
        (
            ["--events-per-class", "2", "--particles", "electron,muon"],
            "argument --particles: particles ['electron', 'muon']: unknown 'muon'; "
            "choose one or more of electron, photon, pion, each once",
        ),
        ([], "the following arguments are required: --events-per-class"),
    ],
)
def test_bad_options_are_one_line_and_create_nothing(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["simulate", "--out-dir", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"egid: error: {message}")
    assert err.count("\n") == 1
    assert not out.exists()


def test_a_file_as_out_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    assert main(["simulate", "--events-per-class", "2", "--out-dir", str(file)]) == 2
    assert capsys.readouterr().err == f"egid: error: {file}: exists and is not a directory\n"
    assert file.read_text() == "x"


def test_existing_files_are_kept_without_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "photon.hdf5").write_bytes(b"old")
    assert main(["simulate", "--events-per-class", "2", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"egid: error: --out-dir {tmp_path / 'photon.hdf5'}: already exists; give --overwrite to replace it\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["photon.hdf5"]
    assert (tmp_path / "photon.hdf5").read_bytes() == b"old"
    assert main(["simulate", "--events-per-class", "2", "--out-dir", str(tmp_path), "--overwrite"]) == 0
    with h5py.File(tmp_path / "photon.hdf5", "r") as f:
        assert f["X"].shape == (2, 32, 32, 2)


def test_an_unrelated_file_in_out_dir_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("mine")
    assert main(["simulate", "--events-per-class", "1", "--out-dir", str(tmp_path), "--particles", "photon"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README", "photon.hdf5"]
