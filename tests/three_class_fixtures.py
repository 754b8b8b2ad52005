"""Toy three-class samples (electrons, photons, charged pions) for the three-class tests.

The e/gamma crops are :func:`tests.conftest.toy_crops`; the pions are a cheap caricature of the Geant4 pions
(``../shared/PHYSICS.md``): a third are minimum-ionising (one crystal of 0.25-0.36 GeV), the rest hadronic
showers of 2-40 GeV spread over a broad, irregular patch. Good enough to be separable, to give a summed-energy
spectrum that the 10/20/30 GeV thresholds cut into, and to keep the tests fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from egid.detector import EventWriter
from egid.detector.schema import ELECTRON, ENERGY, ENERGY_SCALE_GEV, IMAGE_SHAPE, PHOTON, PION, TIME
from egid.features import build_table
from egid.models.three_class import three_class_features
from tests.conftest import toy_crops

MIP_FRACTION = 1 / 3


def pion_crops(n: int, *, seed: int) -> np.ndarray:
    """``n`` pion-like crops in file units (GeV / 50, ns / 50), hottest crystal at (16, 16)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)
    mip = rng.random(n) < MIP_FRACTION
    x[mip, 16, 16, ENERGY] = rng.uniform(0.25, 0.36, size=int(mip.sum())) / ENERGY_SCALE_GEV
    showers = np.flatnonzero(~mip)
    total = rng.uniform(2.0, 40.0, size=showers.size)
    for event, energy in zip(showers, total, strict=True):
        hits = rng.integers(8, 30)
        ieta = np.clip(np.rint(16 + rng.normal(0, 2.5, hits)), 0, 31).astype(int)
        iphi = np.clip(np.rint(16 + rng.normal(0, 2.5, hits)), 0, 31).astype(int)
        share = rng.dirichlet(np.full(hits, 0.5)) * energy
        np.add.at(x[event, :, :, ENERGY], (ieta, iphi), share / ENERGY_SCALE_GEV)
        x[event, 16, 16, ENERGY] = x[event, ..., ENERGY].max() * 1.05  # the crop's seed is its hottest crystal
    lit = x[..., ENERGY] > 0
    x[..., TIME] = np.where(lit, rng.normal(0, 0.5, size=lit.shape) / 50.0, 0).astype(np.float32)
    return x


def three_class_arrays(n_per_class: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Electrons, photons then pions (``n_per_class`` each) and their labels 1, 0, 2."""
    x = np.concatenate(
        [
            toy_crops(n_per_class, label=ELECTRON, seed=seed + 1),
            toy_crops(n_per_class, label=PHOTON, seed=seed + 2),
            pion_crops(n_per_class, seed=seed + 3),
        ]
    )
    y = np.repeat(np.array([ELECTRON, PHOTON, PION], np.float32), n_per_class)
    return x, y


def write_pions(path: Path, n: int, *, seed: int = 3) -> Path:
    """Write ``n`` toy pions (y = 2.0) with an ``eta`` extra, the layout of a pion file."""
    with EventWriter(path, extras={"eta": np.float32}) as writer:
        eta = np.random.default_rng(seed).uniform(-1.2, 1.2, n).astype(np.float32)
        writer.append(pion_crops(n, seed=seed), np.full(n, PION, np.float32), eta=eta)
    return path


def write_three_class_file(path: Path, n_per_class: int, *, seed: int = 0) -> Path:
    """One ``--data`` file holding all three classes, sorted by class."""
    x, y = three_class_arrays(n_per_class, seed=seed)
    with EventWriter(path) as writer:
        writer.append(x, y)
    return path


def three_class_table(n_per_class: int, *, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The three-class feature table of :func:`three_class_arrays` (its ``label`` column included) and the labels
    as float64."""
    x, y = three_class_arrays(n_per_class, seed=seed)
    table = build_table(x, names=three_class_features())
    table["label"] = y
    return table, y.astype(np.float64)
