"""Named, hand-built crops with known feature values, and random showers for property tests.

Positions are (i-eta, i-phi) offsets from the seed at (16, 16); energies in GeV and times in ns (the builders
convert to the file's GeV/50 and ns/50).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, IMAGE_SHAPE, SEED_IETA, SEED_IPHI, TIME, TIME_SCALE_NS

__all__ = (
    "G4_PION_SLICE",
    "G4_SLICE",
    "PHI_STRIP",
    "SINGLE_HOT_PIXEL",
    "SYMMETRIC_3X3",
    "TWO_CLUSTERS",
    "crop",
    "crops",
    "g4_pion_crops",
    "random_showers",
)

G4_SLICE = Path(__file__).resolve().parents[1] / "data" / "g4_slice.hdf5"
G4_PION_SLICE = Path(__file__).resolve().parents[1] / "data" / "g4_pion_slice.hdf5"
"""100 Geant4 charged pions (label 2.0), see ``tests/data/README.md``."""

SINGLE_HOT_PIXEL = {(0, 0): 50.0}
"""One lit crystal, the seed."""
SYMMETRIC_3X3 = {(0, 0): 40.0} | {(i, j): 2.0 for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)}
"""A seed with eight equal neighbours: 56 GeV, all within the 3x3."""
PHI_STRIP = {(0, -2): 1.0, (0, -1): 4.0, (0, 0): 30.0, (0, 1): 4.0, (0, 2): 1.0}
"""Energy spread only along i-phi, symmetric about the seed."""
TWO_CLUSTERS = {(0, 0): 30.0, (0, 1): 3.0, (0, 6): 8.0, (0, 7): 2.0, (1, 6): 1.5}
"""A core at the seed and a second cluster 6 crystals away along i-phi (a brem photon)."""


def g4_pion_crops() -> np.ndarray:
    """The crops of :data:`G4_PION_SLICE`, read directly (the feature tests need no label rule for pions)."""
    with h5py.File(G4_PION_SLICE, "r") as f:
        return np.asarray(f["X"][:], dtype=np.float32)


def crop(energies: Mapping[tuple[int, int], float], times: Mapping[tuple[int, int], float] | None = None) -> np.ndarray:
    """One (32, 32, 2) crop in file units from ``{(di, dj): GeV}`` and optional ``{(di, dj): ns}``."""
    x = np.zeros(IMAGE_SHAPE, dtype=np.float32)
    for (di, dj), e in energies.items():
        x[SEED_IETA + di, SEED_IPHI + dj, ENERGY] = e / ENERGY_SCALE_GEV
        x[SEED_IETA + di, SEED_IPHI + dj, TIME] = (times or {}).get((di, dj), 0.0) / TIME_SCALE_NS
    return x


def crops(*images: Mapping[tuple[int, int], float]) -> np.ndarray:
    """A batch (N, 32, 32, 2) of :func:`crop` images."""
    return np.stack([crop(e) for e in images])


def random_showers(rng: np.random.Generator, n: int, *, margin: int = 0) -> np.ndarray:
    """``n`` plausible random crops: a seed core with a noisy halo, often a displaced second deposit along i-phi.

    ``margin`` keeps every lit crystal at least that many crystals away from the crop edge. Energies are
    non-negative, times are set only where the energy is non-zero.
    """
    x = np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)
    lo, hi = margin, IMAGE_SHAPE[0] - margin
    for k in range(n):
        e = np.zeros(IMAGE_SHAPE[:2])
        e[SEED_IETA, SEED_IPHI] = rng.uniform(10, 50)
        halo = rng.integers(2, 40)
        i = np.clip(SEED_IETA + np.rint(rng.normal(0, 1.5, halo)).astype(int), lo, hi - 1)
        j = np.clip(SEED_IPHI + np.rint(rng.normal(0, 2.5, halo)).astype(int), lo, hi - 1)
        np.add.at(e, (i, j), rng.exponential(1.0, halo))
        if rng.random() < 0.5:
            dj = int(rng.integers(-8, 9))
            e[SEED_IETA, np.clip(SEED_IPHI + dj, lo, hi - 1)] += rng.uniform(1, 15)
        e[SEED_IETA, SEED_IPHI] = max(e[SEED_IETA, SEED_IPHI], e.max())
        e[e < 0.12] = 0.0
        x[k, :, :, ENERGY] = e / ENERGY_SCALE_GEV
        x[k, :, :, TIME] = np.where(e > 0, rng.normal(0, 1.0, e.shape) / TIME_SCALE_NS, 0.0)
    return x
