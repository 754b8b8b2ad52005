"""Electromagnetic showers in the PbWO4 crystals: the lateral profile integrated over the crystal grid.

Each particle reaching the ECAL starts a shower at its impact point. Its energy spreads on the face with the
GFlash components (core, tail, halo) of :class:`~egid.simulation.constants.ShowerParams`; the share of one component
(radius ``R``) inside the rectangle ``[x1, x2] x [y1, y2]`` (crystals, from the shower axis) is exactly
``G(x2, y2) - G(x1, y2) - G(x2, y1) + G(x1, y1)`` with

.. math::

    G(a, b) = \\frac{1}{2\\pi}\\left[\\frac{a}{\\sqrt{a^2 + R^2}}\\arctan\\frac{b}{\\sqrt{a^2 + R^2}}
              + \\frac{b}{\\sqrt{b^2 + R^2}}\\arctan\\frac{a}{\\sqrt{b^2 + R^2}}\\right],

the integral of ``R^2 / (pi (x^2 + y^2 + R^2)^2)`` over ``[0, a] x [0, b]``. The showers of one event add up on
a deposit window of :data:`WINDOW_ROWS` x :data:`WINDOW_COLS` crystals centred on the crystal the primary
points at; each crystal then fluctuates like a sum of independent spots. A shower's deposits arrive when its
depth (:func:`shower_depth_x0`) is reached, the tail's and halo's a little later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from egid.detector.schema import FloatArray
from egid.simulation.constants import (
    CRYSTAL_SIZE_CM,
    PB_WO4_CRITICAL_GEV,
    PB_WO4_X0_CM,
    SPEED_OF_LIGHT_CM_PER_NS,
    ShowerParams,
)
from egid.simulation.tracker import EcalHits

__all__ = (
    "WINDOW_CENTRE",
    "WINDOW_COLS",
    "WINDOW_ROWS",
    "Deposits",
    "crystal_fractions",
    "shower_deposits",
    "shower_depth_x0",
)

WINDOW_HALF_ROWS = 6
WINDOW_HALF_COLS = 28
WINDOW_ROWS = 2 * WINDOW_HALF_ROWS + 1
"""Crystals along i-eta of the deposit window: nothing bends in eta, so showers sit on the centre row or, after
multiple scattering of soft tracks, up to two rows off it (further ones are dropped)."""
WINDOW_COLS = 2 * WINDOW_HALF_COLS + 1
"""Crystals along i-phi of the deposit window: wide enough for the softest conversion legs that reach the ECAL
and still matter. Deposits beyond it are dropped."""
WINDOW_CENTRE = (WINDOW_HALF_ROWS, WINDOW_HALF_COLS)
"""Window index of the crystal the primary's straight line points at."""

#: Half-width (crystals) of the square over which a shower is integrated, by shower energy: below
#: SMALL_SHOWER_GEV the neglected tail beyond 2 crystals holds under 10 MeV.
SMALL_SHOWER_GEV = 2.0
_HALF_WIDTH_SMALL = 2
_HALF_WIDTH_LARGE = 4


@dataclass(frozen=True)
class Deposits:
    """True energy and time of every crystal of the deposit window, per event.

    Attributes
    ----------
    energy : ndarray of shape (n, WINDOW_ROWS, WINDOW_COLS), float32
        Deposited energy (GeV).
    time : ndarray of shape (n, WINDOW_ROWS, WINDOW_COLS), float32
        Energy-weighted deposit time after the straight-line time of flight (ns); 0 where nothing deposited.
    """

    energy: FloatArray
    time: FloatArray


def shower_depth_x0(energy: FloatArray, charge: FloatArray) -> FloatArray:
    """Depth of a shower's energy centroid in the crystal (X0).

    ``t_max + 2 = ln(E / E_c) + C + 2`` with ``C = -0.5`` for electrons and ``+0.5`` for photons (PDG, Passage of
    particles through matter, eq. 34.36) and ``+2`` from the centroid lying ``1/b`` (b about 0.5) beyond the
    maximum; clipped at 1 X0 for the softest showers. A track entering at an angle moves its shower sideways
    by this depth times the angle's tangent, and deposits that deep arrive ``depth / c`` late.
    """
    c = np.where(np.asarray(charge) == 0, 0.5, -0.5)
    depth: FloatArray = np.maximum(np.log(np.asarray(energy) / PB_WO4_CRITICAL_GEV) + c + 2.0, 1.0)
    return depth


def _quadrant_integral(a: FloatArray, b: FloatArray, radius: FloatArray) -> FloatArray:
    """``G(a, b)``: the GFlash density of ``radius`` integrated over ``[0, a] x [0, b]`` (odd in a and in b)."""
    sa = np.sqrt(a * a + radius * radius)
    sb = np.sqrt(b * b + radius * radius)
    return (a / sa * np.arctan(b / sa) + b / sb * np.arctan(a / sb)) * np.float32(0.5 / np.pi)


def crystal_fractions(eta_pos: FloatArray, phi_pos: FloatArray, radius: FloatArray, half_width: int) -> FloatArray:
    """Share of a GFlash component in each crystal of a square window around the crystal hit.

    Parameters
    ----------
    eta_pos, phi_pos : ndarray of shape (m,)
        Shower axis relative to the centre of the crystal it hits, in crystals (within [-0.5, 0.5]).
    radius : ndarray of shape (m,)
        GFlash radius ``R`` in crystals.
    half_width : int
        The window spans ``2 half_width + 1`` crystals each way.

    Returns
    -------
    ndarray of shape (m, 2 half_width + 1, 2 half_width + 1), float32
        Fractions of the component's energy, [i-eta, i-phi]; they sum to slightly under 1 (the tail outside).
    """
    edges = np.arange(-half_width - 0.5, half_width + 1.0, dtype=np.float32)
    a = (edges[None, :] - np.asarray(eta_pos, np.float32)[:, None])[:, :, None]
    b = (edges[None, :] - np.asarray(phi_pos, np.float32)[:, None])[:, None, :]
    g = _quadrant_integral(a, b, np.asarray(radius, np.float32)[:, None, None])
    return g[:, 1:, 1:] - g[:, :-1, 1:] - g[:, 1:, :-1] + g[:, :-1, :-1]


def shower_deposits(
    hits: EcalHits,
    n_events: int,
    *,
    eta_in_crystal: FloatArray,
    phi_in_crystal: FloatArray,
    params: ShowerParams,
    rng: np.random.Generator,
) -> Deposits:
    """Deposit the showers of every hit on its event's window.

    Parameters
    ----------
    hits : EcalHits
        Particles at the ECAL face (from :func:`egid.simulation.tracker.transport`).
    n_events : int
        Events in the block.
    eta_in_crystal, phi_in_crystal : ndarray of shape (n_events,)
        Position of the primary's straight-line impact inside the centre crystal, in crystals.
    params : ShowerParams
        Shower model.
    rng : numpy.random.Generator
        Source of randomness.
    """
    m = hits.event.size
    depth_x0 = shower_depth_x0(hits.energy, hits.charge)
    eta_pos = eta_in_crystal[hits.event] + hits.eta_offset
    phi_pos = phi_in_crystal[hits.event] + hits.phi_offset + depth_x0 * PB_WO4_X0_CM / CRYSTAL_SIZE_CM * hits.phi_slope
    start_time = depth_x0 * PB_WO4_X0_CM / SPEED_OF_LIGHT_CM_PER_NS + params.time_offset_ns
    centre_row, centre_col = np.rint(eta_pos), np.rint(phi_pos)
    inside = (np.abs(centre_row) <= WINDOW_HALF_ROWS - _HALF_WIDTH_LARGE) & (
        np.abs(centre_col) <= WINDOW_HALF_COLS - _HALF_WIDTH_LARGE
    )

    containment = params.containment + params.containment_sigma * rng.standard_normal(m)
    energy = hits.energy * np.clip(containment, 0.0, 1.0)
    core = np.clip(params.core_fraction + params.core_fraction_sigma * rng.standard_normal(m), 0.05, 0.99)
    radii = {
        "core": params.core_radius * np.exp(params.radius_sigma * rng.standard_normal(m)),
        "tail": params.tail_radius * np.exp(params.radius_sigma * rng.standard_normal(m)),
    }
    if params.halo_fraction > 0:
        radii["halo"] = np.full(m, params.halo_radius)

    size = n_events * WINDOW_ROWS * WINDOW_COLS
    energy_sum = np.zeros(size)
    time_sum = np.zeros(size)
    small = hits.energy < SMALL_SHOWER_GEV
    for half_width, chosen in ((_HALF_WIDTH_SMALL, small & inside), (_HALF_WIDTH_LARGE, ~small & inside)):
        idx = np.flatnonzero(chosen)
        d_eta = eta_pos[idx] - centre_row[idx]
        d_phi = phi_pos[idx] - centre_col[idx]
        shares = {name: crystal_fractions(d_eta, d_phi, radius[idx], half_width) for name, radius in radii.items()}
        e_core = (energy[idx] * core[idx])[:, None, None] * shares["core"]
        e_wide = (energy[idx] * (1.0 - core[idx] - params.halo_fraction))[:, None, None] * shares["tail"]
        if params.halo_fraction > 0:
            e_wide += (energy[idx] * params.halo_fraction)[:, None, None] * shares["halo"]
        offsets = np.arange(-half_width, half_width + 1)
        rows = (WINDOW_HALF_ROWS + centre_row[idx].astype(np.int64))[:, None, None] + offsets[None, :, None]
        cols = (WINDOW_HALF_COLS + centre_col[idx].astype(np.int64))[:, None, None] + offsets[None, None, :]
        flat = ((hits.event[idx][:, None, None] * WINDOW_ROWS + rows) * WINDOW_COLS + cols).ravel()
        energy_sum += np.bincount(flat, weights=(e_core + e_wide).ravel(), minlength=size)
        start = start_time[idx][:, None, None]
        weighted_time = (e_core + e_wide) * start + e_wide * params.tail_delay_ns
        time_sum += np.bincount(flat, weights=weighted_time.ravel(), minlength=size)

    spread = np.sqrt(params.spot_energy * energy_sum) * rng.standard_normal(size)
    fluctuated = np.maximum(energy_sum + spread, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        time = np.where(energy_sum > 0, time_sum / energy_sum, 0.0)
    shape = (n_events, WINDOW_ROWS, WINDOW_COLS)
    return Deposits(energy=fluctuated.reshape(shape).astype(np.float32), time=time.reshape(shape).astype(np.float32))
