"""Reading the real layouts (two files, one file) and the one-line errors for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from egid.detector import EventWriter, InputError, load_dataset
from tests.conftest import toy_crops, write_crops, write_datasets


def test_two_file_layout_concatenates_electrons_then_photons(crop_files: tuple[Path, Path]) -> None:
    electrons, photons = crop_files
    ds = load_dataset(electrons=electrons, photons=photons)
    assert len(ds) == 200
    np.testing.assert_array_equal(ds.labels, np.r_[np.ones(120), np.zeros(80)])
    assert ds.extras["eta"].shape == (200,)
    images = ds.read_images()
    np.testing.assert_array_equal(images[:120], toy_crops(120, label=1.0, seed=1))
    np.testing.assert_array_equal(images[120:], toy_crops(80, label=0.0, seed=2))
    streamed = np.concatenate([x for _, x in ds.iter_images(chunk_size=32)])
    np.testing.assert_array_equal(streamed, images)


def test_single_file_layout(tmp_path: Path) -> None:
    x = np.concatenate([toy_crops(30, label=1.0, seed=1), toy_crops(30, label=0.0, seed=2)])
    y = np.r_[np.ones(30), np.zeros(30)]
    path = tmp_path / "mixed.hdf5"
    with EventWriter(path) as writer:
        writer.append(x, y)
    ds = load_dataset(data=path)
    np.testing.assert_array_equal(ds.labels, y)
    np.testing.assert_array_equal(ds.read_images(), x)


def test_read_images_returns_the_requested_order(crop_files: tuple[Path, Path]) -> None:
    ds = load_dataset(electrons=crop_files[0], photons=crop_files[1])
    everything = ds.read_images()
    wanted = np.array([150, 3, 119, 120, 0, 199])
    np.testing.assert_array_equal(ds.read_images(wanted, chunk_size=2), everything[wanted])


def test_extra_missing_from_one_file_is_nan_there(tmp_path: Path) -> None:
    electrons = write_crops(tmp_path / "e.hdf5", 10, label=1.0)
    photons = tmp_path / "p.hdf5"
    with EventWriter(photons, extras={"eta": np.float32, "converted": np.uint8}) as writer:
        writer.append(toy_crops(10, label=0.0, seed=0), np.zeros(10), eta=np.zeros(10), converted=np.ones(10))
    ds = load_dataset(electrons=electrons, photons=photons)
    assert np.isnan(ds.extras["converted"][:10]).all()
    np.testing.assert_array_equal(ds.extras["converted"][10:], 1.0)


def test_max_events_takes_half_from_each_class_file(crop_files: tuple[Path, Path]) -> None:
    ds = load_dataset(electrons=crop_files[0], photons=crop_files[1], max_events=50)
    assert len(ds) == 50 and ds.labels.sum() == 25


def test_max_events_on_a_sorted_single_file_keeps_both_classes(tmp_path: Path) -> None:
    path = tmp_path / "sorted.hdf5"
    with EventWriter(path) as writer:
        writer.append(toy_crops(100, label=1.0, seed=0), np.ones(100))
        writer.append(toy_crops(100, label=0.0, seed=1), np.zeros(100))
    a = load_dataset(data=path, max_events=40, seed=3)
    b = load_dataset(data=path, max_events=40, seed=3)
    assert len(a) == 40 and a.labels.sum() == 20
    np.testing.assert_array_equal(a.read_images(), b.read_images())


def test_fingerprint_follows_content_not_name(tmp_path: Path) -> None:
    first = write_crops(tmp_path / "a.hdf5", 20, label=1.0, seed=1)
    copy = tmp_path / "renamed.hdf5"
    copy.write_bytes(first.read_bytes())
    other = write_crops(tmp_path / "b.hdf5", 20, label=1.0, seed=2)
    fp = lambda p: load_dataset(data=p).fingerprint()  # noqa: E731
    assert fp(first) == fp(copy) != fp(other)
    assert load_dataset(data=first, max_events=10).fingerprint() != fp(first)


# --- bad input: one case each, the message names the file and the problem ---------------------------------


GOOD_X = toy_crops(4, label=1.0, seed=0)


def _nan_x() -> np.ndarray:
    x = GOOD_X.copy()
    x[2, 5, 5, 1] = np.nan
    return x


def _negative_x() -> np.ndarray:
    x = GOOD_X.copy()
    x[3, 16, 17, 0] = -0.01
    return x


BAD_FILES = {
    "missing X": ({"y": np.ones(4, np.float32)}, r"missing dataset 'X'"),
    "missing y": ({"X": GOOD_X}, r"missing dataset 'y'"),
    "wrong rank": ({"X": GOOD_X[..., 0], "y": np.ones(4, np.float32)}, r"'X' has shape \(4, 32, 32\), expected"),
    "wrong image size": ({"X": GOOD_X[:, :31], "y": np.ones(4, np.float32)}, r"'X' has shape \(4, 31, 32, 2\)"),
    "one channel": ({"X": GOOD_X[..., :1], "y": np.ones(4, np.float32)}, r"'X' has shape \(4, 32, 32, 1\)"),
    "length mismatch": ({"X": GOOD_X, "y": np.ones(3, np.float32)}, r"different lengths \(4 and 3\)"),
    "labels not 0/1/2": ({"X": GOOD_X, "y": np.array([1, 1, 3, 1], np.float32)}, r"labels other than 0 and 1.*index 2"),
    "photon labels": (
        {"X": GOOD_X, "y": np.array([1, 0, 1, 0], np.float32)},
        r"expected an electron file \(y = 1\) but 2 of 4 events carry photon labels",
    ),
    "empty": ({"X": np.zeros((0, 32, 32, 2), np.float32), "y": np.zeros(0, np.float32)}, r"holds no events"),
    "nan": ({"X": _nan_x(), "y": np.ones(4, np.float32)}, r"1 images contain NaN or inf values \(first at index 2\)"),
    "negative energy": (
        {"X": _negative_x(), "y": np.ones(4, np.float32)},
        r"negative crystal energies \(first at index 3\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_electron_file_is_rejected_with_one_line(case: str, tmp_path: Path, crop_files: tuple[Path, Path]) -> None:
    datasets, pattern = BAD_FILES[case]
    bad = write_datasets(tmp_path / "bad.hdf5", **datasets)
    with pytest.raises(InputError, match=rf"^{bad}: .*{pattern}") as info:
        ds = load_dataset(electrons=bad, photons=crop_files[1])
        ds.read_images()
    assert "\n" not in str(info.value)


def test_not_hdf5_missing_and_directory(tmp_path: Path) -> None:
    text = tmp_path / "notes.hdf5"
    text.write_text("not an hdf5 file")
    with pytest.raises(InputError, match=rf"^{text}: not an HDF5 file$"):
        load_dataset(data=text)
    with pytest.raises(InputError, match=rf"^{tmp_path / 'nope.hdf5'}: no such file$"):
        load_dataset(data=tmp_path / "nope.hdf5")
    with pytest.raises(InputError, match=rf"^{tmp_path}: is a directory, expected an HDF5 file$"):
        load_dataset(data=tmp_path)


def test_layout_arguments_are_checked(crop_files: tuple[Path, Path]) -> None:
    with pytest.raises(InputError, match="--photons: both --electrons and --photons are needed"):
        load_dataset(electrons=crop_files[0])
    with pytest.raises(InputError, match="--data: give either --data or --electrons/--photons"):
        load_dataset(data=crop_files[0], electrons=crop_files[0], photons=crop_files[1])
