"""Crystal counts and local maxima on hand-built crops."""

from __future__ import annotations

import numpy as np
import pytest

from egid.features import build_table
from tests.features.toy_images import SINGLE_HOT_PIXEL, TWO_CLUSTERS, crops


def row(energies: dict[tuple[int, int], float]) -> dict[str, float]:
    return build_table(crops(energies)).iloc[0].to_dict()


def test_two_clusters_are_found_with_their_separation() -> None:
    f = row(TWO_CLUSTERS)
    assert f["n_local_maxima"] == 2.0
    assert f["e_2nd_local_max"] == pytest.approx(8.0)
    assert f["e3x3_2nd_local_max"] == pytest.approx(11.5)
    assert (f["dieta_2nd_local_max"], f["diphi_2nd_local_max"]) == (0.0, 6.0)


def test_counts_above_thresholds() -> None:
    f = row(TWO_CLUSTERS | {(3, 3): 0.3, (-3, 3): 0.05})
    assert [f[n] for n in ("n_hits", "n_above_0p1", "n_above_0p5", "n_above_1", "n_above_5")] == [7, 6, 5, 5, 2]


def test_single_crystal_has_one_maximum_and_no_second() -> None:
    f = row(SINGLE_HOT_PIXEL)
    assert f["n_local_maxima"] == 1.0 and f["n_hits"] == 1.0
    for name in ("e_2nd_local_max", "e3x3_2nd_local_max", "dieta_2nd_local_max", "diphi_2nd_local_max"):
        assert np.isnan(f[name]), name


def test_plateau_of_equal_crystals_counts_once() -> None:
    assert row({(0, 0): 10.0, (0, 1): 10.0})["n_local_maxima"] == 1.0
    assert row({(0, 0): 10.0, (1, 1): 10.0})["n_local_maxima"] == 1.0


def test_maxima_below_1_gev_and_shoulders_do_not_count() -> None:
    assert row({(0, 0): 10.0, (0, 5): 0.9})["n_local_maxima"] == 1.0
    assert row({(0, 0): 10.0, (0, 1): 5.0, (0, 2): 3.0})["n_local_maxima"] == 1.0


def test_maxima_on_the_crop_edges_and_corners() -> None:
    f = row({(0, 0): 10.0, (-16, -16): 3.0, (15, 15): 2.0, (-16, 0): 1.5, (-16, 1): 1.2})
    assert f["n_local_maxima"] == 4.0
    assert f["e_2nd_local_max"] == pytest.approx(3.0) and f["e3x3_2nd_local_max"] == pytest.approx(3.0)
    assert (f["dieta_2nd_local_max"], f["diphi_2nd_local_max"]) == (16.0, 16.0)


def test_empty_crop_counts_nothing() -> None:
    f = row({})
    assert f["n_hits"] == 0.0 and f["n_local_maxima"] == 0.0 and np.isnan(f["e_2nd_local_max"])
