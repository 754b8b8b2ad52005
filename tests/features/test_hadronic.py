"""Hadronic-shower features: named toy crops with known values, and the pion/e-gamma separation they exist for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egid.detector import load_dataset
from egid.features import HADRONIC_FEATURES, build_table
from tests.features.toy_images import G4_SLICE, SINGLE_HOT_PIXEL, SYMMETRIC_3X3, crops, g4_pion_crops

MIP = {(0, 0): 0.27}
"""A pion crossing one crystal without interacting: the most probable minimum-ionising loss."""
MIP_WITH_DELTA_RAY = {(0, 0): 0.3, (0, 1): 0.2}
"""The track's crystal and a neighbour it shared energy with (a delta ray or the bending track)."""
SOFT_MIP_OVERFLOW = {(0, 0): 0.59, (5, 5): 0.45, (-7, 3): 0.13}
"""In the MIP window, but with more than 0.5 GeV elsewhere: not MIP-like."""
HOT_CRYSTAL_ABOVE_THE_WINDOW = {(0, 0): 0.61}
HADRONIC = {
    (0, 0): 8.0,
    (0, 1): 3.0,
    (1, 0): 2.0,
    (3, 0): 1.5,  # halo along i-eta
    (-4, 2): 0.4,  # a detached soft fragment
    (6, -6): 0.3,  # another one
    (-2, -1): 0.8,  # two rows from the seed: halo, and detached (the seed's neighbours are at |i|, |j| <= 1)
}


def hadronic_table(*images: dict[tuple[int, int], float]) -> pd.DataFrame:
    return build_table(crops(*images), HADRONIC_FEATURES)


def test_a_mip_is_flagged_and_is_all_soft_isolated_hottest_crystal() -> None:
    row = hadronic_table(MIP).iloc[0]
    assert row["mip_like"] == 1.0
    assert row["e_max_over_e_sum"] == row["soft_energy_fraction"] == row["isolated_energy_fraction"] == 1.0
    assert row["ieta_halo_fraction"] == 0.0
    assert row["lateral_contrast"] == pytest.approx(1.0)  # one crystal with unlit neighbours: |E - 0| / E


def test_the_mip_window_and_the_rest_limit() -> None:
    table = hadronic_table(MIP_WITH_DELTA_RAY, SOFT_MIP_OVERFLOW, HOT_CRYSTAL_ABOVE_THE_WINDOW, SINGLE_HOT_PIXEL)
    assert table["mip_like"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_symmetric_3x3_by_hand() -> None:
    row = hadronic_table(SYMMETRIC_3X3).iloc[0]
    assert row["mip_like"] == 0.0 and row["soft_energy_fraction"] == 0.0
    assert row["isolated_energy_fraction"] == 0.0 and row["ieta_halo_fraction"] == 0.0
    assert row["e_max_over_e_sum"] == pytest.approx(40 / 56)
    # seed |40 - 16/8| = 38; each corner |2 - (40 + 2 + 2)/8| = 3.5; each edge |2 - (40 + 4 * 2)/8| = 4
    assert row["lateral_contrast"] == pytest.approx((38 + 4 * 3.5 + 4 * 4) / 56)


def test_a_hadronic_toy_by_hand() -> None:
    row = hadronic_table(HADRONIC).iloc[0]
    total = sum(HADRONIC.values())
    assert row["soft_energy_fraction"] == pytest.approx((0.4 + 0.3) / total, rel=1e-6)
    assert row["ieta_halo_fraction"] == pytest.approx((1.5 + 0.4 + 0.3 + 0.8) / total, rel=1e-6)
    assert row["isolated_energy_fraction"] == pytest.approx((1.5 + 0.4 + 0.3 + 0.8) / total, rel=1e-6)
    assert row["e_max_over_e_sum"] == pytest.approx(8.0 / total, rel=1e-6)


def test_an_empty_crop_is_not_a_mip_and_its_fractions_are_undefined() -> None:
    row = hadronic_table({}).iloc[0]
    assert row["mip_like"] == 0.0
    assert row.drop("mip_like").isna().all()


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_fractions_without_a_threshold_do_not_change_with_the_energy_scale(k: float) -> None:
    images = crops(SYMMETRIC_3X3, HADRONIC, MIP_WITH_DELTA_RAY)
    names = ["e_max_over_e_sum", "ieta_halo_fraction", "isolated_energy_fraction", "lateral_contrast"]
    scaled = images.copy()
    scaled[..., 0] *= k
    np.testing.assert_allclose(build_table(scaled, names), build_table(images, names), rtol=1e-6)


def test_the_features_separate_geant4_pions_from_electrons_and_photons() -> None:
    """On the 100 Geant4 pions and 200 e/gamma of the test slices: each feature moves the way its physics says."""
    pions = build_table(g4_pion_crops(), HADRONIC_FEATURES)
    egamma = build_table(load_dataset(data=G4_SLICE).read_images(), HADRONIC_FEATURES)
    assert pions["mip_like"].mean() > 0.2 and egamma["mip_like"].sum() == 0
    showering = pions[pions["mip_like"] == 0]
    for name in ("soft_energy_fraction", "ieta_halo_fraction", "isolated_energy_fraction"):
        assert showering[name].median() > egamma[name].median(), name
    for name in ("e_max_over_e_sum", "lateral_contrast"):  # the EM core is the denser and steeper
        assert showering[name].median() < egamma[name].median(), name
