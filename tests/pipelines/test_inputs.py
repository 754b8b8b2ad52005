"""Several input files per class: glob expansion, the errors of a pattern, and events taken across files."""

from __future__ import annotations

import numpy as np
import pytest

from egid.detector import InputError, load_dataset
from egid.pipelines.inputs import input_files
from tests.conftest import write_crops


def test_patterns_expand_sorted_and_in_the_order_given(tmp_path):
    for name in ("e_2.hdf5", "e_1.hdf5", "x.hdf5"):
        (tmp_path / name).touch()
    files = input_files([str(tmp_path / "e_*.hdf5"), str(tmp_path / "x.hdf5")], option="--electrons")
    assert files == [str(tmp_path / n) for n in ("e_1.hdf5", "e_2.hdf5", "x.hdf5")]


def test_a_pattern_matching_nothing_is_one_error_naming_the_option(tmp_path):
    with pytest.raises(InputError, match=r"^--photons: pattern '.*p_\*\.hdf5' matches no file$"):
        input_files(str(tmp_path / "p_*.hdf5"), option="--photons")


def test_a_file_named_twice_is_refused(tmp_path):
    (tmp_path / "e.hdf5").touch()
    with pytest.raises(InputError, match=r"^--electrons: .*e\.hdf5 is given twice$"):
        input_files([str(tmp_path / "e.hdf5"), str(tmp_path / "*.hdf5")], option="--electrons")


def test_max_events_takes_the_first_events_of_each_class_across_its_files(tmp_path):
    electrons = [write_crops(tmp_path / f"e{i}.hdf5", 30, label=1.0, seed=i) for i in range(3)]
    photons = [write_crops(tmp_path / "p.hdf5", 100, label=0.0, seed=9)]
    dataset = load_dataset(electrons=electrons, photons=photons, max_events=140)
    assert len(dataset) == 140
    assert (dataset.labels == 1.0).sum() == 70
    assert [len(part) for part in dataset.parts()] == [30, 30, 10, 70]
    whole = load_dataset(electrons=electrons[0], photons=photons[0])
    np.testing.assert_array_equal(dataset.read_images(np.arange(30)), whole.read_images(np.arange(30)))
