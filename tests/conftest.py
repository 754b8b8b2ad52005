"""Shared test fixtures: small crop files in the real CMS layout, written with egid's own writer."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import EventWriter
from egid.detector.schema import ENERGY, IMAGE_SHAPE, TIME

#: Fixtures shared by the tests of several packages.
pytest_plugins = ("tests.tree_fixtures", "tests.postgres")


def toy_crops(n: int, *, label: float, seed: int) -> np.ndarray:
    """Plausible crops in file units: a 3x3 core at (16,16), electrons (label 1) smeared along i-phi."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)
    core = rng.uniform(20, 40, size=n) / 50.0
    x[:, 16, 16, ENERGY] = core
    x[:, 15:18, 15:18, ENERGY] += (rng.uniform(0.2, 1.0, size=(n, 3, 3)) / 50.0).astype(np.float32)
    if label == 1.0:
        offset = rng.integers(2, 6, size=n)
        x[np.arange(n), 16, 16 + offset, ENERGY] = rng.uniform(1, 8, size=n) / 50.0
    lit = x[..., ENERGY] > 0
    x[..., TIME] = np.where(lit, rng.normal(0, 0.2, size=lit.shape) / 50.0, 0).astype(np.float32)
    return x


def write_crops(path: Path, n: int, *, label: float, seed: int = 0, eta: bool = True) -> Path:
    """Write ``n`` toy crops of one class to ``path`` in the real schema (plus ``eta`` when asked)."""
    extras = {"eta": np.float32} if eta else {}
    with EventWriter(path, extras=extras) as writer:
        values = {"eta": np.random.default_rng(seed).uniform(-1.2, 1.2, n).astype(np.float32)} if eta else {}
        writer.append(toy_crops(n, label=label, seed=seed), np.full(n, label, np.float32), **values)
    return path


def write_datasets(path: Path, **datasets: np.ndarray) -> Path:
    """Write ``datasets`` to a new HDF5 file as they are, without the schema checks (for malformed files)."""
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f.create_dataset(key, data=value)
    return path


@pytest.fixture
def crop_files(tmp_path: Path) -> tuple[Path, Path]:
    """An electron file (120 events) and a photon file (80 events) in the real two-file layout."""
    return (
        write_crops(tmp_path / "electron.hdf5", 120, label=1.0, seed=1),
        write_crops(tmp_path / "photon.hdf5", 80, label=0.0, seed=2),
    )
