"""Simulated samples shared by the simulation tests (simulated once per test session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egid import features
from egid.simulation import simulate_events

N_EVENTS = 3000


@pytest.fixture(scope="session")
def electrons() -> tuple[np.ndarray, dict[str, np.ndarray], pd.DataFrame]:
    """3000 simulated electrons: images, extras and their feature table."""
    images, extras = simulate_events(N_EVENTS, particle="electron", seed=101)
    return images, extras, features.build_table(images)


@pytest.fixture(scope="session")
def photons() -> tuple[np.ndarray, dict[str, np.ndarray], pd.DataFrame]:
    """3000 simulated photons: images, extras (with ``converted``) and their feature table."""
    images, extras = simulate_events(N_EVENTS, particle="photon", seed=102)
    return images, extras, features.build_table(images)
