"""The crop layout stated once: shape, channels, seed crystal, labels, units and the physical bounds."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import InputError, check_images
from egid.detector.schema import (
    CHANNELS,
    ELECTRON,
    ENERGY,
    ENERGY_SCALE_GEV,
    IMAGE_SHAPE,
    MAX_ABS_TIME_NS,
    MAX_ENERGY_GEV,
    N_IETA,
    N_IPHI,
    PHOTON,
    SEED_IETA,
    SEED_IPHI,
    TIME,
    TIME_SCALE_NS,
    class_name,
)

G4_SLICE = Path(__file__).resolve().parents[1] / "data" / "g4_slice.hdf5"
LHC_CENTRE_OF_MASS_GEV = 14_000.0
BUNCH_SPACING_NS = 25.0
PT_GEV = 50.0
"""Transverse momentum of every particle of the Geant4 slice (tests/data/README.md)."""


def test_the_image_shape_is_32_by_32_crystals_of_two_channels() -> None:
    assert IMAGE_SHAPE == (N_IETA, N_IPHI, CHANNELS) == (32, 32, 2)
    assert {ENERGY, TIME} == set(range(CHANNELS))


def test_the_seed_crystal_is_the_centre_of_the_crop() -> None:
    assert (SEED_IETA, SEED_IPHI) == (N_IETA // 2, N_IPHI // 2)


@pytest.mark.parametrize(
    ("label", "name"), [(ELECTRON, "electron"), (PHOTON, "photon"), (1, "electron"), (np.float32(0.0), "photon")]
)
def test_class_name(label: float, name: str) -> None:
    assert class_name(label) == name


def test_the_labels_are_those_of_the_files() -> None:
    assert (ELECTRON, PHOTON) == (1.0, 0.0)
    with h5py.File(G4_SLICE) as f:  # 100 electrons first, then 100 photons (tests/data/README.md)
        y = f["y"][:]
    assert [class_name(label) for label in y[[0, 99, 100, 199]]] == ["electron", "electron", "photon", "photon"]


def test_the_physical_bounds_are_the_lhc_energy_and_forty_bunch_crossings() -> None:
    assert MAX_ENERGY_GEV == LHC_CENTRE_OF_MASS_GEV
    assert MAX_ABS_TIME_NS == 40 * BUNCH_SPACING_NS
    assert MAX_ABS_TIME_NS == 4 * (2 * 125.0)  # four read-out windows of +-125 ns


def test_the_file_units_are_gev_and_ns_over_fifty_on_geant4_showers() -> None:
    """A 50 GeV pT particle carries E = pT cosh(eta); the crop holds 90-100% of it once scaled back to GeV."""
    with h5py.File(G4_SLICE) as f:
        x, eta = f["X"][:], f["eta"][:]
    contained = x[..., ENERGY].sum(axis=(1, 2)) * ENERGY_SCALE_GEV / (PT_GEV * np.cosh(eta))
    assert contained.min() > 0.85 and contained.max() <= 1.0
    assert np.abs(x[..., TIME]).max() * TIME_SCALE_NS <= 125.0


def _crop(energy: float = 0.0, time: float = 0.0) -> np.ndarray:
    x = np.zeros((1, *IMAGE_SHAPE), dtype=np.float32)
    x[0, SEED_IETA, SEED_IPHI] = (energy, time)
    return x


def test_the_bounds_in_file_units_are_280_and_20() -> None:
    """14 TeV / 50 = 280 and 1000 ns / 50 = 20: the values at the bounds pass, the next float32 beyond fails."""
    energy_limit = MAX_ENERGY_GEV / ENERGY_SCALE_GEV
    time_limit = MAX_ABS_TIME_NS / TIME_SCALE_NS
    assert (energy_limit, time_limit) == (280.0, 20.0)
    for crop in (_crop(energy_limit), _crop(1.0, time_limit), _crop(1.0, -time_limit)):
        check_images(crop, name="bounds.h5")
    beyond = [
        _crop(np.nextafter(np.float32(energy_limit), np.float32(np.inf))),
        _crop(1.0, np.nextafter(np.float32(time_limit), np.float32(np.inf))),
        _crop(1.0, -np.nextafter(np.float32(time_limit), np.float32(np.inf))),
    ]
    for crop in beyond:
        with pytest.raises(InputError, match=r"14000 GeV \(280 in GeV / 50\) and times within \+-1000 ns \(20 in"):
            check_images(crop, name="bounds.h5")
