"""Tests for egid.pipelines.commands.check: the summary of valid files, one error line for bad ones."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.pipelines.run import main
from egid.simulation import write_sample
from tests.conftest import toy_crops, write_crops, write_datasets


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    electrons, photons = write_sample(tmp_path_factory.mktemp("sim"), 30, seed=0)
    return electrons, photons


def _energy_sums_gev(*paths: Path) -> np.ndarray:
    """Each event's summed crop energy in GeV, read image by image (file units are GeV / 50)."""
    sums = []
    for path in paths:
        with h5py.File(path, "r") as f:
            for image in f["X"]:
                sums.append(50.0 * float(np.sum(image[:, :, 0], dtype=np.float64)))
    return np.array(sums)


def test_summary_of_a_valid_sample(sample: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    electrons, photons = sample
    assert main(["check", "--electrons", str(electrons), "--photons", str(photons)]) == 0
    sums = _energy_sums_gev(electrons, photons)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"files: {electrons}, {photons}",
        "events: 60 (30 electrons, 30 photons)",
        f"summed crop energy: mean {sums.mean():.1f} GeV, median {np.median(sums):.1f} GeV",
        "per-event extras: converted, eta",
        "ok: every image passed validation",
    ]
    # The 50 GeV (pT) particles with |eta| < 1.2 leave 50-91 GeV in the crop on average.
    assert 45 < sums.mean() < 91


def test_a_single_data_file_without_extras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crops = np.concatenate([toy_crops(4, label=1.0, seed=1), toy_crops(6, label=0.0, seed=2)])
    data = write_datasets(tmp_path / "data.h5", X=crops, y=np.r_[np.ones(4), np.zeros(6)].astype(np.float32))
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "events: 10 (4 electrons, 6 photons)\n" in out
    assert "per-event extras: none\n" in out


def test_pions_are_counted_as_pions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crops = np.concatenate([toy_crops(n, label=label, seed=n) for n, label in ((4, 1.0), (6, 0.0), (5, 2.0))])
    labels = np.r_[np.ones(4), np.zeros(6), np.full(5, 2.0)].astype(np.float32)
    data = write_datasets(tmp_path / "data.h5", X=crops, y=labels)
    assert main(["check", "--data", str(data)]) == 0
    assert "events: 15 (4 electrons, 6 photons, 5 pions)\n" in capsys.readouterr().out


def test_max_events_limits_the_events_checked(sample: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    electrons, photons = sample
    assert main(["check", "--electrons", str(electrons), "--photons", str(photons), "--max-events", "10"]) == 0
    assert "events: 10 (" in capsys.readouterr().out


def test_nan_pixels_are_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crops = toy_crops(5, label=1.0, seed=3)
    crops[3, 16, 16, 0] = np.nan
    bad = write_datasets(tmp_path / "bad.h5", X=crops, y=np.ones(5, np.float32))
    photons = write_crops(tmp_path / "photon.h5", 5, label=0.0)
    assert main(["check", "--electrons", str(bad), "--photons", str(photons)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"egid: error: {bad}: 1 images contain NaN or inf values (first at index 3)\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{tmp}/nope.h5"], "{tmp}/nope.h5: no such file"),
        (
            ["--electrons", "{tmp}/e.h5"],
            "--photons: both --electrons and --photons are needed (or a single --data file)",
        ),
        (
            ["--data", "{tmp}/e.h5", "--electrons", "{tmp}/e.h5"],
            "--data: give either --data or --electrons/--photons (/--pions), not both",
        ),
        (
            ["--electrons", "{tmp}/x*.h5", "--photons", "{tmp}/e.h5"],
            "--electrons: pattern '{tmp}/x*.h5' matches no file",
        ),
        (["--data", "{tmp}/notes.txt"], "{tmp}/notes.txt: not an HDF5 file"),
        (["--data", "{tmp}/e.h5", "--max-events", "1"], "argument --max-events: must be an integer >= 2"),
    ],
)
def test_bad_inputs_are_one_error_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_crops(tmp_path / "e.h5", 3, label=1.0)
    (tmp_path / "notes.txt").write_text("not data\n")
    assert main(["check", *(arg.format(tmp=tmp_path) for arg in argv)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("egid: error: " + message.format(tmp=tmp_path))
    assert captured.err.count("\n") == 1


def test_electrons_labelled_as_photons_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photons = write_crops(tmp_path / "p.h5", 4, label=0.0)
    assert main(["check", "--electrons", str(photons), "--photons", str(photons)]) == 2
    assert capsys.readouterr().err == (
        f"egid: error: {photons}: expected an electron file (y = 1) but 4 of 4 events carry photon labels\n"
    )
