"""WINDOW_FEATURES is exactly the set of features that read nothing outside the 5x5 around the seed.

Safe: on realistic crops (Geant4 electrons, photons and charged pions, and egid's simulation), zeroing or
randomising every crystal outside the 5x5 (both channels) leaves these features bit for bit unchanged. Complete:
every other registered feature, the hadronic ones included, changes for some crop under one of the two.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from egid.detector import load_dataset
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, SEED_IETA, SEED_IPHI, TIME, TIME_SCALE_NS
from egid.features import FEATURE_NAMES, THREE_CLASS_FEATURES, WINDOW_FEATURES, build_table
from egid.features.crops import WINDOW_HALF
from egid.simulation import simulate_events
from tests.features.toy_images import G4_SLICE, g4_pion_crops

_I, _J = np.indices((32, 32))
OUTSIDE = (np.abs(_I - SEED_IETA) > WINDOW_HALF) | (np.abs(_J - SEED_IPHI) > WINDOW_HALF)
"""The 1024 - 25 crystals outside the 5x5 around the seed."""


@pytest.fixture(scope="module")
def realistic_crops() -> np.ndarray:
    """The 200 e/gamma and 100 pion Geant4 crops of the test slices and 100 simulated electrons and photons each."""
    simulated = [simulate_events(100, particle=particle, seed=4)[0] for particle in ("electron", "photon")]
    return np.concatenate([load_dataset(data=G4_SLICE).read_images(), g4_pion_crops(), *simulated])


def zeroed(images: np.ndarray) -> np.ndarray:
    """Every crystal outside the 5x5 unlit (energy and time 0)."""
    out = images.copy()
    out[:, OUTSIDE, :] = 0.0
    return out


def randomised(images: np.ndarray) -> np.ndarray:
    """Every crystal outside the 5x5 redrawn: a third lit with exponential energies (mean 1 GeV, 2% of them up to
    100 GeV, hotter than most seeds) and times of sigma 5 ns; the others unlit."""
    rng = np.random.default_rng(1)
    out = images.copy()
    shape = (len(images), int(OUTSIDE.sum()))
    energy = rng.exponential(1.0, shape) * np.where(rng.random(shape) < 0.02, 100.0, 1.0)
    energy[rng.random(shape) > 1 / 3] = 0.0
    out[:, OUTSIDE, ENERGY] = (energy / ENERGY_SCALE_GEV).astype(np.float32)
    out[:, OUTSIDE, TIME] = np.where(energy > 0, rng.normal(0.0, 5.0, shape) / TIME_SCALE_NS, 0.0).astype(np.float32)
    return out


PERTURBATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"zeroed": zeroed, "randomised": randomised}


def changed_features(before: pd.DataFrame, after: pd.DataFrame) -> set[str]:
    """The features whose value differs for at least one crop (NaN equals NaN)."""
    return {
        name
        for name in THREE_CLASS_FEATURES
        if not np.array_equal(before[name].to_numpy(), after[name].to_numpy(), equal_nan=True)
    }


def table(images: np.ndarray) -> pd.DataFrame:
    return build_table(images, THREE_CLASS_FEATURES)


def test_the_crops_hold_energy_outside_the_5x5(realistic_crops: np.ndarray) -> None:
    """Otherwise zeroing the outside would prove nothing."""
    assert (table(realistic_crops)["e_outside_5x5"] > 0).mean() > 0.9


@pytest.mark.parametrize("perturbation", sorted(PERTURBATIONS))
def test_window_features_ignore_every_crystal_outside_the_5x5(realistic_crops: np.ndarray, perturbation: str) -> None:
    before = table(realistic_crops)
    after = table(PERTURBATIONS[perturbation](realistic_crops))
    changed = changed_features(before, after)
    assert changed & set(WINDOW_FEATURES) == set()
    assert changed, "the perturbation changed nothing at all"


def test_every_other_feature_reads_some_crystal_outside_the_5x5(realistic_crops: np.ndarray) -> None:
    before = table(realistic_crops)
    changed = set().union(*(changed_features(before, table(f(realistic_crops))) for f in PERTURBATIONS.values()))
    unchanged = set(THREE_CLASS_FEATURES) - changed
    assert unchanged - set(WINDOW_FEATURES) == set(), "features outside WINDOW_FEATURES that never changed"
    assert set(WINDOW_FEATURES) - unchanged == set(), "WINDOW_FEATURES that changed"


def test_window_features_are_registered_once_in_table_order() -> None:
    assert len(set(WINDOW_FEATURES)) == len(WINDOW_FEATURES)
    assert list(WINDOW_FEATURES) == [name for name in FEATURE_NAMES if name in WINDOW_FEATURES]
