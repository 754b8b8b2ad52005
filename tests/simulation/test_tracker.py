"""Tracker transport: conversion probability, pair sharing, bremsstrahlung loss and bending direction."""

from __future__ import annotations

import numpy as np
import pytest

from egid.simulation.constants import B_FIELD_T, CRYSTAL_SIZE_CM, CURVATURE_GEV_PER_T_M, ECAL_RADIUS_M, GUN_PT_GEV
from egid.simulation.tracker import bethe_heitler_survival, material_x0, pair_fraction, transport

N = 20_000


def _primaries(eta: float, charge: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    etas = np.full(N, eta)
    return etas, GUN_PT_GEV * np.cosh(etas), np.full(N, charge)


@pytest.mark.parametrize("eta", [0.0, 0.6, 1.2])
def test_conversion_fraction_follows_material(eta: float) -> None:
    _, converted = transport(*_primaries(eta, 0.0), rng=np.random.default_rng(1))
    expected = 1.0 - np.exp(-7.0 / 9.0 * material_x0(np.array(eta)))
    sigma = np.sqrt(expected * (1.0 - expected) / N)
    assert abs(converted.mean() - expected) < 4.0 * sigma


def test_material_grows_with_eta() -> None:
    assert material_x0(np.array([0.0, 1.2])) == pytest.approx([0.4, 0.4 + 0.75 * 1.44])


def test_pair_fraction_matches_bethe_heitler_spectrum() -> None:
    x = pair_fraction(np.random.default_rng(2).random(200_000))
    counts, edges = np.histogram(x, bins=10, range=(0.0, 1.0))
    centres = 0.5 * (edges[1:] + edges[:-1])
    density = 9.0 / 7.0 * (1.0 - 4.0 / 3.0 * centres * (1.0 - centres))
    expected = density / density.sum() * x.size
    assert np.all(np.abs(counts - expected) < 5.0 * np.sqrt(expected))
    assert counts[0] > counts[4]  # asymmetric splits are favoured


def test_unconverted_photons_fly_straight() -> None:
    hits, converted = transport(*_primaries(0.5, 0.0), rng=np.random.default_rng(3))
    straight = ~converted[hits.event]
    assert np.all(hits.phi_offset[straight] == 0.0)
    assert np.all(hits.energy[straight] == pytest.approx(GUN_PT_GEV * np.cosh(0.5)))


@pytest.mark.parametrize("charge", [-1.0, 1.0])
def test_electrons_bend_towards_their_side_of_iphi(charge: float) -> None:
    hits, _ = transport(*_primaries(0.0, charge), rng=np.random.default_rng(4))
    kept_most = (hits.charge == charge) & (hits.energy > 0.99 * GUN_PT_GEV)
    rho = GUN_PT_GEV / (CURVATURE_GEV_PER_T_M * B_FIELD_T)
    straight_bend = ECAL_RADIUS_M * np.tan(0.5 * np.arcsin(ECAL_RADIUS_M / rho)) / (CRYSTAL_SIZE_CM / 100)
    offsets = -charge * hits.phi_offset[kept_most]  # e- (charge -1) towards +i-phi
    assert kept_most.sum() > 1000
    # Multiple scattering of a 50 GeV track moves it by well under 0.02 crystals.
    assert np.mean(offsets >= straight_bend * 0.98) > 0.99
    assert np.median(offsets) == pytest.approx(straight_bend, rel=0.02)


@pytest.mark.parametrize("thickness", [0.05, 0.4, 1.5])
def test_bethe_heitler_mean_survival_is_exp_minus_t(thickness: float) -> None:
    z = bethe_heitler_survival(np.full(200_000, thickness), np.random.default_rng(5))
    assert np.all((z > 0) & (z <= 1))
    assert z.mean() == pytest.approx(np.exp(-thickness), abs=4 * z.std() / np.sqrt(z.size))


def test_radiated_energy_reaches_the_ecal_along_the_bending_side() -> None:
    eta = 0.8
    hits, _ = transport(*_primaries(eta, -1.0), rng=np.random.default_rng(6))
    total = np.bincount(hits.event, weights=hits.energy, minlength=N)
    # Energy is conserved up to soft conversion legs that curl up before the ECAL.
    assert total.mean() == pytest.approx(GUN_PT_GEV * np.cosh(eta), rel=0.01)
    assert hits.event.size > 3 * N  # brem photons
    # An e- and its photons land on the +i-phi side: between the straight line (0) and the electron's impact.
    centroid = np.bincount(hits.event, weights=hits.energy * hits.phi_offset, minlength=N) / total
    straight_bend = 0.85
    assert np.mean(centroid > 0) > 0.99
    assert np.median(centroid) < 2 * straight_bend
