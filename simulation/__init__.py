"""egid's fast simulation of the CMS ECAL electron/photon crops, calibrated against Geant4.

A particle gun (pT = 50 GeV, |eta| < 1.2), the tracker material with bremsstrahlung and photon conversions
in the 3.8 T field, two-component GFlash showers integrated over the PbWO4 crystal grid, and the read-out
(noise, 32x32 crop around the hottest crystal, zero suppression, timing), vectorised over events in chunks.
Its files follow the real schema, so everything downstream runs on them unchanged.
"""

from __future__ import annotations

from egid.simulation.cache import default_sample, sample_dir
from egid.simulation.constants import CALIBRATED, ShowerParams
from egid.simulation.generate import CHUNK_EVENTS, SIMULATION_VERSION, iter_chunks, simulate_events, write_sample
from egid.simulation.gun import Particle

__all__ = (
    "CALIBRATED",
    "CHUNK_EVENTS",
    "SIMULATION_VERSION",
    "Particle",
    "ShowerParams",
    "default_sample",
    "iter_chunks",
    "sample_dir",
    "simulate_events",
    "write_sample",
)
