"""Read-out: crop around the hottest crystal, zero suppression, timing and the barrel edge."""

from __future__ import annotations

import numpy as np
import pytest

from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, TIME, TIME_SCALE_NS
from egid.simulation.constants import THRESHOLD_GEV
from egid.simulation.electronics import read_out, time_resolution
from egid.simulation.shower import WINDOW_CENTRE, WINDOW_COLS, WINDOW_ROWS, Deposits


def _deposits(n: int, *, seed_offset: tuple[int, int] = (0, 0), background: float = 0.0) -> Deposits:
    energy = np.full((n, WINDOW_ROWS, WINDOW_COLS), background, dtype=np.float32)
    row, col = WINDOW_CENTRE[0] + seed_offset[0], WINDOW_CENTRE[1] + seed_offset[1]
    energy[:, row, col] = 40.0
    energy[:, row, col + 1] = 5.0
    time = np.where(energy > 0, np.float32(0.3), np.float32(0.0))
    return Deposits(energy=energy, time=time)


def test_hottest_crystal_lands_at_16_16() -> None:
    images = read_out(_deposits(50, seed_offset=(2, -7)), np.zeros(50, dtype=np.int64), rng=np.random.default_rng(0))
    e = images[..., ENERGY] * ENERGY_SCALE_GEV
    assert np.all(e.reshape(50, -1).argmax(axis=1) == 16 * 32 + 16)
    assert e[:, 16, 17] == pytest.approx(5.0, abs=0.3)


def test_zero_suppression_is_exact_in_both_channels() -> None:
    images = read_out(_deposits(200, background=0.1), np.zeros(200, dtype=np.int64), rng=np.random.default_rng(1))
    e, t = images[..., ENERGY] * ENERGY_SCALE_GEV, images[..., TIME]
    assert np.all((e == 0) | (e >= THRESHOLD_GEV * (1 - 1e-6)))
    assert np.all(t[e == 0] == 0)
    assert np.all(t[e > 0] != 0)
    # A 0.1 GeV background with 40 MeV noise passes the 120 MeV threshold in about 31% of the window crystals.
    window = e[:, 12:21, :]
    assert np.mean(window > 0) == pytest.approx(0.31, abs=0.05)
    # Pure noise beyond the window passes 3 sigma: about 0.13%.
    assert np.mean(e[:, :8, :] > 0) == pytest.approx(0.00135, abs=0.001)


def test_time_is_smeared_with_the_energy_dependent_resolution() -> None:
    images = read_out(_deposits(4000), np.zeros(4000, dtype=np.int64), rng=np.random.default_rng(2))
    seed_time = images[:, 16, 16, TIME] * TIME_SCALE_NS
    neighbour_time = images[:, 16, 17, TIME] * TIME_SCALE_NS
    assert seed_time.mean() == pytest.approx(0.3, abs=0.02)
    assert seed_time.std() == pytest.approx(float(time_resolution(np.array(40.0))), rel=0.05)
    assert neighbour_time.std() == pytest.approx(float(time_resolution(np.array(5.0))), rel=0.05)
    assert time_resolution(np.array(0.04)) == pytest.approx(np.hypot(35.0, 0.2))


def test_rows_beyond_the_barrel_edge_are_zero_padding() -> None:
    n = 20
    deposits = _deposits(n, background=2.0)  # every window crystal far above threshold
    last_crystal = np.full(n, 84, dtype=np.int64)
    e = read_out(deposits, last_crystal, rng=np.random.default_rng(3))[..., ENERGY]
    assert np.all(e[:, 17:, :] == 0)  # i-eta 85 and beyond do not exist
    assert np.all(e[:, 12:17, 16 - 10 : 16 + 10] > 0)
    first_crystal = np.full(n, -85, dtype=np.int64)
    e = read_out(deposits, first_crystal, rng=np.random.default_rng(4))[..., ENERGY]
    assert np.all(e[:, :16, :] == 0)
    assert np.all(e[:, 16:21, 16 - 10 : 16 + 10] > 0)
