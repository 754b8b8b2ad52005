"""The particle gun: single electrons, photons or charged pions of fixed pT from the origin, flat in pseudorapidity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from egid.detector.schema import FloatArray
from egid.simulation.constants import GUN_ETA_MAX, GUN_PT_GEV

__all__ = ("Gun", "Particle", "fire", "generated_energy")

Particle = Literal["electron", "photon", "pion"]


@dataclass(frozen=True)
class Gun:
    """The generated primaries of a block of events.

    Attributes
    ----------
    eta : ndarray of shape (n,), float64
        Pseudorapidity, uniform in [-1.2, 1.2].
    energy : ndarray of shape (n,), float64
        ``E = pT cosh(eta)`` in GeV with pT = 50 GeV.
    charge : ndarray of shape (n,), float64
        -1 or +1 for electrons (equally often, at random), 0 for photons, -1 and +1 in turn for pions (pi- first,
        as in the Geant4 reference: a block of even size holds exactly as many pi- as pi+).
    phi_in_crystal : ndarray of shape (n,), float64
        Position of the straight-line impact inside its crystal along i-phi, in crystals from the crystal's
        centre, uniform in [-0.5, 0.5) (the azimuth is flat).
    """

    eta: FloatArray
    energy: FloatArray
    charge: FloatArray
    phi_in_crystal: FloatArray


def generated_energy(eta: npt.ArrayLike) -> FloatArray:
    """The gun's energy at pseudorapidity ``eta``, GeV: ``E = pT cosh(eta)`` with ``pT`` = :data:`GUN_PT_GEV`
    (50 to 90.5 GeV over ``|eta| < 1.2``); the Geant4 reference's gun is the same."""
    return GUN_PT_GEV * np.cosh(np.asarray(eta, dtype=np.float64))


def fire(n: int, *, particle: Particle, rng: np.random.Generator) -> Gun:
    """Generate ``n`` primaries of one kind.

    Parameters
    ----------
    n : int
        Number of events.
    particle : {"electron", "photon", "pion"}
        Electrons come with charge -1 or +1 at random (e- bend towards +i-phi, e+ towards -i-phi); pions
        alternate pi-, pi+ (pi- bend like e-).
    rng : numpy.random.Generator
        Source of randomness.
    """
    eta = rng.uniform(-GUN_ETA_MAX, GUN_ETA_MAX, size=n)
    if particle == "electron":
        charge = rng.choice(np.array([-1.0, 1.0]), size=n)
    elif particle == "pion":
        charge = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)
    else:
        charge = np.zeros(n)
    phi_in_crystal = rng.uniform(-0.5, 0.5, size=n)
    return Gun(eta=eta, energy=generated_energy(eta), charge=charge, phi_in_crystal=phi_in_crystal)
