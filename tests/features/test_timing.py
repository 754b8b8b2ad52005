"""Timing features on hand-built crops with known crystal times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egid.features import build_table
from tests.features.toy_images import crop

ENERGIES = {(0, 0): 30.0, (0, 1): 10.0, (0, 5): 0.5, (2, 0): 2.0}
TIMES = {(0, 0): 1.0, (0, 1): 3.0, (0, 5): 50.0, (2, 0): -4.0}


def row(energies: dict[tuple[int, int], float], times: dict[tuple[int, int], float]) -> dict[str, float]:
    return build_table(crop(energies, times)[None]).iloc[0].to_dict()


def test_energy_weighted_time_over_crystals_above_1_gev() -> None:
    f = row(ENERGIES, TIMES)
    mean = (30 * 1 + 10 * 3 + 2 * -4) / 42  # the 0.5 GeV crystal at 50 ns is left out
    assert f["seed_time"] == pytest.approx(1.0)
    assert f["time_mean"] == pytest.approx(mean, rel=1e-6)
    rms = math.sqrt((30 * (1 - mean) ** 2 + 10 * (3 - mean) ** 2 + 2 * (-4 - mean) ** 2) / 42)
    assert f["time_rms"] == pytest.approx(rms, rel=1e-6)
    assert f["time_2nd_minus_seed"] == pytest.approx(2.0, rel=1e-6)
    assert f["time_max_abs"] == pytest.approx(4.0)


def test_unlit_seed_has_no_time() -> None:
    f = row({(0, 3): 20.0, (0, 4): 5.0}, {(0, 3): 2.0, (0, 4): 1.0})
    assert np.isnan(f["seed_time"]) and np.isnan(f["time_2nd_minus_seed"])
    assert f["time_mean"] == pytest.approx(1.8)


def test_no_crystal_above_1_gev_leaves_the_averages_undefined() -> None:
    f = row({(0, 0): 0.8}, {(0, 0): 3.0})
    assert f["seed_time"] == pytest.approx(3.0)
    for name in ("time_mean", "time_rms", "time_max_abs", "time_2nd_minus_seed"):
        assert np.isnan(f[name]), name
