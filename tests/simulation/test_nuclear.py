"""Charged pions through the tracker: interaction fraction, secondaries, bending."""

from __future__ import annotations

import numpy as np
import pytest

from egid.simulation.constants import GUN_PT_GEV, HADRON_CALIBRATED, TRACKER_LAMBDA_PER_X0
from egid.simulation.nuclear import PionHits, transport_pions
from egid.simulation.tracker import material_x0


def _transport(n: int, seed: int, *, eta: float | None = None) -> tuple[np.ndarray, np.ndarray, PionHits]:
    rng = np.random.default_rng(seed)
    etas = rng.uniform(-1.2, 1.2, n) if eta is None else np.full(n, eta)
    charge = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)
    energy = GUN_PT_GEV * np.cosh(etas)
    return etas, energy, transport_pions(etas, energy, charge, params=HADRON_CALIBRATED, rng=rng)


def test_tracker_interaction_fraction_follows_the_material() -> None:
    n = 20_000
    eta, _, hits = _transport(n, seed=1)
    expected = float(np.mean(-np.expm1(-TRACKER_LAMBDA_PER_X0 * material_x0(eta))))  # about 0.12
    interacted = ~np.isnan(hits.tracker_depth)
    assert interacted.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected / n))
    forward = np.abs(eta) > 0.8
    assert interacted[forward].mean() > 2 * interacted[np.abs(eta) < 0.4].mean()  # t(eta) = 0.4 + 0.75 eta^2


def test_tracker_depth_is_negative_and_within_the_tracker() -> None:
    _, _, hits = _transport(5000, seed=2)
    depth = hits.tracker_depth[~np.isnan(hits.tracker_depth)]
    along = 100.0 * (1.29 - np.array([0.04, 1.15]))  # first and last layer, cm before the ECAL at eta = 0
    assert np.all(depth < 0)
    assert np.all(-depth >= along[1] - 1e-9)
    assert np.all(-depth <= along[0] * np.cosh(1.2) + 1e-9)


def test_an_interacting_pion_becomes_several_particles_with_no_more_energy() -> None:
    _, energy, hits = _transport(5000, seed=3)
    interacted = ~np.isnan(hits.tracker_depth)
    n_hadrons = np.bincount(hits.hadrons.event, minlength=5000)
    n_photons = np.bincount(hits.electromagnetic.event, minlength=5000)
    assert np.all(n_hadrons[~interacted] == 1) and np.all(n_photons[~interacted] == 0)
    assert np.mean(n_hadrons[interacted] + n_photons[interacted] >= 3) > 0.9
    arriving = np.bincount(hits.hadrons.event, weights=hits.hadrons.energy, minlength=5000) + np.bincount(
        hits.electromagnetic.event, weights=hits.electromagnetic.energy, minlength=5000
    )
    assert np.all(arriving[interacted] <= energy[interacted] * (1 - HADRON_CALIBRATED.tracker_invisible) + 1e-6)
    assert np.all(hits.primary == (hits.hadrons.energy == energy[hits.hadrons.event]))


def test_pi_minus_bends_towards_plus_iphi_like_an_electron() -> None:
    """50 GeV in 3.8 T: the impact moves 0.0147 rad = 0.85 crystal at eta = 0 (PHYSICS.md), sign -charge."""
    n = 400
    _, _, hits = _transport(n, seed=4, eta=0.0)
    primary = hits.primary
    charge = np.where(hits.hadrons.event[primary] % 2 == 0, -1.0, 1.0)
    offset = hits.hadrons.phi_offset[primary]
    assert np.all(np.sign(offset) == -charge)
    assert np.median(np.abs(offset)) == pytest.approx(0.85, abs=0.05)
    assert np.all(np.sign(hits.hadrons.phi_slope[primary]) == -charge)
