"""Transport through the tracker: material, bremsstrahlung, photon conversions and bending in the 3.8 T field.

All particles of a block of events travel together as one flat list, layer by layer, in the transverse plane.
Each particle carries its event, energy, charge, lateral position ``y`` (m, along the azimuthal direction
perpendicular to the original flight line), direction ``psi`` (rad, from that line), and its offset ``v`` (m)
and slope along i-eta, which only multiple scattering changes. Between layers a
charged track follows its circle exactly; at each layer

* an electron or positron radiates: it keeps a fraction ``z`` of its energy with the Bethe-Heitler density
  ``f(z) = (-ln z)^(c-1) / Gamma(c)``, ``c = t / ln 2`` (so ``-ln z ~ Gamma(c)``), and the radiated energy
  leaves as one photon along its current direction;
* an electron or positron scatters (multiple Coulomb scattering, Highland's width) in both directions;
* a photon converts with probability ``1 - exp(-7/9 t)`` into an e- e+ pair sharing its energy with the
  Bethe-Heitler pair spectrum ``dP/dx ~ 1 - 4/3 x (1 - x)``; the legs bend apart.

Secondaries radiate and convert in the later layers like primaries. A track too soft to reach the next radius
(``pT < 0.3 B r / 2``) curls up and is lost. What reaches the ECAL is returned as :class:`EcalHits`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from egid.detector.schema import FloatArray, IndexArray
from egid.simulation.constants import (
    B_FIELD_T,
    CONVERSION_PER_X0,
    CRYSTAL_SIZE_CM,
    CURVATURE_GEV_PER_T_M,
    ECAL_RADIUS_M,
    LAYER_RADII_M,
    LAYER_SHARES,
    MATERIAL_X0_AT_ETA0,
    MATERIAL_X0_PER_ETA2,
)

__all__ = (
    "EcalHits",
    "Particles",
    "bethe_heitler_survival",
    "convert_photons",
    "ecal_hits",
    "material_x0",
    "pair_fraction",
    "propagate",
    "radiate",
    "scatter",
    "transport",
)

#: Radiated photons below this energy (GeV) are not emitted: the electron keeps the energy. They would
#: deposit less than a third of the noise level and only lengthen the particle list.
MIN_BREM_GEV = 0.02

_PAIR_GRID = np.linspace(0.0, 1.0, 2049)
_PAIR_CDF = (_PAIR_GRID - 2.0 / 3.0 * _PAIR_GRID**2 + 4.0 / 9.0 * _PAIR_GRID**3) * 9.0 / 7.0


@dataclass(frozen=True)
class EcalHits:
    """The particles that reach the ECAL front face.

    Attributes
    ----------
    event : ndarray of shape (m,), int64
        Event index within the block.
    energy : ndarray of shape (m,), float64
        Energy in GeV.
    charge : ndarray of shape (m,), float64
        -1 (electron), +1 (positron) or 0 (photon).
    eta_offset : ndarray of shape (m,), float64
        Impact position along i-eta relative to the primary's straight-line impact, in crystals: multiple
        scattering, and the detour of bent tracks. A track whose transverse path to the ECAL radius exceeds it by
        ``delta`` has also run ``delta sinh(eta)`` further along z, so it meets the crystal plane (perpendicular
        to the flight line) ``delta tanh(eta)`` closer to eta = 0.
    phi_offset : ndarray of shape (m,), float64
        Impact position along i-phi relative to the primary's straight-line impact, in crystals.
    phi_slope : ndarray of shape (m,), float64
        Tangent of the angle between the track and the crystal axis, in the i-phi direction.
    """

    event: IndexArray
    energy: FloatArray
    charge: FloatArray
    eta_offset: FloatArray
    phi_offset: FloatArray
    phi_slope: FloatArray


def material_x0(eta: FloatArray) -> FloatArray:
    """Tracker material before the ECAL along the flight path: ``t = 0.4 + 0.75 eta^2`` radiation lengths."""
    return MATERIAL_X0_AT_ETA0 + MATERIAL_X0_PER_ETA2 * np.asarray(eta) ** 2


def bethe_heitler_survival(thickness: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Sample the fraction ``z`` of its energy an electron keeps after ``thickness`` radiation lengths.

    Bethe-Heitler: ``f(z) = (-ln z)^(c-1) / Gamma(c)`` with ``c = t / ln 2``, i.e. ``-ln z ~ Gamma(c, 1)``;
    the mean is ``<z> = 2^(-c) = exp(-t)``. Reference: Bethe & Heitler, Proc. R. Soc. A 146 (1934) 83.
    """
    survival: FloatArray = np.exp(-rng.standard_gamma(np.asarray(thickness) / np.log(2.0)))
    return survival


def pair_fraction(u: FloatArray) -> FloatArray:
    """Map uniform numbers ``u`` to the electron's energy fraction ``x`` of a conversion pair.

    The complete-screening Bethe-Heitler spectrum ``dP/dx = 9/7 (1 - 4/3 x (1 - x))`` on [0, 1] is sampled
    by inverting its CDF ``F(x) = 9/7 (x - 2/3 x^2 + 4/9 x^3)`` on a fine grid.
    """
    return np.interp(u, _PAIR_CDF, _PAIR_GRID)


@dataclass
class Particles:
    """A flat list of particles of many events (struct of arrays, one entry per particle).

    The layer-by-layer steps (:func:`propagate`, :func:`scatter`, :func:`radiate`, :func:`convert_photons`) act on it;
    :mod:`egid.simulation.nuclear` carries pions and their secondaries with the same steps.

    ``event`` indexes the event; ``energy`` in GeV; ``charge`` -1, 0 or +1; ``y`` the transverse offset (m) and
    ``psi`` the direction (rad) in the bending plane; ``v`` the offset along i-eta (m) and ``v_slope`` its slope;
    ``path`` the transverse arc length so far (m); ``primary_photon`` whether it is the gun's unconverted photon.
    """

    event: IndexArray
    energy: FloatArray
    charge: FloatArray
    y: FloatArray
    psi: FloatArray
    v: FloatArray
    v_slope: FloatArray
    path: FloatArray
    primary_photon: npt.NDArray[np.bool_]

    @classmethod
    def primaries(cls, energy: FloatArray, charge: FloatArray, *, photon: npt.NDArray[np.bool_]) -> Particles:
        """The gun's particles, one per event (GeV, charge), at the beam line and flying along the event's direction;
        ``photon`` marks the gun's photons."""
        n = energy.size
        zeros = np.zeros(n)
        return cls(
            event=np.arange(n),
            energy=energy.astype(np.float64),
            charge=charge.astype(np.float64),
            y=zeros,
            psi=zeros.copy(),
            v=zeros.copy(),
            v_slope=zeros.copy(),
            path=zeros.copy(),
            primary_photon=photon,
        )

    def take(self, keep: npt.NDArray[np.bool_] | IndexArray) -> Particles:
        """The particles selected by ``keep`` (a mask or indices), as a new list."""
        return Particles(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    def extend(self, other: Particles) -> Particles:
        """This list followed by ``other``, as a new list."""
        return Particles(
            **{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)}
        )


def propagate(p: Particles, cosh_eta: FloatArray, x0: float, x1: float) -> Particles:
    """Move every particle from transverse radius ``x0`` to ``x1`` (m); drop tracks that curl up before it.

    A track of curvature ``kappa = -q 0.3 B / pT`` (1/m; e- bend towards +y) turns its direction to
    ``sin psi1 = sin psi0 + kappa (x1 - x0)`` and moves sideways by ``(x1 - x0) tan((psi0 + psi1) / 2)``, the
    exact circle, which is a straight line for photons (``kappa = 0``). Along i-eta nothing bends: the offset
    ``v`` grows by its slope times the path length ``(x1 - x0) cosh(eta)``. ``path`` adds up the transverse arc
    length.
    """
    step = x1 - x0
    pt = p.energy / cosh_eta[p.event]
    kappa = -p.charge * CURVATURE_GEV_PER_T_M * B_FIELD_T / pt
    sin_psi1 = np.sin(p.psi) + kappa * step
    reaches = np.abs(sin_psi1) < 1.0
    p = p.take(reaches)
    psi1 = np.arcsin(sin_psi1[reaches])
    half_turn = 0.5 * (psi1 - p.psi)
    chord = step / np.cos(p.psi + half_turn)
    p.path = p.path + chord / np.sinc(half_turn / np.pi)  # arc = chord x (a / sin a), a the half turn
    p.y = p.y + step * np.tan(p.psi + half_turn)
    p.psi = psi1
    p.v = p.v + step * cosh_eta[p.event] * p.v_slope
    return p


def scatter(p: Particles, thickness: FloatArray, cosh_eta: FloatArray, rng: np.random.Generator) -> None:
    """Multiple Coulomb scattering of the charged particles in a layer of ``thickness`` X0 (per particle).

    Highland: ``theta_0 = 13.6 MeV / p sqrt(t) (1 + 0.038 ln t)`` per projected plane (PDG eq. 34.15); the
    kick along i-phi turns the transverse direction by ``theta cosh(eta)`` (the transverse momentum is
    ``p / cosh(eta)``).
    """
    charged = np.flatnonzero(p.charge != 0)
    t = thickness[charged]
    theta0 = 0.0136 / p.energy[charged] * np.sqrt(t) * (1.0 + 0.038 * np.log(t))
    kicks = theta0[:, None] * rng.standard_normal((charged.size, 2))
    p.v_slope[charged] += kicks[:, 0]
    p.psi[charged] += kicks[:, 1] * cosh_eta[p.event[charged]]


def radiate(p: Particles, thickness: FloatArray, rng: np.random.Generator) -> Particles:
    """Bethe-Heitler energy loss of the charged particles in a layer of ``thickness`` X0 (per particle)."""
    charged = np.flatnonzero(p.charge != 0)
    kept = bethe_heitler_survival(thickness[charged], rng)
    radiated = p.energy[charged] * (1.0 - kept)
    emits = radiated > MIN_BREM_GEV
    source = charged[emits]
    photons = p.take(source)
    photons.energy = radiated[emits]
    photons.charge = np.zeros(source.size)
    photons.primary_photon = np.zeros(source.size, dtype=bool)
    p.energy[source] *= kept[emits]
    return p.extend(photons)


def convert_photons(p: Particles, thickness: FloatArray, rng: np.random.Generator, converted: np.ndarray) -> Particles:
    """Convert photons in a layer of ``thickness`` X0 (per particle); mark events whose primary converted."""
    neutral = np.flatnonzero(p.charge == 0)
    converts = rng.random(neutral.size) < -np.expm1(-CONVERSION_PER_X0 * thickness[neutral])
    source = neutral[converts]
    converted[p.event[source[p.primary_photon[source]]]] = True
    x = pair_fraction(rng.random(source.size))
    positrons = p.take(source)
    positrons.energy = positrons.energy * (1.0 - x)
    positrons.charge = np.ones(source.size)
    positrons.primary_photon = np.zeros(source.size, dtype=bool)
    p.energy[source] *= x
    p.charge[source] = -1.0
    p.primary_photon[source] = False
    return p.extend(positrons)


def transport(
    eta: FloatArray, energy: FloatArray, charge: FloatArray, *, rng: np.random.Generator
) -> tuple[EcalHits, np.ndarray]:
    """Carry a block of primaries from the origin through the tracker to the ECAL front face.

    Parameters
    ----------
    eta, energy, charge : ndarray of shape (n,)
        The primaries (see :func:`egid.simulation.gun.fire`).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    hits : EcalHits
        Every particle that reaches the ECAL (the primary or what is left of it, brem photons, conversion legs).
    converted : ndarray of shape (n,), bool
        Whether the event's primary photon converted in the tracker (always False for electrons).
    """
    n = eta.size
    cosh_eta = np.cosh(eta)
    t_total = material_x0(eta)
    p = Particles.primaries(energy, charge, photon=charge == 0)
    converted = np.zeros(n, dtype=bool)
    radius = 0.0
    for layer_radius, share in zip(LAYER_RADII_M, LAYER_SHARES, strict=True):
        p = propagate(p, cosh_eta, radius, float(layer_radius))
        radius = float(layer_radius)
        thickness = share * t_total
        # Photons radiated in this layer only convert from the next one on.
        p = convert_photons(p, thickness[p.event], rng, converted)
        scatter(p, thickness[p.event], cosh_eta, rng)
        p = radiate(p, thickness[p.event], rng)
    return ecal_hits(propagate(p, cosh_eta, radius, ECAL_RADIUS_M), eta), converted


def ecal_hits(p: Particles, eta: FloatArray) -> EcalHits:
    """The particles ``p``, already at the ECAL radius, as impact points on the crystal face of each event."""
    crystal_m = CRYSTAL_SIZE_CM / 100.0
    return EcalHits(
        event=p.event,
        energy=p.energy,
        charge=p.charge,
        eta_offset=(p.v - (p.path - ECAL_RADIUS_M) * np.tanh(eta[p.event])) / crystal_m,
        phi_offset=p.y / crystal_m,
        phi_slope=np.sin(p.psi) / np.cosh(eta[p.event]),
    )
