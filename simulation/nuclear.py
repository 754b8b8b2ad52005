"""Charged pions through the tracker: nuclear interactions in the silicon, their secondaries, and the field.

The pions travel layer by layer like the electrons of :mod:`egid.simulation.tracker` (the same exact circles in
the 3.8 T field and the same multiple scattering; a 50 GeV pion radiates nothing). In each layer a pion makes an
inelastic nuclear interaction with probability ``1 - exp(-t / (X0_Si / lambda_Si))`` for ``t`` X0 of silicon
(:data:`~egid.simulation.constants.TRACKER_LAMBDA_PER_X0`). It is then replaced by its secondaries:

* a leading hadron with a fraction of the energy uniform in ``[leading_min, leading_max]``;
* ``max(1, Poisson(multiplicity))`` others sharing the rest (less the part left in the silicon) with flat
  Dirichlet shares; a third are pi0, which decay at once into two photons sharing their energy uniformly (the
  lab-frame spectrum of a two-body decay), the others charged hadrons of either charge;
* each with a transverse momentum about the pion's direction drawn from ``Gamma(2)`` of mean ``mean_pt`` in a
  random azimuth.

The photons then convert and the conversion legs radiate in the later layers as in the e/gamma tracker; the
secondary hadrons bend (a soft one curls up and never reaches the ECAL) and scatter, but interact again only in
the crystals. What reaches the ECAL is returned as two lists of :class:`~egid.simulation.tracker.EcalHits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from egid.detector.schema import FloatArray
from egid.simulation.constants import ECAL_RADIUS_M, LAYER_RADII_M, LAYER_SHARES, TRACKER_LAMBDA_PER_X0, HadronParams
from egid.simulation.tracker import (
    EcalHits,
    Particles,
    convert_photons,
    ecal_hits,
    material_x0,
    propagate,
    radiate,
    scatter,
)

__all__ = ("PionHits", "transport_pions")

PI0_SHARE = 1.0 / 3.0
"""Share of neutral pions among the non-leading secondaries (isospin: pi+, pi0, pi- equally often)."""


@dataclass(frozen=True)
class PionHits:
    """What a block of pions brings to the ECAL front face.

    Attributes
    ----------
    hadrons : EcalHits
        Charged hadrons: the pions that did not interact in the tracker and the secondaries of those that did.
    primary : ndarray of shape (len(hadrons.event),), bool
        Which hadron is its event's pion itself (its first interaction in the crystals sets ``int_depth``).
    electromagnetic : EcalHits
        Photons from pi0 decays, their conversion legs and the legs' bremsstrahlung photons.
    tracker_depth : ndarray of shape (n,), float64
        Depth of the pion's interaction in the tracker along its flight line, measured from the ECAL front face
        (cm, negative); NaN where it reached the ECAL intact.
    """

    hadrons: EcalHits
    primary: npt.NDArray[np.bool_]
    electromagnetic: EcalHits
    tracker_depth: FloatArray


def _empty() -> Particles:
    zeros = np.zeros(0)
    return Particles(
        event=np.zeros(0, dtype=np.int64),
        energy=zeros,
        charge=zeros,
        y=zeros,
        psi=zeros,
        v=zeros,
        v_slope=zeros,
        path=zeros,
        primary_photon=np.zeros(0, dtype=bool),
    )


def _kick(p: Particles, theta: FloatArray, cosh_eta: FloatArray, rng: np.random.Generator) -> None:
    """Turn every particle of ``p`` by the polar angle ``theta`` (rad) in a random azimuth about its direction.

    The component along i-eta changes the slope ``v_slope``; the one along i-phi turns the transverse direction
    ``psi`` by ``theta cosh(eta)`` (as in multiple scattering).
    """
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=p.event.size)
    p.v_slope = p.v_slope + theta * np.cos(azimuth)
    p.psi = p.psi + theta * np.sin(azimuth) * cosh_eta[p.event]


def _secondaries(
    parents: Particles, params: HadronParams, cosh_eta: FloatArray, rng: np.random.Generator
) -> tuple[Particles, Particles]:
    """The secondaries of nuclear interactions of ``parents``: ``(charged hadrons, photons)``."""
    k = parents.event.size
    leading = rng.uniform(params.leading_min, params.leading_max, size=k)
    n_other = np.maximum(rng.poisson(params.multiplicity, size=k), 1)
    parent_of = np.repeat(np.arange(k), n_other)
    weights = rng.exponential(size=parent_of.size)
    share = weights / np.bincount(parent_of, weights=weights, minlength=k)[parent_of]
    shared = parents.energy * (1.0 - leading - params.tracker_invisible)
    energy = np.concatenate([parents.energy * leading, shared[parent_of] * share])
    source = np.concatenate([np.arange(k), parent_of])
    neutral = np.concatenate([rng.random(k) < params.leading_neutral, rng.random(parent_of.size) < PI0_SHARE])

    products = parents.take(source)
    products.energy = energy
    products.primary_photon = np.zeros(source.size, dtype=bool)
    pt = rng.gamma(2.0, params.mean_pt / 2.0, size=source.size)
    _kick(products, np.minimum(pt / energy, 1.0), cosh_eta, rng)

    hadrons = products.take(~neutral)
    hadrons.charge = rng.choice(np.array([-1.0, 1.0]), size=hadrons.event.size)
    pi0 = products.take(neutral)
    split = rng.random(pi0.event.size)
    photons = pi0.extend(pi0.take(np.arange(pi0.event.size)))
    photons.energy = pi0.energy[np.r_[np.arange(split.size), np.arange(split.size)]] * np.r_[split, 1.0 - split]
    photons.charge = np.zeros(photons.event.size)
    return hadrons, photons


def transport_pions(
    eta: FloatArray, energy: FloatArray, charge: FloatArray, *, params: HadronParams, rng: np.random.Generator
) -> PionHits:
    """Carry a block of charged pions from the origin through the tracker to the ECAL front face.

    Parameters
    ----------
    eta, energy, charge : ndarray of shape (n,)
        The pions (see :func:`egid.simulation.gun.fire`): pseudorapidity, energy (GeV), charge (-1 or +1).
    params : HadronParams
        Secondary production in the tracker (multiplicity, leading fraction, transverse momentum).
    rng : numpy.random.Generator
        Source of randomness.
    """
    n = eta.size
    cosh_eta = np.cosh(eta)
    t_total = material_x0(eta)
    pions = Particles.primaries(energy, charge, photon=np.zeros(n, dtype=bool))
    hadrons, photons = _empty(), _empty()
    tracker_depth = np.full(n, np.nan)
    # No photon here is a gun primary, so convert_photons never marks an event; it needs a flag array all the same.
    unused_flags = np.zeros(n, dtype=bool)
    radius = 0.0
    for layer_radius, share in zip(LAYER_RADII_M, LAYER_SHARES, strict=True):
        step_to = float(layer_radius)
        pions = propagate(pions, cosh_eta, radius, step_to)
        hadrons = propagate(hadrons, cosh_eta, radius, step_to)
        photons = propagate(photons, cosh_eta, radius, step_to)
        radius = step_to
        thickness = share * t_total

        photons = convert_photons(photons, thickness[photons.event], rng, unused_flags)
        scatter(photons, thickness[photons.event], cosh_eta, rng)
        photons = radiate(photons, thickness[photons.event], rng)
        scatter(pions, thickness[pions.event], cosh_eta, rng)
        scatter(hadrons, thickness[hadrons.event], cosh_eta, rng)

        interacts = rng.random(pions.event.size) < -np.expm1(-TRACKER_LAMBDA_PER_X0 * thickness[pions.event])
        tracker_depth[pions.event[interacts]] = -100.0 * (ECAL_RADIUS_M - radius) * cosh_eta[pions.event[interacts]]
        new_hadrons, new_photons = _secondaries(pions.take(interacts), params, cosh_eta, rng)
        pions = pions.take(~interacts)
        hadrons = hadrons.extend(new_hadrons)
        photons = photons.extend(new_photons)

    pions = propagate(pions, cosh_eta, radius, ECAL_RADIUS_M)
    hadrons = propagate(hadrons, cosh_eta, radius, ECAL_RADIUS_M)
    photons = propagate(photons, cosh_eta, radius, ECAL_RADIUS_M)
    primary = np.r_[np.ones(pions.event.size, dtype=bool), np.zeros(hadrons.event.size, dtype=bool)]
    return PionHits(
        hadrons=ecal_hits(pions.extend(hadrons), eta),
        primary=primary,
        electromagnetic=ecal_hits(photons, eta),
        tracker_depth=tracker_depth,
    )
