"""Every number of egid's fast simulation, stated once with its unit and where it comes from.

The fixed numbers describe the set-up (the same as the Geant4 reference sample, see PHYSICS.md): the gun, the
tracker material and field, the ECAL geometry and the electronics. :class:`ShowerParams` holds the parameters
of the shower model that were calibrated against that Geant4 sample (``benchmarks/validate_simulation.py``
prints the comparison); :data:`CALIBRATED` is the set the simulation uses by default.

Units: GeV, ns, m (tracker geometry and bending), cm (crystal geometry), radiation lengths X0, crystals
(positions on the ECAL face), T.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = (
    "BARREL_EDGE_IETA",
    "B_FIELD_T",
    "CALIBRATED",
    "CONVERSION_PER_X0",
    "CRYSTAL_DETA",
    "CRYSTAL_LENGTH_CM",
    "CRYSTAL_SIZE_CM",
    "CURVATURE_GEV_PER_T_M",
    "ECAL_RADIUS_M",
    "GUN_ETA_MAX",
    "GUN_PT_GEV",
    "HADRON_CALIBRATED",
    "LAYER_RADII_M",
    "LAYER_SHARES",
    "MATERIAL_X0_AT_ETA0",
    "MATERIAL_X0_PER_ETA2",
    "NOISE_GEV",
    "PB_WO4_CRITICAL_GEV",
    "PB_WO4_LANDAU_XI_GEV_PER_CM",
    "PB_WO4_MEAN_EXCITATION_GEV",
    "PB_WO4_PION_LAMBDA_CM",
    "PB_WO4_PLASMA_ENERGY_GEV",
    "PB_WO4_X0_CM",
    "PION_MASS_GEV",
    "SPEED_OF_LIGHT_CM_PER_NS",
    "THRESHOLD_GEV",
    "TIME_CLIP_NS",
    "TIME_CONSTANT_NS",
    "TIME_NOISE_TERM_NS",
    "TRACKER_LAMBDA_PER_X0",
    "HadronParams",
    "ShowerParams",
)

# --- Gun -----------------------------------------------------------------------------------------------------
GUN_PT_GEV: Final = 50.0
"""Transverse momentum of every generated particle; its energy is ``E = pT cosh(eta)``."""
GUN_ETA_MAX: Final = 1.2
"""Pseudorapidity is uniform in ``[-GUN_ETA_MAX, GUN_ETA_MAX]`` (the 32x32 crop must fit inside the barrel)."""

# --- Tracker and field ---------------------------------------------------------------------------------------
MATERIAL_X0_AT_ETA0: Final = 0.4
MATERIAL_X0_PER_ETA2: Final = 0.75
"""Material before the ECAL along the flight path: ``t(eta) = 0.4 + 0.75 eta^2`` radiation lengths."""
LAYER_RADII_M: Final = np.array(
    [0.04, 0.075, 0.11, 0.25, 0.325, 0.40, 0.475, 0.55, 0.60, 0.725, 0.85, 0.975, 1.10, 1.15]
)
"""Transverse radii of the 14 silicon layers (m): three pixel layers, five inner-strip layers spread over
25-55 cm, five outer-strip layers over 60-110 cm and one at 115 cm."""
LAYER_SHARES: Final = np.array([0.1 / 3] * 3 + [0.4 / 5] * 5 + [0.4 / 5] * 5 + [0.1])
"""Share of ``t(eta)`` in each layer: 10% in the pixels, 40% in each strip group, 10% in the last layer."""
CONVERSION_PER_X0: Final = 7.0 / 9.0
"""Photon conversion: probability ``1 - exp(-7/9 t)`` over ``t`` radiation lengths (high-energy limit)."""
B_FIELD_T: Final = 3.8
"""Solenoid field along the beam axis inside the ECAL radius; it bends charged tracks in phi only."""
CURVATURE_GEV_PER_T_M: Final = 0.3
"""Radius of curvature ``rho = pT / (0.3 B)`` in m for pT in GeV and B in T."""

# --- ECAL ------------------------------------------------------------------------------------------------------
ECAL_RADIUS_M: Final = 1.29
"""Transverse radius of the crystals' front face."""
CRYSTAL_SIZE_CM: Final = 2.2
"""Front face of a PbWO4 crystal, 2.2 x 2.2 cm (0.0174 x 0.0174 in eta-phi); positions on the ECAL face are
measured in crystals of this size."""
CRYSTAL_DETA: Final = 0.0174
"""Pseudorapidity width of one crystal: crystal ``k`` covers ``[k, k + 1) x 0.0174`` in eta."""
BARREL_EDGE_IETA: Final = 85
"""The barrel holds crystals ``k = -85 .. 84`` in i-eta (|eta| < 1.479); rows of a crop beyond them are 0."""
PB_WO4_X0_CM: Final = 0.89
"""Radiation length of PbWO4 (density 8.28 g/cm3)."""
PB_WO4_CRITICAL_GEV: Final = 0.009
"""Critical energy of PbWO4: a shower of energy E peaks at ``t_max = ln(E / E_c) + C`` X0."""
SPEED_OF_LIGHT_CM_PER_NS: Final = 29.98
CRYSTAL_LENGTH_CM: Final = 23.0
"""Depth of a crystal along the flight line (25.8 X0; about one pion interaction length)."""

# --- Charged pions -------------------------------------------------------------------------------------------
AVOGADRO_PER_MOL: Final = 6.02214e23
PION_MASS_GEV: Final = 0.13957
ELECTRON_MASS_GEV: Final = 0.000511

_PB_WO4_DENSITY_G_CM3 = 8.28
_PB_WO4_MOLAR_MASS_G = 207.2 + 183.84 + 4 * 15.999
_PB_WO4_ELECTRONS = 82 + 74 + 4 * 8
_PION_XS_BARN = {"Pb": 1.53, "W": 1.41, "O": 0.225}
"""Inelastic cross sections of a 50 GeV pi- on Pb, W and O (Barashenkov-Glauber-Gribov, as Geant4 uses)."""

PB_WO4_PION_LAMBDA_CM: Final = _PB_WO4_MOLAR_MASS_G / (
    AVOGADRO_PER_MOL
    * _PB_WO4_DENSITY_G_CM3
    * (_PION_XS_BARN["Pb"] + _PION_XS_BARN["W"] + 4 * _PION_XS_BARN["O"])
    * 1e-24
)
"""Pion interaction length in PbWO4, ``lambda = M / (N_A rho sum sigma)`` over the molecule's atoms: 23.8 cm, so
``exp(-23 / 23.8) = 0.38`` of the pions reaching the crystals cross them without an inelastic interaction."""

_SI_X0_CM = 9.37
_SI_DENSITY_G_CM3 = 2.329
_SI_MOLAR_MASS_G = 28.086
_SI_PION_XS_BARN = _PION_XS_BARN["O"] * (_SI_MOLAR_MASS_G / 15.999) ** 0.75
"""pi- on Si: the O cross section scaled by ``A^0.75``, the scaling that also carries O to W and Pb (0.34 b)."""
TRACKER_LAMBDA_PER_X0: Final = (
    _SI_X0_CM * AVOGADRO_PER_MOL * _SI_DENSITY_G_CM3 * _SI_PION_XS_BARN * 1e-24 / _SI_MOLAR_MASS_G
)
"""Pion interaction lengths per radiation length of the silicon tracker, ``X0_Si / lambda_Si`` (0.16): a pion
interacts in ``t`` X0 of tracker with probability ``1 - exp(-0.16 t)``, about 12% over |eta| < 1.2."""

PB_WO4_LANDAU_XI_GEV_PER_CM: Final = (
    0.5 * 0.307075e-3 * _PB_WO4_ELECTRONS / _PB_WO4_MOLAR_MASS_G * _PB_WO4_DENSITY_G_CM3
)
"""Landau width per cm of PbWO4 for a singly charged particle with beta = 1, ``xi / x = K/2 (Z/A) rho``
(K = 0.307075 MeV mol^-1 cm^2; PDG, Passage of particles through matter, eq. 34.12)."""
PB_WO4_MEAN_EXCITATION_GEV: Final = 600.7e-9
"""Mean excitation energy I of PbWO4 (PDG atomic and nuclear properties)."""
PB_WO4_PLASMA_ENERGY_GEV: Final = 28.816e-9 * float(
    np.sqrt(_PB_WO4_DENSITY_G_CM3 * _PB_WO4_ELECTRONS / _PB_WO4_MOLAR_MASS_G)
)
"""Plasma energy ``hbar omega_p = 28.816 eV sqrt(rho <Z/A>)`` of PbWO4; it sets the density effect at high
``beta gamma``: ``delta / 2 = ln(hbar omega_p / I) + ln(beta gamma) - 1/2``."""

# --- Electronics ---------------------------------------------------------------------------------------------
NOISE_GEV: Final = 0.040
"""Gaussian electronic noise on every crystal."""
THRESHOLD_GEV: Final = 0.120
"""Zero suppression: a crystal whose measured energy is below this is stored as exactly 0 (energy and time)."""
TIME_NOISE_TERM_NS: Final = 35.0
TIME_CONSTANT_NS: Final = 0.2
"""Time resolution ``sigma_t(E) = sqrt((35 ns x NOISE_GEV / E)^2 + (0.2 ns)^2)`` at measured energy E."""
TIME_CLIP_NS: Final = 125.0
"""Crystal times are clipped to ``[-125, 125]`` ns, the reconstruction window."""


@dataclass(frozen=True)
class ShowerParams:
    """Parameters of the electromagnetic shower model, calibrated against the Geant4 reference sample.

    The lateral energy density on the ECAL face is a sum of GFlash components (Grindhammer & Peters,
    hep-ex/0001020), each ``g_R(r) = R^2 / (pi (r^2 + R^2)^2)`` normalised to one:

    .. math::

        \frac{dE}{dA}(r) = E \\left[p\\, g_{R_c}(r) + (1 - p - h)\\, g_{R_t}(r) + h\\, g_{R_h}(r)\right],

    a narrow core, the tail and a wide halo, integrated exactly over each crystal. Every shower draws its own
    ``p``, ``R_c`` and ``R_t`` (shower-to-shower fluctuations) and every crystal's share fluctuates with the
    variance of ``E_ij / spot_energy`` equal-energy spots (``sigma^2 = spot_energy x E_ij``).

    Attributes
    ----------
    core_fraction : float
        ``p``, the core's share of the energy (the same at every energy: an energy-dependent share made the
        electrons' sigma_ietaieta disagree with Geant4).
    core_fraction_sigma : float
        Gaussian spread of ``p`` from shower to shower (clipped to [0.05, 0.99]).
    core_radius : float
        ``R_c`` of the core in crystals (2.2 cm).
    tail_radius : float
        ``R_t`` of the tail in crystals.
    halo_fraction : float
        Share of a third, wide GFlash component (the far halo of soft photons), taken from the tail's share.
    halo_radius : float
        Its radius in crystals (fixed from shower to shower).
    radius_sigma : float
        Log-normal spread of both radii from shower to shower (sigma of ``ln R``).
    spot_energy : float
        Energy (GeV) of one independent deposit: sets the crystal-by-crystal fluctuations.
    containment : float
        Mean fraction of a shower's energy deposited in the crystals (the rest leaks out the back and sides).
    containment_sigma : float
        Gaussian spread of that fraction from shower to shower.
    time_offset_ns : float
        Added to the time of every deposit: ``t = depth x X0 / c + time_offset_ns`` (ns), where the depth of a
        shower's energy centroid is ``ln(E / E_c) + C + 2`` X0 (``C`` = -0.5 for electrons, +0.5 for photons,
        ``E_c`` = 9 MeV): higher-energy and photon-initiated showers deposit deeper, hence later.
    tail_delay_ns : float
        Extra delay of the tail's and halo's deposits, which come late in the shower (ns).
    """

    core_fraction: float = 0.673
    core_fraction_sigma: float = 0.02
    core_radius: float = 0.108
    tail_radius: float = 0.754
    halo_fraction: float = 0.034
    halo_radius: float = 1.81
    radius_sigma: float = 0.05
    spot_energy: float = 0.001
    containment: float = 0.995
    containment_sigma: float = 0.005
    time_offset_ns: float = -0.045
    tail_delay_ns: float = 0.15


CALIBRATED: Final = ShowerParams()
"""The calibrated shower parameters the simulation uses by default."""


@dataclass(frozen=True)
class HadronParams:
    """Parameters of the charged-pion model, calibrated against the Geant4 pions (FTFP_BERT) of the reference.

    A pion that interacts at depth ``d`` (cm) in the crystals starts a shower of two parts. Its
    electromagnetic part (pi0 -> gamma gamma) takes a fraction ``f_em`` of the energy ``E``, drawn from a Beta
    distribution of mean ``em_scale (1 - (E / 1 GeV)^(k - 1))`` with ``k = em_exponent`` (Groom's power law for
    the pi0 share of hadron showers, Wigmans, Calorimetry, ch. 2) and concentration ``em_concentration``; it
    develops like a photon shower (GFlash gamma profile in X0) and is contained up to the crystals' back face.
    The hadronic rest deposits a fraction ``hadronic_visible`` of its energy (binding energy, neutrinos and
    escaping neutrons take the rest) along a gamma profile in interaction lengths of shape
    ``hadronic_shape`` and scale ``hadronic_scale`` (in ``lambda``), also cut at the back face. Laterally it is
    ``clump_count`` sub-showers (GFlash, radius ``clump_radius`` crystals) scattered around the axis with a
    Gaussian of ``clump_spread`` crystals, a smooth halo and isolated far fragments (one crystal each). Energies in
    GeV, lengths in crystals unless stated. Each number below is fixed by a Geant4 figure of the reference sample
    (named with it); ``benchmarks/validate_simulation.py`` prints the comparison and the two-sample AUC.

    Attributes
    ----------
    em_scale : float
        Scale of the mean pi0 fraction (the share of the first generations that the crystals see).
    em_exponent : float
        ``k`` of Groom's power law ``f_h = (E / E0)^(k - 1)``, ``E0`` = 1 GeV.
    em_concentration : float
        ``alpha + beta`` of the Beta distribution of ``f_em``: lower means wilder event-to-event fluctuations.
    em_photons : float
        Photons sharing the electromagnetic part: each showers with ``E_em / em_photons``, which sets the depth
        of the shower maximum ``ln(E / E_c) + 0.5`` X0 and so how much of it the crystals contain.
    hadronic_visible : float
        Visible share of the hadronic part's energy if fully contained (an e/h-like ratio): the Geant4 pions that
        interact in the crystals deposit 20.2 GeV on average.
    hadronic_shape : float
        Shape of the hadronic part's longitudinal gamma profile (depth from the interaction in ``lambda``).
    hadronic_scale : float
        Scale of that profile at 50 GeV, in interaction lengths.
    hadronic_scale_log : float
        Growth of the scale with energy, ``scale(E) = hadronic_scale (1 + hadronic_scale_log ln(E / 50 GeV))``
        (at least 0.2 of it): a few-GeV secondary stops within a few cm.
    clump_count : int
        Hadronic sub-showers per interaction (the irregular, several-maxima look).
    clump_spread : float
        Gaussian spread of the sub-showers around the axis (crystals, per direction). With ``clump_radius`` it sets
        the core: the Geant4 showers in the crystals have E_max / E_5x5 = 0.55 and S4 = 0.85 on average.
    clump_radius : float
        GFlash radius of a sub-shower (crystals); each draws its own with a log-normal spread of 0.3.
    halo_fraction : float
        Share of the hadronic part spread as a smooth halo around the sub-showers (GFlash, ``halo_radius``): fixed
        with the Geant4 pions that interact in the crystals, whose energy in the rings at 2 and 3 crystals from
        the seed is 7% and 1.4% of the sum, with 5.5 and 1.7 crystals lit.
    halo_radius : float
        GFlash radius of that halo (crystals).
    fragment_fraction : float
        Share of the hadronic part carried far from the axis by neutrons, nuclear gammas and soft hadrons and left
        in isolated crystals (``fragment_energy`` each, at a GFlash distance of radius ``fragment_radius``): in the
        Geant4 pions the rings 4-8 crystals out hold 0.17 GeV in about one crystal of 0.15 GeV per shower, lit
        crystals that a smooth halo would spread below threshold.
    fragment_energy : float
        Mean energy (GeV, exponential) of one such isolated deposit: the Geant4 median of the lit crystals outside
        the 5x5 is 0.14 GeV, just above the 0.12 GeV zero suppression.
    fragment_radius : float
        GFlash radius (crystals) of the fragments' distance from the axis.
    spot_energy : float
        Energy of an independent deposit of the hadronic part: crystal-by-crystal fluctuations
        ``sigma^2 = spot_energy x E_ij`` (GeV).
    late_fraction : float
        Share of a sub-shower's energy that arrives late (neutron capture, nuclear de-excitation).
    halo_late_fraction : float
        The same for the halo.
    fragment_late_fraction : float
        The same for the fragments, which the slow neutrons dominate. With ``late_fraction`` and
        ``halo_late_fraction`` it is fixed by the Geant4 crystal times relative to the core's (crystals over
        3 GeV): 1-3 GeV crystals +0.03 ns, 0.3-1 GeV +0.2 ns, under 0.3 GeV +0.5 ns (medians).
    late_time_ns : float
        Mean delay of the late energy (exponential; what comes after the 25 ns read-out window is lost), ns.
    time_offset_ns : float
        Added to the time of the shower deposits of an interacting hadron (ns), like ``ShowerParams.time_offset_ns``:
        the Geant4 core crystals (over 3 GeV) of showers starting in the crystals read 0.50 ns on average.
    multiplicity : float
        Mean number of secondaries besides the leading hadron in a nuclear interaction in the tracker
        (Poisson, at least one); a third of them are pi0 (two photons), the rest charged hadrons. Set with
        ``mean_pt`` by the Geant4 pions that interact in the tracker: 37 crystals lit, 8.6 GeV outside the 5x5.
    leading_min, leading_max : float
        The leading hadron's energy fraction is uniform in ``[leading_min, leading_max]``.
    leading_neutral : float
        Probability that the leading hadron is a pi0 (charge exchange; its photons then shower fully). In quark
        counting the leading meson keeps one valence quark of the pion and picks up a sea antiquark, neutral
        about half the time, shared with eta, rho0 and omega; fixed with the summed energy of the Geant4 pions
        that interact in the tracker (26.9 GeV on average).
    mean_pt : float
        Mean transverse momentum of a secondary relative to the pion's direction (GeV, Gamma(2) distributed).
    tracker_invisible : float
        Share of the energy of a tracker interaction that stays in the silicon (nuclear fragments, binding).
    """

    em_scale: float = 0.55
    em_exponent: float = 0.82
    em_concentration: float = 2.5
    em_photons: float = 4.0
    hadronic_visible: float = 0.70
    hadronic_shape: float = 1.3
    hadronic_scale: float = 0.8
    hadronic_scale_log: float = 0.4
    clump_count: int = 4
    clump_spread: float = 0.25
    clump_radius: float = 0.45
    halo_fraction: float = 0.22
    halo_radius: float = 2.6
    fragment_fraction: float = 0.05
    fragment_energy: float = 0.15
    fragment_radius: float = 2.5
    spot_energy: float = 0.02
    late_fraction: float = 0.01
    halo_late_fraction: float = 0.1
    fragment_late_fraction: float = 0.4
    late_time_ns: float = 6.0
    time_offset_ns: float = -0.085
    multiplicity: float = 14.0
    leading_min: float = 0.2
    leading_max: float = 0.7
    leading_neutral: float = 0.2
    mean_pt: float = 0.5
    tracker_invisible: float = 0.05


HADRON_CALIBRATED: Final = HadronParams()
"""The calibrated pion parameters the simulation uses by default."""
