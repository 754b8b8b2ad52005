"""Invariances that must hold for any shower: translation, energy scale, non-negative widths (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from egid.detector.schema import ENERGY
from egid.features import build_table
from egid.features.shower_shapes import CRYSTAL_SIZE
from tests.features.test_reference import sparse_random_crops
from tests.features.toy_images import random_showers

SEEDS = st.integers(0, 2**32 - 1)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None)

#: Features of the whole deposit that do not depend on where it sits in the crop.
TRANSLATION_INVARIANT = (
    "e_sum",
    "e_max",
    "e_2nd",
    "eta_width",
    "phi_width",
    "axis_major",
    "axis_minor",
    "elongation",
    "phi_skewness",
    "phi_kurtosis",
    "ieta_extent",
    "iphi_extent",
    "n_hits",
    "n_above_0p1",
    "n_above_0p5",
    "n_above_1",
    "n_above_5",
    "n_local_maxima",
    "e_2nd_local_max",
    "e3x3_2nd_local_max",
    "dieta_2nd_local_max",
    "diphi_2nd_local_max",
    "time_mean",
    "time_rms",
    "time_max_abs",
)
#: Features that depend only on energy fractions, hence unchanged when every energy is scaled by k.
SCALE_INVARIANT = (
    "r9",
    "s4",
    "e_max_over_e5x5",
    "e_2nd_over_e_max",
    "e1x5_iphi_over_e5x5",
    "e1x5_ieta_over_e5x5",
    "e2x5_max_over_e5x5",
    "e5x5_over_e_sum",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "sigma_ietaiphi",
    "eta_width",
    "phi_width",
    "axis_major",
    "elongation",
    "phi_asymmetry",
    "phi_skewness",
    "phi_kurtosis",
    "centroid_distance",
    "seed_is_max",
    "iphi_major_side_1",
    "iphi_minor_side_2",
    "iphi_major_side_far",
    "ieta_sides_1",
)
NON_NEGATIVE = (
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "eta_width",
    "phi_width",
    "axis_major",
    "axis_minor",
    "elongation",
    "centroid_distance",
    "time_rms",
    "time_max_abs",
    "ieta_extent",
    "iphi_extent",
    "e_outside_5x5",
)


def assert_close(a: np.ndarray, b: np.ndarray, name: str, *, atol: float = 1e-9) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7 if name == "axis_minor" else atol, err_msg=name)


@PROPERTY_SETTINGS
@given(seed=SEEDS, d_eta=st.integers(-3, 3), d_phi=st.integers(-3, 3))
def test_shifting_the_shower_moves_only_seed_relative_features(seed: int, d_eta: int, d_phi: int) -> None:
    images = random_showers(np.random.default_rng(seed), 8, margin=4)
    shifted = np.roll(images, (d_eta, d_phi), axis=(1, 2))
    a, b = build_table(images), build_table(shifted)
    for name in TRANSLATION_INVARIANT:
        assert_close(b[name], a[name], name)
    assert_close(b["e_max_dieta"], a["e_max_dieta"] + d_eta, "e_max_dieta")
    assert_close(b["e_max_diphi"], a["e_max_diphi"] + d_phi, "e_max_diphi")


@PROPERTY_SETTINGS
@given(seed=SEEDS, scale=st.floats(0.25, 4.0))
def test_scaling_every_energy_leaves_ratios_and_shapes_unchanged(seed: int, scale: float) -> None:
    images = random_showers(np.random.default_rng(seed), 8)
    scaled = images.copy()
    scaled[..., ENERGY] *= np.float32(scale)
    a, b = build_table(images), build_table(scaled)
    # Scaled float32 energies round differently (~6e-8 relative). Differences such as E(right) - E(left) or
    # m4/s^4 - 3 amplify that where they are near 0, so each feature gets an absolute slack far below its scale.
    slack = {"sigma_ietaiphi": 1e-6 * CRYSTAL_SIZE**2, "phi_kurtosis": 3e-5}
    for name in SCALE_INVARIANT:
        assert_close(b[name], a[name], name, atol=slack.get(name, 1e-6))
    assert_close(b["e_sum"], a["e_sum"] * scale, "e_sum")


@PROPERTY_SETTINGS
@given(seed=SEEDS)
def test_widths_and_spreads_are_never_negative(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = build_table(np.concatenate([random_showers(rng, 4), sparse_random_crops(rng, 8)]))
    for name in NON_NEGATIVE:
        values = table[name].to_numpy()
        assert (values[~np.isnan(values)] >= 0).all(), name
    assert ((table["elongation"] <= 1) | table["elongation"].isna()).all()
    assert ((table["r9"] <= 1 + 1e-6) | table["r9"].isna()).all()
