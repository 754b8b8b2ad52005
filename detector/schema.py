"""The layout of the CMS ECAL electron/photon crops, stated once.

The public CMS/ML4SCI files (``SingleElectronPt50_IMGCROPS_n249k_RHv1.hdf5`` and
``SinglePhotonPt50_IMGCROPS_n249k_RHv1.hdf5``) hold:

======= ======================== ==================================================================
dataset type                     content
======= ======================== ==================================================================
``X``   float32 (N, 32, 32, 2)   ``[..., 0]`` crystal energy in GeV / 50, ``[..., 1]`` crystal time in
                                 ns / 50; axis 1 is i-eta, axis 2 is i-phi; the hottest crystal sits
                                 at index (16, 16); crystals below the zero-suppression threshold are
                                 exactly 0 in both channels
``y``   float32 (N,)             1.0 for electrons, 0.0 for photons, 2.0 for charged pions
======= ======================== ==================================================================

The e/gamma files hold one class each (``--electrons``, ``--photons``); charged-pion files (``--pions``) have the
same layout with ``y`` = 2.0 only. A single ``--data`` file may hold any of the three labels; one holding only 0
and 1 is an electron/photon (binary) dataset.

Further one-dimensional datasets of length N (for example ``eta`` or ``converted``) are per-event
extras that egid carries along into its feature tables.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = (
    "BINARY_LABELS",
    "CHANNELS",
    "CLASS_LABELS",
    "CLASS_NAMES",
    "ELECTRON",
    "ENERGY",
    "ENERGY_SCALE_GEV",
    "IMAGE_SHAPE",
    "MAX_ABS_TIME_NS",
    "MAX_ENERGY_GEV",
    "N_IETA",
    "N_IPHI",
    "PHOTON",
    "PION",
    "SEED_IETA",
    "SEED_IPHI",
    "TIME",
    "TIME_SCALE_NS",
    "FloatArray",
    "Images",
    "IndexArray",
    "class_name",
)

Images = npt.NDArray[np.float32]
"""A batch of crops, shape (N, 32, 32, 2), in file units (GeV / 50 and ns / 50)."""
FloatArray = npt.NDArray[np.floating]
"""A per-event or per-crystal array of floats."""
IndexArray = npt.NDArray[np.int64]
"""Event indices into a dataset."""

N_IETA: Final = 32
"""Crystals along i-eta (axis 1)."""
N_IPHI: Final = 32
"""Crystals along i-phi (axis 2); the 3.8 T field spreads charged deposits along this axis."""
CHANNELS: Final = 2
IMAGE_SHAPE: Final = (N_IETA, N_IPHI, CHANNELS)

ENERGY: Final = 0
"""Channel index of the crystal energy."""
TIME: Final = 1
"""Channel index of the crystal time."""
ENERGY_SCALE_GEV: Final = 50.0
"""Stored energy x ENERGY_SCALE_GEV = energy in GeV."""
TIME_SCALE_NS: Final = 50.0
"""Stored time x TIME_SCALE_NS = time in ns."""

MAX_ENERGY_GEV: Final = 14_000.0
"""Largest crystal energy egid accepts, in GeV: the LHC's centre-of-mass energy, which no deposit can exceed.
A value above it (for example 1e30 in a damaged or mis-scaled file) is a bad input, not a measurement."""
MAX_ABS_TIME_NS: Final = 1_000.0
"""Largest crystal time magnitude egid accepts, in ns: forty bunch crossings, four times the ECAL read-out window
(the real files clip at +-125 ns)."""

SEED_IETA: Final = 16
SEED_IPHI: Final = 16
"""Index of the crystal the crop is centred on (the hottest one in the real files)."""

ELECTRON: Final = 1.0
PHOTON: Final = 0.0
PION: Final = 2.0
"""Label of a charged pion (pi+ or pi-), the third class of the three-class (e / gamma / pi) identification."""

BINARY_LABELS: Final = (PHOTON, ELECTRON)
"""The labels of an electron/photon dataset, in the order of ``np.unique``."""
CLASS_LABELS: Final = (ELECTRON, PHOTON, PION)
"""Every label egid accepts, in the three-class models' column order: the probability of class ``CLASS_LABELS[k]``
is column ``k`` of a three-class model's output."""
CLASS_NAMES: Final = ("electron", "photon", "pion")
"""The class names in the order of :data:`CLASS_LABELS` (the suffixes of a three-class model's score columns)."""


def class_name(label: float) -> str:
    """Return ``"electron"`` for label 1, ``"photon"`` for label 0 and ``"pion"`` for label 2.

    Raises
    ------
    ValueError
        ``label`` is none of :data:`CLASS_LABELS`.
    """
    for value, name in zip(CLASS_LABELS, CLASS_NAMES, strict=True):
        if label == value:
            return name
    msg = f"Expected a class label among {CLASS_LABELS}; got {label!r}."
    raise ValueError(msg)
