"""Lateral shower profile: exact crystal integrals of the GFlash density and the deposit window."""

from __future__ import annotations

import numpy as np
import pytest

from egid.simulation.constants import CALIBRATED
from egid.simulation.shower import WINDOW_CENTRE, crystal_fractions, shower_deposits
from egid.simulation.tracker import EcalHits


def _midpoint_fractions(eta_pos: float, phi_pos: float, radius: float, half_width: int) -> np.ndarray:
    """Slow reference: the GFlash density summed on a fine grid of points inside each crystal."""
    steps = 200
    offsets = (np.arange(steps) + 0.5) / steps - 0.5
    out = np.zeros((2 * half_width + 1, 2 * half_width + 1))
    for i in range(2 * half_width + 1):
        for j in range(2 * half_width + 1):
            x = (i - half_width) + offsets[:, None] - eta_pos
            y = (j - half_width) + offsets[None, :] - phi_pos
            density = radius**2 / (np.pi * (x**2 + y**2 + radius**2) ** 2)
            out[i, j] = density.mean()
    return out


@pytest.mark.parametrize(("eta_pos", "phi_pos", "radius"), [(0.0, 0.0, 0.3), (0.4, -0.2, 0.8), (-0.5, 0.5, 0.1)])
def test_crystal_fractions_match_numerical_integration(eta_pos: float, phi_pos: float, radius: float) -> None:
    exact = crystal_fractions(np.array([eta_pos]), np.array([phi_pos]), np.array([radius]), 2)[0]
    assert exact == pytest.approx(_midpoint_fractions(eta_pos, phi_pos, radius, 2), abs=2e-4)


def test_fractions_sum_to_the_containment_of_the_window() -> None:
    radius = 0.5
    shares = crystal_fractions(np.zeros(1), np.zeros(1), np.array([radius]), 4)[0]
    # Outside a disc of radius r the GFlash form leaves R^2 / (r^2 + R^2); the square of half-side 4.5 holds more.
    assert 1 - radius**2 / (4.5**2 + radius**2) < shares.sum() < 1.0
    assert shares.argmax() == shares.size // 2
    np.testing.assert_allclose(shares, shares.T, atol=1e-6)
    np.testing.assert_allclose(shares, shares[::-1, ::-1], atol=1e-6)


def test_shower_moves_energy_towards_the_neighbour_it_is_closer_to() -> None:
    shares = crystal_fractions(np.zeros(2), np.array([-0.4, 0.4]), np.full(2, 0.3), 1)
    assert shares[0, 1, 0] > shares[0, 1, 2]
    assert shares[1, 1, 2] > shares[1, 1, 0]


def test_deposits_hold_the_hit_energy_at_its_impact() -> None:
    energy = np.array([60.0, 10.0])
    hits = EcalHits(
        event=np.array([0, 0]),
        energy=energy,
        charge=np.zeros(2),
        eta_offset=np.zeros(2),
        phi_offset=np.array([0.0, 5.0]),
        phi_slope=np.zeros(2),
    )
    deposits = shower_deposits(
        hits, 1, eta_in_crystal=np.zeros(1), phi_in_crystal=np.zeros(1), params=CALIBRATED, rng=np.random.default_rng(0)
    )
    row, col = WINDOW_CENTRE
    e = deposits.energy[0]
    assert e.sum() == pytest.approx(energy.sum() * CALIBRATED.containment, rel=0.03)
    assert e[row, col] == e.max()
    assert e[row, col + 5] > e[row, col + 3]
    assert np.all(deposits.time[0][e > 1.0] > 0)
