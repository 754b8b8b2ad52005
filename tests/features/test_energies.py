"""Energy sums and ratios on hand-built crops whose answers follow from the definitions."""

from __future__ import annotations

import numpy as np
import pytest

from egid.features import build_table
from tests.features.toy_images import SINGLE_HOT_PIXEL, SYMMETRIC_3X3, crops

RATIOS = (
    "r9",
    "e_max_over_e5x5",
    "e_2nd_over_e_max",
    "s4",
    "e1x5_iphi_over_e5x5",
    "e1x5_ieta_over_e5x5",
    "e2x5_max_over_e5x5",
    "e5x5_over_e_sum",
)


def row(energies: dict[tuple[int, int], float]) -> dict[str, float]:
    return build_table(crops(energies)).iloc[0].to_dict()


def test_single_hot_pixel_holds_everything_in_the_seed() -> None:
    f = row(SINGLE_HOT_PIXEL)
    for name in ("e_sum", "e_seed", "e_max", "e2x2", "e3x3", "e5x5", "e1x3_ieta", "e1x5_iphi", "e2x5_max"):
        assert f[name] == pytest.approx(50.0), name
    for name in ("e_2nd", "e_left", "e_right", "e_top", "e_bottom", "e_outside_5x5", "e_2nd_over_e_max"):
        assert f[name] == 0.0, name
    for name in ("r9", "s4", "e_max_over_e5x5", "e5x5_over_e_sum", "e2x5_max_over_e5x5", "seed_is_max"):
        assert f[name] == pytest.approx(1.0), name
    assert (f["e_max_dieta"], f["e_max_diphi"]) == (0.0, 0.0)
    assert np.isnan(f["e_2nd_dieta"]) and np.isnan(f["e_2nd_diphi"])


def test_symmetric_3x3_sums_and_strips() -> None:
    f = row(SYMMETRIC_3X3)
    assert f["e_sum"] == pytest.approx(56.0)
    assert f["e3x3"] == pytest.approx(56.0) and f["r9"] == pytest.approx(1.0)
    assert f["e2x2"] == pytest.approx(46.0) and f["s4"] == pytest.approx(46.0 / 56.0)
    assert f["e1x3_ieta"] == pytest.approx(44.0) and f["e1x3_iphi"] == pytest.approx(44.0)
    assert f["e1x5_iphi"] == pytest.approx(44.0) and f["e1x5_iphi_over_e5x5"] == pytest.approx(44.0 / 56.0)
    assert f["e2x5_max"] == pytest.approx(50.0)
    for name in ("e_left", "e_right", "e_top", "e_bottom"):
        assert f[name] == pytest.approx(2.0), name
    # Eight crystals tie for second place: the first in raster order (i-eta major) wins.
    assert f["e_2nd"] == pytest.approx(2.0)
    assert (f["e_2nd_dieta"], f["e_2nd_diphi"]) == (-1.0, -1.0)


def test_neighbours_follow_the_image_convention() -> None:
    f = row({(0, 0): 20.0, (0, -1): 1.0, (0, 1): 2.0, (-1, 0): 3.0, (1, 0): 4.0})
    assert [f[n] for n in ("e_left", "e_right", "e_top", "e_bottom")] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert f["e1x3_iphi"] == pytest.approx(23.0) and f["e1x3_ieta"] == pytest.approx(27.0)
    assert f["e2x2"] == pytest.approx(26.0)  # seed + bottom + right: the best of the four 2x2 blocks


def test_hottest_crystal_away_from_the_seed() -> None:
    f = row({(0, 0): 5.0, (0, 3): 20.0})
    assert f["seed_is_max"] == 0.0
    assert f["e_max"] == pytest.approx(20.0) and (f["e_max_dieta"], f["e_max_diphi"]) == (0.0, 3.0)
    assert f["e_2nd"] == pytest.approx(5.0) and (f["e_2nd_dieta"], f["e_2nd_diphi"]) == (0.0, 0.0)
    assert f["e5x5"] == pytest.approx(5.0) and f["e_max_over_e5x5"] == pytest.approx(4.0)


def test_energy_outside_the_5x5_and_in_the_roads() -> None:
    f = row({(0, 0): 10.0, (1, 4): 3.0, (2, 4): 2.0, (4, 0): 1.0, (-5, 1): 0.5, (2, 2): 0.7})
    assert f["e5x5"] == pytest.approx(10.7)
    assert f["e_outside_5x5"] == pytest.approx(6.5)
    assert f["e_iphi_road_outside_5x5"] == pytest.approx(3.0)
    assert f["e_ieta_road_outside_5x5"] == pytest.approx(1.5)
    assert f["e5x5_over_e_sum"] == pytest.approx(10.7 / 17.2)


def test_empty_crop_gives_zero_sums_and_nan_ratios() -> None:
    f = row({})
    for name in ("e_sum", "e_max", "e_2nd", "e3x3", "e5x5", "e_outside_5x5"):
        assert f[name] == 0.0, name
    for name in (*RATIOS, "seed_is_max", "e_max_dieta"):
        assert np.isnan(f[name]), name


def test_ratio_with_an_empty_5x5_is_nan_not_inf() -> None:
    f = row({(8, 8): 3.0})
    assert f["e5x5"] == 0.0 and f["e_max"] == pytest.approx(3.0)
    assert np.isnan(f["e_max_over_e5x5"]) and np.isnan(f["s4"])
    assert f["r9"] == 0.0
