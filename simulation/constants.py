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
    "CRYSTAL_SIZE_CM",
    "CURVATURE_GEV_PER_T_M",
    "ECAL_RADIUS_M",
    "GUN_ETA_MAX",
    "GUN_PT_GEV",
    "LAYER_RADII_M",
    "LAYER_SHARES",
    "MATERIAL_X0_AT_ETA0",
    "MATERIAL_X0_PER_ETA2",
    "NOISE_GEV",
    "PB_WO4_CRITICAL_GEV",
    "PB_WO4_X0_CM",
    "SPEED_OF_LIGHT_CM_PER_NS",
    "THRESHOLD_GEV",
    "TIME_CLIP_NS",
    "TIME_CONSTANT_NS",
    "TIME_NOISE_TERM_NS",
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
