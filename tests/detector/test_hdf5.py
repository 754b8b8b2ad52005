"""The HDF5 layer: schema round trip, streaming and the atomic writers."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import EventFile, EventWriter, InputError, atomic_path
from tests.conftest import toy_crops


def test_writer_produces_the_real_schema(tmp_path: Path) -> None:
    images = toy_crops(100, label=1.0, seed=3)
    path = tmp_path / "e.hdf5"
    with EventWriter(path, extras={"eta": np.float32}) as writer:
        writer.append(images[:60], np.ones(60), eta=np.linspace(-1, 1, 60))
        writer.append(images[60:], np.ones(40), eta=np.linspace(-1, 1, 40))
    with h5py.File(path, "r") as f:
        assert f["X"].dtype == np.float32 and f["X"].shape == (100, 32, 32, 2)
        assert f["y"].dtype == np.float32 and f["y"].shape == (100,)
        assert f["X"].compression == "lzf" and f["X"].chunks is not None
        np.testing.assert_array_equal(f["X"][:], images)
    file = EventFile(path, expected_label=1.0)
    assert file.n_events == 100 and file.extra_names == ("eta",)


def test_iter_blocks_streams_the_selected_rows(tmp_path: Path) -> None:
    images = toy_crops(50, label=0.0, seed=4)
    path = tmp_path / "p.hdf5"
    with EventWriter(path) as writer:
        writer.append(images, np.zeros(50))
    wanted = np.array([0, 3, 4, 17, 18, 49])
    blocks = list(EventFile(path).iter_blocks(wanted, chunk_size=4))
    assert [len(b) for b, _ in blocks] == [4, 2]
    np.testing.assert_array_equal(np.concatenate([x for _, x in blocks]), images[wanted])


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    with pytest.raises(RuntimeError, match="boom"), EventWriter(path) as writer:
        writer.append(toy_crops(5, label=1.0, seed=0), np.ones(5))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_previous_artifact_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "model.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half-writ")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_truncated_file_fails_while_streaming_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    with EventWriter(path) as writer:
        writer.append(toy_crops(400, label=1.0, seed=5), np.ones(400))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match=rf"^{path}: .*truncated or corrupted"):
        file = EventFile(path)
        for _ in file.iter_blocks(np.arange(file.n_events), chunk_size=64):
            pass
