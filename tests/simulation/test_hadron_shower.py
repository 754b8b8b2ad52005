"""Hadrons in the crystals: the Landau MIP, the interaction depth and where the energy lands."""

from __future__ import annotations

import numpy as np
import pytest

from egid.simulation.constants import CALIBRATED, CRYSTAL_LENGTH_CM, HADRON_CALIBRATED, PB_WO4_PION_LAMBDA_CM
from egid.simulation.hadron_shower import WINDOW_ROWS, hadron_deposits, landau_mpv_gev, mip_energy
from egid.simulation.shower import WINDOW_COLS
from egid.simulation.tracker import EcalHits

PION_50_GEV_BETA_GAMMA = 50.0 / 0.13957


def _pions_at_the_face(n: int, *, energy: float = 60.0, phi_slope: float = 0.0) -> EcalHits:
    """One pion per event, hitting its event's centre crystal straight on (no tracker, no secondaries)."""
    zeros = np.zeros(n)
    return EcalHits(
        event=np.arange(n),
        energy=np.full(n, energy),
        charge=-np.ones(n),
        eta_offset=zeros,
        phi_offset=zeros,
        phi_slope=np.full(n, phi_slope),
    )


def _deposit(hits: EcalHits, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(hits.event.size)
    rng = np.random.default_rng(seed)
    nothing = EcalHits(*(np.zeros(0, dtype=np.int64 if i == 0 else float) for i in range(6)))
    deposits, depth = hadron_deposits(
        hits,
        np.ones(n, dtype=bool),
        nothing,
        n,
        eta_in_crystal=rng.uniform(-0.5, 0.5, n),
        phi_in_crystal=rng.uniform(-0.5, 0.5, n),
        params=HADRON_CALIBRATED,
        shower_params=CALIBRATED,
        rng=rng,
    )
    return deposits.energy, depth


def test_interaction_length_follows_from_the_cross_sections() -> None:
    """lambda = M / (N_A rho sum sigma) of PbWO4 with Geant4's pion cross sections on Pb, W and O: about 24 cm."""
    assert pytest.approx(23.8, abs=0.1) == PB_WO4_PION_LAMBDA_CM


def test_most_probable_mip_over_the_crystal_is_in_the_geant4_window() -> None:
    mpv = float(landau_mpv_gev(np.array([CRYSTAL_LENGTH_CM]), np.array([PION_50_GEV_BETA_GAMMA]))[0])
    assert 0.25 < mpv < 0.36
    # The most probable loss grows a little faster than the path (the ln xi term) and vanishes with it.
    half = float(landau_mpv_gev(np.array([CRYSTAL_LENGTH_CM / 2]), np.array([PION_50_GEV_BETA_GAMMA]))[0])
    assert 0.4 * mpv < half < 0.5 * mpv
    assert landau_mpv_gev(np.array([0.0]), np.array([PION_50_GEV_BETA_GAMMA]))[0] == 0.0


def test_sampled_mip_peaks_at_the_most_probable_value_with_a_high_tail() -> None:
    path = np.full(200_000, CRYSTAL_LENGTH_CM)
    energy = mip_energy(path, np.full(path.size, PION_50_GEV_BETA_GAMMA), np.random.default_rng(0))
    counts, edges = np.histogram(energy, bins=np.arange(0.2, 0.5, 0.005))
    mode = edges[counts.argmax()] + 0.0025
    mpv = landau_mpv_gev(path[:1], np.array([PION_50_GEV_BETA_GAMMA]))[0]
    assert mode == pytest.approx(mpv, abs=0.01)
    assert np.mean(energy) > np.median(energy) > mode  # Landau: skewed towards high losses


def test_a_third_of_the_pions_cross_the_crystals_without_interacting() -> None:
    n = 6000
    _, depth = _deposit(_pions_at_the_face(n), seed=1)
    crossed = np.isnan(depth).mean()
    expected = np.exp(-CRYSTAL_LENGTH_CM / PB_WO4_PION_LAMBDA_CM)  # 0.38, about exp(-23/24)
    assert crossed == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n))
    interacted = depth[~np.isnan(depth)]
    assert interacted.min() >= 0 and interacted.max() < CRYSTAL_LENGTH_CM
    # Exponential depths: the first half of the crystal holds more first interactions than the second.
    assert np.mean(interacted < CRYSTAL_LENGTH_CM / 2) > 0.55


def test_a_non_interacting_pion_leaves_a_mip_in_one_crystal() -> None:
    energy, depth = _deposit(_pions_at_the_face(4000), seed=2)
    mip = energy[np.isnan(depth)].reshape(-1, WINDOW_ROWS * WINDOW_COLS)
    total, hottest = mip.sum(axis=1), mip.max(axis=1)
    counts, edges = np.histogram(total, bins=np.arange(0.1, 0.8, 0.02))
    assert 0.25 <= edges[counts.argmax()] + 0.01 <= 0.36
    assert np.mean(hottest / total > 0.99) > 0.8  # straight on: the whole track in one crystal, mostly


def test_a_slanted_track_shares_its_mip_between_neighbours_along_phi() -> None:
    """A slope of 0.1 moves the track by 23 cm x 0.1 = 1 crystal: it always crosses one i-phi boundary."""
    energy, depth = _deposit(_pions_at_the_face(2000, phi_slope=0.1), seed=3)
    mip = energy[np.isnan(depth)]
    per_row = mip.sum(axis=2)
    per_col = mip.sum(axis=1)
    assert np.all((per_row > 0).sum(axis=1) == 1)  # nothing moves along i-eta
    assert np.mean((per_col > 0.02).sum(axis=1) == 2) > 0.9


def test_showers_deposit_a_fraction_of_the_energy_that_falls_with_the_interaction_depth() -> None:
    energy, depth = _deposit(_pions_at_the_face(6000), seed=4)
    total = energy.sum(axis=(1, 2)) / 60.0
    early = total[depth < 5].mean()
    late = total[depth > 18].mean()
    assert 0.3 < early < 0.7  # partial containment and invisible energy: never the whole pion
    assert late < 0.5 * early
    assert np.all(total < 1.05)
