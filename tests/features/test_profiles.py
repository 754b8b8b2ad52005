"""The folded i-phi profile and the i-eta side bands on hand-built crops."""

from __future__ import annotations

import numpy as np
import pytest

from egid.features import build_table
from egid.features.profiles import FEATURES
from tests.features.toy_images import PHI_STRIP, SINGLE_HOT_PIXEL, crops

NAMES = [f.name for f in FEATURES]


def rows(*images: dict[tuple[int, int], float]) -> list[dict[str, float]]:
    return build_table(crops(*images), names=NAMES).to_dict("records")


BREM_TRAIL = {(0, 0): 30.0, (0, 1): 4.0, (1, 2): 3.0, (0, 3): 2.0, (-1, 6): 1.0, (2, 6): 5.0, (0, -1): 2.0}
"""A one-sided trail towards high i-phi; (2, 6) lies outside the three-row road."""


def test_trail_folds_onto_the_major_side() -> None:
    f = rows(BREM_TRAIL)[0]
    total = sum(BREM_TRAIL.values())
    assert [f[f"iphi_major_side_{k}"] for k in ("1", "2", "3", "4", "far")] == pytest.approx(
        [4 / total, 3 / total, 2 / total, 0.0, 1 / total]
    )
    assert [f[f"iphi_minor_side_{k}"] for k in ("1", "2", "3", "4", "far")] == pytest.approx(
        [2 / total, 0.0, 0.0, 0.0, 0.0]
    )


def test_profile_does_not_depend_on_the_bending_direction() -> None:
    mirrored = {(i, -j): e for (i, j), e in BREM_TRAIL.items()}
    original, flipped = rows(BREM_TRAIL, mirrored)
    assert flipped == pytest.approx(original)


def test_symmetric_strip_has_equal_sides_and_no_eta_bands() -> None:
    f = rows(PHI_STRIP)[0]
    assert f["iphi_major_side_1"] == pytest.approx(4 / 40) and f["iphi_minor_side_1"] == pytest.approx(4 / 40)
    assert f["iphi_major_side_2"] == pytest.approx(1 / 40) and f["iphi_minor_side_2"] == pytest.approx(1 / 40)
    assert f["ieta_sides_1"] == 0.0 and f["ieta_sides_2"] == 0.0


def test_eta_side_bands_sum_both_sides_of_the_three_central_columns() -> None:
    f = rows({(0, 0): 20.0, (1, 0): 2.0, (-1, 1): 1.0, (-2, -1): 0.5, (2, 2): 3.0, (3, 0): 1.5})[0]
    total = 28.0
    assert f["ieta_sides_1"] == pytest.approx(3 / total)
    assert f["ieta_sides_2"] == pytest.approx(0.5 / total)


def test_single_crystal_and_empty_crop() -> None:
    single, empty = rows(SINGLE_HOT_PIXEL, {})
    assert all(value == 0.0 for value in single.values())
    assert all(np.isnan(value) for value in empty.values())
