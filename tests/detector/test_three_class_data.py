"""The third class at the data boundary: pion files, three-label --data files, and their one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from egid.detector import EventWriter, InputError, is_three_class, load_dataset, require_classes
from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, ELECTRON, PHOTON, PION, class_name
from egid.detector.split import stratified_subsample
from tests.conftest import toy_crops, write_crops, write_datasets
from tests.three_class_fixtures import write_pions, write_three_class_file


def test_the_pion_label_and_the_class_order() -> None:
    assert PION == 2.0 and class_name(PION) == "pion"
    assert CLASS_LABELS == (ELECTRON, PHOTON, PION) and CLASS_NAMES == ("electron", "photon", "pion")
    with pytest.raises(ValueError, match=r"among \(1.0, 0.0, 2.0\); got 3.0"):
        class_name(3.0)


def test_three_files_concatenate_electrons_photons_pions(tmp_path: Path) -> None:
    e = write_crops(tmp_path / "e.hdf5", 12, label=ELECTRON, seed=1)
    g = write_crops(tmp_path / "g.hdf5", 10, label=PHOTON, seed=2)
    pi = write_pions(tmp_path / "pi.hdf5", 8)
    ds = load_dataset(electrons=e, photons=g, pions=pi)
    np.testing.assert_array_equal(ds.labels, np.r_[np.ones(12), np.zeros(10), np.full(8, 2.0)])
    assert ds.paths == [str(e), str(g), str(pi)] and is_three_class(ds.labels)
    assert ds.read_images().shape == (30, 32, 32, 2)


def test_max_events_splits_evenly_over_the_three_classes(tmp_path: Path) -> None:
    e = write_crops(tmp_path / "e.hdf5", 20, label=ELECTRON, seed=1)
    g = write_crops(tmp_path / "g.hdf5", 20, label=PHOTON, seed=2)
    pi = write_pions(tmp_path / "pi.hdf5", 20)
    ds = load_dataset(electrons=e, photons=g, pions=pi, max_events=31)
    assert [int((ds.labels == value).sum()) for value in CLASS_LABELS] == [10, 10, 10]
    with pytest.raises(InputError, match=r"^--max-events: must be at least 3 \(one event per class\), got 2$"):
        load_dataset(electrons=e, photons=g, pions=pi, max_events=2)


def test_a_data_file_with_three_labels_is_a_three_class_dataset(tmp_path: Path) -> None:
    path = write_three_class_file(tmp_path / "all.hdf5", 20)
    ds = load_dataset(data=path)
    assert is_three_class(ds.labels) and len(ds) == 60
    require_classes(ds.labels, name="all")
    subset = load_dataset(data=path, max_events=30, seed=4)
    assert [int((subset.labels == value).sum()) for value in CLASS_LABELS] == [10, 10, 10]
    # the streamed subset picks what the in-memory stratified subsample picks
    wanted = stratified_subsample(ds.labels, 30, seed=4)
    np.testing.assert_array_equal(subset.read_images(), ds.read_images(wanted))


def test_a_data_file_of_electrons_and_photons_stays_binary(tmp_path: Path) -> None:
    path = tmp_path / "eg.hdf5"
    with EventWriter(path) as writer:
        writer.append(
            np.concatenate([toy_crops(5, label=1.0, seed=1), toy_crops(5, label=0.0, seed=2)]),
            np.r_[[1.0] * 5, [0.0] * 5],
        )
    ds = load_dataset(data=path)
    assert not is_three_class(ds.labels)
    require_classes(ds.labels, name="eg")


GOOD_X = toy_crops(4, label=2.0, seed=0)


@pytest.mark.parametrize(
    ("labels", "pattern"),
    [
        ([2, 2, 1, 2], r"expected a pion file \(y = 2\) but 1 of 4 events carry electron labels$"),
        ([0, 2, 1, 2], r"expected a pion file \(y = 2\) but 2 of 4 events carry photon/electron labels$"),
        (
            [2, 2, 3, 2],
            r"dataset 'y' holds labels other than 0 and 1 \(photon, electron\) or 2 \(pion\) \(found 3.0 at index 2\)$",
        ),
        ([2, -1, 2, 2], r"dataset 'y' holds labels other than 0 and 1 .* \(found -1.0 at index 1\)$"),
        ([2, 2, 0.5, 2], r"dataset 'y' holds labels other than 0 and 1 .* \(found 0.5 at index 2\)$"),
    ],
)
def test_a_bad_pion_file_is_one_line(tmp_path: Path, labels: list[float], pattern: str) -> None:
    e = write_crops(tmp_path / "e.hdf5", 4, label=ELECTRON, seed=1)
    g = write_crops(tmp_path / "g.hdf5", 4, label=PHOTON, seed=2)
    bad = write_datasets(tmp_path / "pi.hdf5", X=GOOD_X, y=np.array(labels, np.float32))
    with pytest.raises(InputError, match=rf"^{bad}: {pattern}") as info:
        load_dataset(electrons=e, photons=g, pions=bad)
    assert "\n" not in str(info.value)


def test_pions_in_an_electron_file_are_named(tmp_path: Path) -> None:
    bad = write_datasets(tmp_path / "e.hdf5", X=GOOD_X, y=np.array([1, 2, 1, 1], np.float32))
    g = write_crops(tmp_path / "g.hdf5", 4, label=PHOTON, seed=2)
    with pytest.raises(InputError, match=r"expected an electron file \(y = 1\) but 1 of 4 events carry pion labels$"):
        load_dataset(electrons=bad, photons=g)


def test_a_data_file_with_a_fourth_label_is_one_line(tmp_path: Path) -> None:
    bad = write_datasets(tmp_path / "all.hdf5", X=GOOD_X, y=np.array([0, 1, 2, 4], np.float32))
    with pytest.raises(
        InputError, match=rf"^{bad}: dataset 'y' holds labels other than 0 and 1 .*found 4.0 at index 3\)$"
    ):
        load_dataset(data=bad)


def test_pions_need_electrons_and_photons(tmp_path: Path) -> None:
    pi = write_pions(tmp_path / "pi.hdf5", 4)
    e = write_crops(tmp_path / "e.hdf5", 4, label=ELECTRON, seed=1)
    with pytest.raises(InputError, match=r"^--photons: both --electrons and --photons are needed \(with --pions too\)"):
        load_dataset(electrons=e, pions=pi)
    with pytest.raises(
        InputError, match=r"^--data: give either --data or --electrons/--photons \(/--pions\), not both$"
    ):
        load_dataset(data=pi, pions=pi)


def test_a_three_class_dataset_missing_a_class_is_one_line() -> None:
    with pytest.raises(InputError, match=r"^x: holds no photons; the three-class training .* need all three$"):
        require_classes(np.array([1.0, 2.0, 2.0], np.float32), name="x")
    with pytest.raises(InputError, match=r"^x: holds no electrons and no photons;"):
        require_classes(np.array([2.0, 2.0], np.float32), name="x")
    with pytest.raises(InputError, match=r"^x: holds no photons; training and evaluation need both classes$"):
        require_classes(np.array([1.0, 1.0], np.float32), name="x")
