"""Written samples: the real schema, the data layer's validation, the CLI and the default-sample cache."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import egid.simulation.cache as sim_cache
from egid.detector import file_digest, load_dataset
from egid.pipelines.run import main
from egid.simulation import default_sample, sample_dir, write_sample


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
    assert "argument --n: must be an integer >= 1" in capsys.readouterr().err


def test_default_sample_is_simulated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_write = sim_cache.write_sample

    def counting_write(*args: object, **kwargs: object) -> tuple[Path, Path]:
        calls.append(args)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(sim_cache, "write_sample", counting_write)
    first = default_sample(60, seed=4, cache_dir=tmp_path)
    second = default_sample(60, seed=4, cache_dir=tmp_path)
    assert first == second and len(calls) == 1
    assert first[0].parent == sample_dir(tmp_path, 60, seed=4)
    assert [p.name for p in tmp_path.iterdir()] == [first[0].parent.name]  # no temporary left behind


def test_killed_simulation_leaves_nothing_to_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def dying_write(out_dir: Path, n: int, *, seed: int) -> tuple[Path, Path]:
        (Path(out_dir) / "electron.hdf5").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(sim_cache, "write_sample", dying_write)
    with pytest.raises(KeyboardInterrupt):
        default_sample(60, seed=4, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    electrons, photons = default_sample(60, seed=4, cache_dir=tmp_path)
    assert len(load_dataset(electrons=electrons, photons=photons)) == 120
