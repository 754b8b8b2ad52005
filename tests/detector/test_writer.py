"""EventWriter: crops in the real layout (lzf-compressed, chunked float32), appended block by block, written whole or
not at all, with wrong shapes refused."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector.schema import IMAGE_SHAPE
from egid.detector.writer import WRITE_CHUNK_EVENTS, EventWriter


def _block(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, size=(n, *IMAGE_SHAPE))


def test_blocks_round_trip_as_chunked_lzf_float32(tmp_path: Path) -> None:
    path = tmp_path / "electron.hdf5"
    first, second = _block(3, seed=0), _block(70, seed=1)  # float64 in, float32 out
    eta = np.linspace(-1.2, 1.2, 73)
    converted = np.arange(73) % 2
    with EventWriter(path, extras={"eta": np.float32, "converted": np.uint8}) as writer:
        writer.append(first, [1.0, 0.0, 1.0], eta=eta[:3], converted=converted[:3])
        writer.append(second, np.ones(70), eta=eta[3:], converted=converted[3:])
    with h5py.File(path, "r") as f:
        assert set(f) == {"X", "y", "eta", "converted"}
        x = f["X"]
        assert x.dtype == np.float32 and x.shape == (73, *IMAGE_SHAPE) and x.maxshape == (None, *IMAGE_SHAPE)
        assert x.compression == "lzf" and x.chunks == (WRITE_CHUNK_EVENTS, *IMAGE_SHAPE)
        np.testing.assert_array_equal(x[:], np.concatenate([first, second]).astype(np.float32))
        assert f["y"].dtype == np.float32 and f["y"].compression == "lzf"
        np.testing.assert_array_equal(f["y"][:], [1.0, 0.0, 1.0, *[1.0] * 70])
        assert f["eta"].dtype == np.float32 and f["converted"].dtype == np.uint8
        np.testing.assert_array_equal(f["eta"][:], eta.astype(np.float32))
        np.testing.assert_array_equal(f["converted"][:], converted)


def test_a_writer_without_blocks_writes_an_empty_file_of_the_schema(tmp_path: Path) -> None:
    with EventWriter(tmp_path / "empty.hdf5"):
        pass
    with h5py.File(tmp_path / "empty.hdf5", "r") as f:
        assert (f["X"].shape, f["y"].shape) == ((0, *IMAGE_SHAPE), (0,))


def test_an_exception_inside_the_block_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "photon.hdf5"
    with pytest.raises(ValueError, match=r"^simulation failed$"), EventWriter(path) as writer:
        writer.append(_block(5, seed=2), np.zeros(5))
        raise ValueError("simulation failed")
    assert list(tmp_path.iterdir()) == []


def test_an_exception_inside_the_block_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "photon.hdf5"
    with EventWriter(path) as writer:
        writer.append(_block(4, seed=3), np.zeros(4))
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt), EventWriter(path) as writer:
        writer.append(_block(9, seed=4), np.zeros(9))
        raise KeyboardInterrupt
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["photon.hdf5"]


@pytest.mark.parametrize(
    ("shape", "labels", "found"),
    [
        ((2, 32, 32), 2, r"\(2, 32, 32\) and \(2,\)"),
        ((2, 32, 32, 1), 2, r"\(2, 32, 32, 1\) and \(2,\)"),
        ((2, 2, 32, 32), 2, r"\(2, 2, 32, 32\) and \(2,\)"),
        ((2, 32, 32, 2), 3, r"\(2, 32, 32, 2\) and \(3,\)"),
    ],
)
def test_wrong_shapes_are_refused_with_what_was_found(tmp_path: Path, shape: tuple, labels: int, found: str) -> None:
    with EventWriter(tmp_path / "x.hdf5") as writer:
        with pytest.raises(ValueError, match=rf"^expected images \(n, 32, 32, 2\) and labels \(n,\), got {found}$"):
            writer.append(np.zeros(shape), np.zeros(labels))
        writer.append(np.zeros((1, *IMAGE_SHAPE)), [0.0])  # the file stays usable
    with h5py.File(tmp_path / "x.hdf5", "r") as f:
        assert f["X"].shape[0] == f["y"].shape[0] == 1


def test_labels_of_two_dimensions_are_refused(tmp_path: Path) -> None:
    with (
        EventWriter(tmp_path / "x.hdf5") as writer,
        pytest.raises(ValueError, match=r"got \(2, 32, 32, 2\) and \(2, 1\)"),
    ):
        writer.append(np.zeros((2, *IMAGE_SHAPE)), np.zeros((2, 1)))


@pytest.mark.parametrize(
    ("given", "message"),
    [({}, r"^expected extras \['eta'\], got \[\]$"), ({"eta": [0.0], "phi": [0.0]}, r"got \['eta', 'phi'\]$")],
)
def test_the_extras_must_be_the_declared_ones(tmp_path: Path, given: dict, message: str) -> None:
    with (
        EventWriter(tmp_path / "x.hdf5", extras={"eta": np.float32}) as writer,
        pytest.raises(ValueError, match=message),
    ):
        writer.append(np.zeros((1, *IMAGE_SHAPE)), [1.0], **given)


def test_append_outside_the_with_block_is_refused(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path / "x.hdf5")
    with pytest.raises(RuntimeError, match=r"^EventWriter\.append called outside its with-block$"):
        writer.append(np.zeros((1, *IMAGE_SHAPE)), [1.0])
    assert not (tmp_path / "x.hdf5").exists()


@pytest.mark.parametrize("n_values", [2, 4, 0])
def test_an_extra_of_another_length_is_refused_and_nothing_is_written(tmp_path: Path, n_values: int) -> None:
    path = tmp_path / "uneven.hdf5"
    with (
        pytest.raises(ValueError, match=r"one value per image \(3\) for every extra"),
        EventWriter(path, extras={"eta": np.float32}) as writer,
    ):
        writer.append(np.zeros((3, 32, 32, 2), np.float32), np.ones(3), eta=np.zeros(n_values, np.float32))
    assert not path.exists()
