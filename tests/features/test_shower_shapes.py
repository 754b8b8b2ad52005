"""Shower shapes on hand-built crops, mirror and transpose symmetries, and the CMS log weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egid.detector import load_dataset
from egid.features import build_table
from egid.features.shower_shapes import CRYSTAL_SIZE, LOG_WEIGHT_W0
from tests.features.toy_images import G4_SLICE, PHI_STRIP, SINGLE_HOT_PIXEL, SYMMETRIC_3X3, TWO_CLUSTERS, crops


def row(energies: dict[tuple[int, int], float]) -> dict[str, float]:
    return build_table(crops(energies)).iloc[0].to_dict()


def g4_images() -> np.ndarray:
    return load_dataset(data=G4_SLICE).read_images()


def test_single_hot_pixel_has_zero_widths() -> None:
    f = row(SINGLE_HOT_PIXEL)
    for name in (
        "sigma_ietaieta",
        "sigma_iphiiphi",
        "sigma_ietaiphi",
        "eta_width",
        "phi_width",
        "axis_major",
        "axis_minor",
        "centroid_distance",
    ):
        assert f[name] == 0.0, name
    for name in ("elongation", "phi_skewness", "phi_kurtosis", "phi_asymmetry"):
        assert np.isnan(f[name]), name
    assert (f["ieta_extent"], f["iphi_extent"]) == (1.0, 1.0)


def test_strip_along_iphi_has_no_ieta_spread() -> None:
    f = row(PHI_STRIP)
    e5x5 = 40.0
    w = {e: max(0.0, LOG_WEIGHT_W0 + math.log(e / e5x5)) for e in (1.0, 4.0, 30.0)}
    expected = CRYSTAL_SIZE * math.sqrt(2 * (w[4.0] * 1 + w[1.0] * 4) / (w[30.0] + 2 * w[4.0] + 2 * w[1.0]))
    assert f["sigma_ietaieta"] == 0.0 and f["eta_width"] == 0.0 and f["axis_minor"] == 0.0
    assert f["sigma_iphiiphi"] == pytest.approx(expected, rel=1e-6)
    assert f["phi_width"] == pytest.approx(math.sqrt(16 / 40)) and f["axis_major"] == pytest.approx(f["phi_width"])
    assert f["elongation"] == pytest.approx(1.0)
    assert f["phi_asymmetry"] == 0.0 and f["phi_skewness"] == pytest.approx(0.0, abs=1e-12)
    assert f["phi_kurtosis"] == pytest.approx((2 * 4 * 1 + 2 * 1 * 16) / 40 / (16 / 40) ** 2 - 3, rel=1e-6)


def test_symmetric_3x3_is_round() -> None:
    f = row(SYMMETRIC_3X3)
    assert f["sigma_ietaieta"] == pytest.approx(f["sigma_iphiiphi"]) and f["sigma_ietaieta"] > 0
    assert f["sigma_ietaiphi"] == pytest.approx(0.0, abs=1e-12)
    assert f["eta_width"] == pytest.approx(math.sqrt(12 / 56)) and f["phi_width"] == pytest.approx(f["eta_width"])
    assert f["elongation"] == pytest.approx(0.0, abs=1e-6)
    assert f["centroid_distance"] == pytest.approx(0.0, abs=1e-7)


def test_diagonal_pair_has_signed_covariance() -> None:
    rising, falling = (row({(0, 0): 10.0, (1, s): 10.0}) for s in (1, -1))
    w = LOG_WEIGHT_W0 + math.log(0.5)
    assert rising["sigma_ietaiphi"] == pytest.approx(CRYSTAL_SIZE**2 * 2 * w * 0.25 / (2 * w))
    assert falling["sigma_ietaiphi"] == pytest.approx(-rising["sigma_ietaiphi"])
    assert rising["axis_major"] == pytest.approx(math.sqrt(0.5)) and rising["axis_minor"] == pytest.approx(0.0)
    assert rising["centroid_distance"] == pytest.approx(math.sqrt(0.5))


def test_two_clusters_along_iphi() -> None:
    f = row(TWO_CLUSTERS)
    assert f["phi_asymmetry"] == pytest.approx((3 + 8 + 2 + 1.5) / (3 + 8 + 2 + 1.5))
    assert f["phi_skewness"] > 0 and f["phi_width"] > f["eta_width"]
    assert (f["ieta_extent"], f["iphi_extent"]) == (2.0, 8.0)


def test_mirroring_along_iphi_keeps_widths_and_flips_signs() -> None:
    x = g4_images()
    x[:, :, 0] = 0.0  # column 0 has no mirror image about i-phi = 16
    mirrored = np.zeros_like(x)
    mirrored[:, :, 1:] = x[:, :, :0:-1]
    a, b = build_table(x), build_table(mirrored)
    for name in (
        "sigma_iphiiphi",
        "sigma_ietaieta",
        "phi_width",
        "eta_width",
        "r9",
        "axis_major",
        "phi_kurtosis",
        "iphi_major_side_1",
        "iphi_minor_side_2",
        "iphi_major_side_far",
    ):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-9, err_msg=name)
    for name in ("phi_asymmetry", "phi_skewness", "sigma_ietaiphi", "e_max_diphi"):
        np.testing.assert_allclose(b[name], -a[name], rtol=1e-5, atol=1e-9, err_msg=name)
    assert (a["phi_asymmetry"].abs() > 0.1).mean() > 0.5  # the check above is not vacuous


def test_transposing_swaps_ieta_and_iphi() -> None:
    x = g4_images()
    a, b = build_table(x), build_table(np.ascontiguousarray(x.transpose(0, 2, 1, 3)))
    for eta_name, phi_name in (
        ("sigma_ietaieta", "sigma_iphiiphi"),
        ("eta_width", "phi_width"),
        ("e1x5_ieta", "e1x5_iphi"),
        ("ieta_extent", "iphi_extent"),
    ):
        np.testing.assert_allclose(b[eta_name], a[phi_name], rtol=1e-5, err_msg=eta_name)
    np.testing.assert_allclose(b["sigma_ietaiphi"], a["sigma_ietaiphi"], rtol=1e-5, atol=1e-12)


def test_electrons_are_wider_along_iphi_than_photons() -> None:
    table = build_table(g4_images())
    electrons, photons = table.iloc[:100], table.iloc[100:]
    assert electrons["phi_width"].mean() > photons["phi_width"].mean()
    assert abs(electrons["eta_width"].mean() - photons["eta_width"].mean()) < 0.1
