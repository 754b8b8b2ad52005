"""Written samples: the real schema, the data layer's validation and the CLI (the cache: test_cache.py)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import file_digest, load_dataset
from egid.pipelines.run import main
from egid.simulation import write_sample


def test_written_files_pass_the_data_layer(tmp_path: Path) -> None:
    electrons, photons = write_sample(tmp_path, 150, seed=1)
    dataset = load_dataset(electrons=electrons, photons=photons)
    assert len(dataset) == 300
    assert dataset.labels.sum() == 150
    assert set(dataset.extras) == {"eta", "converted"}
    n_read = sum(len(images) for _, images in dataset.iter_images(chunk_size=64))  # validates every pixel
    assert n_read == 300
    with h5py.File(photons) as f:
        assert f["X"].dtype == np.float32 and f["X"].compression == "lzf" and f["X"].chunks is not None
        assert f["converted"].dtype == np.uint8 and f["eta"].dtype == np.float32


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a", 100, seed=9)
    second = write_sample(tmp_path / "b", 100, seed=9)
    for p, q in zip(first, second, strict=True):
        assert file_digest(p) == file_digest(q)


def test_cli_simulate_writes_both_classes(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    assert main(["simulate", "--events-per-class", "40", "--out-dir", str(out), "--seed", "2"]) == 0
    dataset = load_dataset(electrons=out / "electron.hdf5", photons=out / "photon.hdf5")
    assert len(dataset) == 80


def test_cli_simulate_rejects_a_bad_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--events-per-class", "0", "--out-dir", str(tmp_path)]) == 2
    assert "argument --events-per-class: must be an integer >= 1" in capsys.readouterr().err


def test_cli_simulate_writes_the_particles_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "three"
    argv = ["simulate", "--events-per-class", "30", "--out-dir", str(out), "--particles", "pion,electron,photon"]
    assert main(argv) == 0
    assert sorted(path.name for path in out.iterdir()) == ["electron.hdf5", "photon.hdf5", "pion.hdf5"]
    dataset = load_dataset(electrons=out / "electron.hdf5", photons=out / "photon.hdf5", pions=out / "pion.hdf5")
    assert np.bincount(dataset.labels.astype(int)).tolist() == [30, 30, 30]
    with h5py.File(out / "pion.hdf5") as f:
        assert set(np.unique(f["y"][:])) == {2.0} and set(np.unique(f["charge"][:])) <= {-1, 1}


@pytest.mark.parametrize("choice", ["kaon", "electron,electron", "", "electron,,photon"])
def test_cli_simulate_refuses_a_bad_particle_choice_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], choice: str
) -> None:
    out = tmp_path / "none"
    assert main(["simulate", "--events-per-class", "5", "--out-dir", str(out), "--particles", choice]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("egid: error: argument --particles: particles [")
    assert not out.exists()
