"""Tests for egid.simulation.gun: fixed pT, flat |eta| < 1.2, E = pT cosh(eta), the charges of each particle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egid.simulation.gun import fire

PARTICLES = ("electron", "photon", "pion")


@pytest.mark.parametrize("particle", PARTICLES)
def test_energy_is_pt_cosh_eta_with_pt_50_gev(particle: str) -> None:
    gun = fire(500, particle=particle, rng=np.random.default_rng(1))
    for eta, energy in zip(gun.eta, gun.energy, strict=True):
        assert energy == pytest.approx(50.0 * math.cosh(eta), rel=1e-12)
    # pT = E / cosh(eta) is the same 50 GeV for every event.
    np.testing.assert_allclose(gun.energy / np.cosh(gun.eta), 50.0, rtol=1e-12)


@pytest.mark.parametrize("particle", PARTICLES)
def test_eta_is_flat_inside_the_barrel_window(particle: str) -> None:
    gun = fire(20_000, particle=particle, rng=np.random.default_rng(2))
    assert gun.eta.shape == (20_000,)
    assert np.all(np.abs(gun.eta) < 1.2)
    # Flat: mean 0, variance (2 x 1.2)^2 / 12 = 0.48, a quarter of the events in each 0.6-wide bin.
    assert abs(gun.eta.mean()) < 0.03
    assert gun.eta.var() == pytest.approx(0.48, rel=0.03)
    counts, _ = np.histogram(gun.eta, bins=4, range=(-1.2, 1.2))
    np.testing.assert_allclose(counts / len(gun.eta), 0.25, atol=0.015)
    # The energy therefore lies between 50 GeV (eta = 0) and 50 cosh(1.2) = 90.5 GeV.
    assert gun.energy.min() >= 50.0
    assert gun.energy.max() < 50.0 * math.cosh(1.2)


def test_electrons_carry_both_charges_at_random() -> None:
    gun = fire(4000, particle="electron", rng=np.random.default_rng(3))
    assert set(np.unique(gun.charge)) == {-1.0, 1.0}
    assert abs(np.mean(gun.charge == -1.0) - 0.5) < 0.03
    # At random, not alternating: some neighbours share a charge.
    assert np.any(gun.charge[1:] == gun.charge[:-1])


def test_photons_are_neutral() -> None:
    gun = fire(100, particle="photon", rng=np.random.default_rng(4))
    np.testing.assert_array_equal(gun.charge, np.zeros(100))


@pytest.mark.parametrize("n", [1, 2, 7, 10])
def test_pions_alternate_pi_minus_first(n: int) -> None:
    gun = fire(n, particle="pion", rng=np.random.default_rng(5))
    expected = [-1.0 if i % 2 == 0 else 1.0 for i in range(n)]
    np.testing.assert_array_equal(gun.charge, expected)


def test_even_pion_block_holds_as_many_pi_minus_as_pi_plus() -> None:
    gun = fire(10, particle="pion", rng=np.random.default_rng(6))
    assert np.sum(gun.charge == -1.0) == np.sum(gun.charge == 1.0) == 5


@pytest.mark.parametrize("particle", PARTICLES)
def test_impact_inside_the_crystal_is_flat_in_half_a_crystal(particle: str) -> None:
    gun = fire(5000, particle=particle, rng=np.random.default_rng(7))
    assert np.all(gun.phi_in_crystal >= -0.5)
    assert np.all(gun.phi_in_crystal < 0.5)
    assert gun.phi_in_crystal.var() == pytest.approx(1 / 12, rel=0.05)


def test_same_seed_gives_the_same_primaries() -> None:
    a = fire(50, particle="electron", rng=np.random.default_rng(8))
    b = fire(50, particle="electron", rng=np.random.default_rng(8))
    for field in ("eta", "energy", "charge", "phi_in_crystal"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_arrays_have_one_value_per_event() -> None:
    gun = fire(13, particle="electron", rng=np.random.default_rng(9))
    for values in (gun.eta, gun.energy, gun.charge, gun.phi_in_crystal):
        assert values.shape == (13,)
        assert values.dtype == np.float64
