"""Tests for egid.simulation.constants: the fixed and calibrated numbers agree with the physics they describe.

The reference numbers are restated here (PbWO4 and CMS barrel figures from the PDG and the CMS ECAL TDR):
X0 = 0.89 cm, density 8.28 g/cm3, Moliere radius about 2.0-2.2 cm, critical energy about 9 MeV, crystals
2.2 cm wide and 23 cm long (25.8 X0), front face at R = 1.29 m, |eta| < 1.479, B = 3.8 T, pion interaction
length about 24 cm (PDG nucleon lambda_I 20.3 cm), noise about 40 MeV per crystal.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from egid.simulation import constants as c

# Reference values restated from the physics notes.
X0_CM = 0.89
DENSITY_G_CM3 = 8.28
MOLIERE_RADIUS_CM = (2.0, 2.2)
CRITICAL_ENERGY_GEV = 0.009
CRYSTAL_FACE_CM = 2.2
CRYSTAL_LENGTH_CM = 23.0
CRYSTAL_LENGTH_X0 = 25.8
ECAL_RADIUS_M = 1.29
BARREL_ETA_MAX = 1.479
PION_LAMBDA_CM = 24.0
NUCLEON_LAMBDA_CM = 20.3


def test_pbwo4_radiation_length_and_critical_energy() -> None:
    assert pytest.approx(X0_CM) == c.PB_WO4_X0_CM
    assert pytest.approx(CRITICAL_ENERGY_GEV) == c.PB_WO4_CRITICAL_GEV


def test_crystal_is_25_8_radiation_lengths_deep() -> None:
    assert pytest.approx(CRYSTAL_LENGTH_CM) == c.CRYSTAL_LENGTH_CM
    assert pytest.approx(CRYSTAL_LENGTH_X0, abs=0.05) == c.CRYSTAL_LENGTH_CM / c.PB_WO4_X0_CM


def test_shower_maximum_of_50_gev_sits_well_inside_the_crystal() -> None:
    # t_max = ln(E / E_c) + C with C = -0.5 (electrons) / +0.5 (photons): about 8-9 X0 at 50 GeV.
    t_max_photon = math.log(50.0 / c.PB_WO4_CRITICAL_GEV) + 0.5
    t_max_electron = math.log(50.0 / c.PB_WO4_CRITICAL_GEV) - 0.5
    assert 8.0 < t_max_electron < t_max_photon < 9.2
    assert t_max_photon < c.CRYSTAL_LENGTH_CM / c.PB_WO4_X0_CM / 2


def test_moliere_radius_is_about_one_crystal() -> None:
    # R_M = X0 x E_s / E_c with E_s = 21.2 MeV: 0.89 cm x 21.2 / 9 = 2.1 cm, inside the quoted 2.0-2.2 cm.
    moliere_cm = c.PB_WO4_X0_CM * 0.0212 / c.PB_WO4_CRITICAL_GEV
    assert MOLIERE_RADIUS_CM[0] <= moliere_cm <= MOLIERE_RADIUS_CM[1]
    assert moliere_cm / c.CRYSTAL_SIZE_CM == pytest.approx(1.0, abs=0.1)


def test_crystal_face_and_pseudorapidity_width() -> None:
    assert pytest.approx(CRYSTAL_FACE_CM) == c.CRYSTAL_SIZE_CM
    # 2.2 cm at R = 1.29 m subtends 0.0171 rad; the eta width at eta = 0 is the same angle (d eta = d theta).
    assert pytest.approx(c.CRYSTAL_DETA, rel=0.03) == c.CRYSTAL_SIZE_CM / 100 / c.ECAL_RADIUS_M
    assert pytest.approx(ECAL_RADIUS_M) == c.ECAL_RADIUS_M


def test_barrel_edge_covers_eta_1_479() -> None:
    assert pytest.approx(BARREL_ETA_MAX, abs=0.01) == c.BARREL_EDGE_IETA * c.CRYSTAL_DETA


def test_gun_window_keeps_a_32x32_crop_inside_the_barrel() -> None:
    assert c.GUN_PT_GEV == 50.0
    assert c.GUN_ETA_MAX == 1.2
    # The seed's crystal plus 16 crystals to the crop's edge stay inside |eta| < 1.479.
    assert c.GUN_ETA_MAX + 16 * c.CRYSTAL_DETA < BARREL_ETA_MAX


def test_bending_radius_of_50_gev_in_3_8_tesla() -> None:
    assert c.B_FIELD_T == 3.8
    rho_m = c.GUN_PT_GEV / (c.CURVATURE_GEV_PER_T_M * c.B_FIELD_T)
    assert rho_m == pytest.approx(43.9, abs=0.05)
    # Impact offset asin(R / 2 rho) at the ECAL face: 0.0147 rad, 0.85 crystal.
    offset_rad = math.asin(c.ECAL_RADIUS_M / (2 * rho_m))
    assert offset_rad == pytest.approx(0.0147, abs=2e-4)
    assert offset_rad / c.CRYSTAL_DETA == pytest.approx(0.85, abs=0.02)


def test_tracker_material_profile_and_layers() -> None:
    assert pytest.approx(0.4) == c.MATERIAL_X0_AT_ETA0
    assert c.MATERIAL_X0_AT_ETA0 + c.MATERIAL_X0_PER_ETA2 * 1.2**2 > 1.0
    assert c.LAYER_RADII_M.shape == c.LAYER_SHARES.shape == (14,)
    assert np.all(np.diff(c.LAYER_RADII_M) > 0)
    assert c.LAYER_RADII_M[-1] < c.ECAL_RADIUS_M
    assert c.LAYER_SHARES.sum() == pytest.approx(1.0)
    assert c.LAYER_SHARES[:3].sum() == pytest.approx(0.1)


def test_conversion_probability_per_radiation_length_is_7_over_9() -> None:
    assert pytest.approx(7 / 9) == c.CONVERSION_PER_X0
    # Over 0.4 X0 at eta = 0 about a quarter of the photons convert.
    assert 1 - math.exp(-c.CONVERSION_PER_X0 * 0.4) == pytest.approx(0.267, abs=0.005)


def test_pion_interaction_length_is_about_24_cm() -> None:
    assert pytest.approx(23.8, abs=0.1) == c.PB_WO4_PION_LAMBDA_CM
    assert abs(c.PB_WO4_PION_LAMBDA_CM - PION_LAMBDA_CM) < 0.5
    # Pions interact less than nucleons: longer than the nucleon lambda_I.
    assert c.PB_WO4_PION_LAMBDA_CM > NUCLEON_LAMBDA_CM
    # The crystal is about one interaction length: 0.38 of the pions cross it without interacting.
    assert math.exp(-c.CRYSTAL_LENGTH_CM / c.PB_WO4_PION_LAMBDA_CM) == pytest.approx(0.38, abs=0.01)


def test_pion_interaction_length_from_the_cross_sections_by_hand() -> None:
    molar_mass = 207.2 + 183.84 + 4 * 15.999  # PbWO4, g/mol
    sigma_cm2 = (1.53 + 1.41 + 4 * 0.225) * 1e-24
    lam = molar_mass / (6.02214e23 * DENSITY_G_CM3 * sigma_cm2)
    assert pytest.approx(lam, rel=1e-12) == c.PB_WO4_PION_LAMBDA_CM


def test_tracker_interaction_probability() -> None:
    assert pytest.approx(0.16, abs=0.01) == c.TRACKER_LAMBDA_PER_X0
    # 10-15 % of the pions interact in the tracker over |eta| < 1.2 (0.4 to 1.48 X0).
    eta = np.linspace(-1.2, 1.2, 2001)
    t = c.MATERIAL_X0_AT_ETA0 + c.MATERIAL_X0_PER_ETA2 * eta**2
    fraction = np.mean(1 - np.exp(-c.TRACKER_LAMBDA_PER_X0 * t))
    assert 0.08 < fraction < 0.15


def test_minimum_ionisation_landau_width_and_plasma_energy() -> None:
    # <Z/A> of PbWO4 is 188 / 455.0 = 0.413; xi / x = K/2 <Z/A> rho = 0.525 MeV/cm.
    z_over_a = (82 + 74 + 32) / (207.2 + 183.84 + 4 * 15.999)
    assert pytest.approx(0.5 * 0.307075e-3 * z_over_a * DENSITY_G_CM3) == c.PB_WO4_LANDAU_XI_GEV_PER_CM
    assert pytest.approx(0.525e-3, abs=0.005e-3) == c.PB_WO4_LANDAU_XI_GEV_PER_CM
    assert pytest.approx(600.7e-9) == c.PB_WO4_MEAN_EXCITATION_GEV
    # hbar omega_p = 28.816 eV sqrt(rho <Z/A>) = 53.3 eV (PDG lists 52.5 eV for PbWO4 with its own <Z/A>).
    assert pytest.approx(28.816e-9 * math.sqrt(DENSITY_G_CM3 * z_over_a)) == c.PB_WO4_PLASMA_ENERGY_GEV
    assert pytest.approx(52.5e-9, rel=0.02) == c.PB_WO4_PLASMA_ENERGY_GEV
    assert pytest.approx(0.13957) == c.PION_MASS_GEV


def test_electronics() -> None:
    assert pytest.approx(0.040) == c.NOISE_GEV
    assert pytest.approx(3 * c.NOISE_GEV) == c.THRESHOLD_GEV
    # sigma_t at 1 GeV: sqrt((35 x 0.04)^2 + 0.2^2) = 1.41 ns; at 50 GeV the constant term dominates.
    sigma_1 = math.hypot(c.TIME_NOISE_TERM_NS * c.NOISE_GEV / 1.0, c.TIME_CONSTANT_NS)
    sigma_50 = math.hypot(c.TIME_NOISE_TERM_NS * c.NOISE_GEV / 50.0, c.TIME_CONSTANT_NS)
    assert sigma_1 == pytest.approx(1.414, abs=0.001)
    assert sigma_50 == pytest.approx(0.2, abs=0.02)
    assert c.TIME_CLIP_NS == 125.0
    assert pytest.approx(29.98, abs=0.01) == c.SPEED_OF_LIGHT_CM_PER_NS


def test_calibrated_shower_parameters_are_physical() -> None:
    p = c.CALIBRATED
    assert p == c.ShowerParams()
    assert 0 < p.core_fraction < 1
    assert 0 < p.halo_fraction < 1 - p.core_fraction
    assert p.core_radius < p.tail_radius < p.halo_radius
    # The core is a fraction of a Moliere radius (2.1 cm / 2.2 cm = about one crystal); the tail about one.
    assert p.core_radius < 0.5
    assert 0.5 < p.tail_radius < 1.5
    assert 0.9 < p.containment <= 1.0
    assert p.spot_energy > 0
    assert p.radius_sigma > 0


def _gflash_fraction_within(radius: float, r_i: float) -> float:
    """Fraction of a GFlash component r^2 / (r^2 + R_i^2) inside ``radius``."""
    return radius**2 / (radius**2 + r_i**2)


def test_calibrated_lateral_profile_contains_about_90_and_95_percent_within_one_and_two_moliere_radii() -> None:
    # The notes quote "about" 90 % and 95 %; the model, calibrated on Geant4 crops, holds 85 % and 94 %.
    p = c.CALIBRATED
    r_m = c.PB_WO4_X0_CM * 0.0212 / c.PB_WO4_CRITICAL_GEV / c.CRYSTAL_SIZE_CM  # crystals
    tail = 1 - p.core_fraction - p.halo_fraction

    def within(r: float) -> float:
        return (
            p.core_fraction * _gflash_fraction_within(r, p.core_radius)
            + tail * _gflash_fraction_within(r, p.tail_radius)
            + p.halo_fraction * _gflash_fraction_within(r, p.halo_radius)
        )

    assert 0.82 < within(r_m) < 0.95
    assert 0.92 < within(2 * r_m) < 0.98
    assert within(r_m) < within(2 * r_m)


def test_calibrated_hadron_parameters_are_physical() -> None:
    h = c.HADRON_CALIBRATED
    assert h == c.HadronParams()
    assert 0 < h.em_exponent < 1
    # Groom's pi0 fraction at 50 GeV: em_scale (1 - 50^(k-1)) is about a third.
    assert 0.2 < h.em_scale * (1 - 50.0 ** (h.em_exponent - 1)) < 0.4
    assert 0 < h.hadronic_visible < 1
    assert 0 < h.leading_min < h.leading_max < 1
    assert 0 <= h.leading_neutral <= 1
    for name in ("late_fraction", "halo_late_fraction", "fragment_late_fraction", "halo_fraction"):
        assert 0 <= getattr(h, name) < 1, name
    assert h.clump_count >= 1
    assert h.fragment_energy > c.THRESHOLD_GEV


@pytest.mark.parametrize("params", [c.CALIBRATED, c.HADRON_CALIBRATED])
def test_parameter_sets_are_frozen(params: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.spot_energy = 1.0  # type: ignore[attr-defined]
