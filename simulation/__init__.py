"""egid's fast simulation of the CMS ECAL electron, photon and charged-pion crops, calibrated against Geant4.

A particle gun (pT = 50 GeV, |eta| < 1.2), the tracker material with bremsstrahlung, photon conversions and
(for pions) nuclear interactions in the 3.8 T field, two-component GFlash showers integrated over the PbWO4
crystal grid, minimum-ionising tracks and hadronic showers for pions, and the read-out (noise, 32x32 crop around
the hottest crystal, zero suppression, timing), vectorised over events in chunks. Its files follow the real
schema, so everything downstream runs on them unchanged.
"""

from __future__ import annotations

from egid.simulation.cache import MANIFEST, default_sample, sample_dir
from egid.simulation.constants import CALIBRATED, HADRON_CALIBRATED, HadronParams, ShowerParams
from egid.simulation.generate import (
    CHUNK_EVENTS,
    LABELS,
    PARTICLES,
    PION,
    PION_SIMULATION_VERSION,
    SIMULATION_VERSION,
    check_particles,
    iter_chunks,
    simulate_events,
    write_sample,
)
from egid.simulation.gun import Particle

__all__ = (
    "CALIBRATED",
    "CHUNK_EVENTS",
    "HADRON_CALIBRATED",
    "LABELS",
    "MANIFEST",
    "PARTICLES",
    "PION",
    "PION_SIMULATION_VERSION",
    "SIMULATION_VERSION",
    "HadronParams",
    "Particle",
    "ShowerParams",
    "check_particles",
    "default_sample",
    "iter_chunks",
    "sample_dir",
    "simulate_events",
    "write_sample",
)
