"""Charged hadrons in the PbWO4 crystals: minimum-ionising tracks, hadronic showers and their late energy.

Every hadron reaching the ECAL flies a depth ``d ~ Exponential(lambda_pi)`` (:data:`PB_WO4_PION_LAMBDA_CM`)
before its first inelastic interaction. Up to ``min(d, 23 cm)`` it ionises: a Landau-distributed energy
(:func:`mip_energy`) along its straight track, which crosses into the next crystal only through its angle. If
``d < 23 cm`` it showers (:class:`~egid.simulation.constants.HadronParams`): an electromagnetic part (the pi0s,
a narrow, dense GFlash shower like a photon's) and a hadronic part (a few broad sub-showers scattered about the
axis, a smooth halo and isolated far fragments, with crystal-by-crystal fluctuations and a late share), each cut
by how much of its longitudinal profile lies before the crystals' back face. Photons and electrons that arrive
from interactions in the tracker shower like e/gamma. Everything lands on a deposit window as wide in i-phi as e/gamma's
(:mod:`egid.simulation.shower`) and as tall as the crop (:data:`WINDOW_ROWS`); a deposit beyond it is dropped
crystal by crystal.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import gammainc

from egid.detector.schema import FloatArray, IndexArray
from egid.simulation.constants import (
    CRYSTAL_LENGTH_CM,
    CRYSTAL_SIZE_CM,
    ELECTRON_MASS_GEV,
    PB_WO4_CRITICAL_GEV,
    PB_WO4_LANDAU_XI_GEV_PER_CM,
    PB_WO4_MEAN_EXCITATION_GEV,
    PB_WO4_PION_LAMBDA_CM,
    PB_WO4_PLASMA_ENERGY_GEV,
    PB_WO4_X0_CM,
    PION_MASS_GEV,
    SPEED_OF_LIGHT_CM_PER_NS,
    HadronParams,
    ShowerParams,
)
from egid.simulation.shower import WINDOW_COLS, WINDOW_HALF_COLS, Deposits, crystal_fractions, shower_depth_x0
from egid.simulation.tracker import EcalHits

__all__ = ("READOUT_WINDOW_NS", "WINDOW_ROWS", "hadron_deposits", "landau_mpv_gev", "mip_energy")

WINDOW_HALF_ROWS = 16
WINDOW_ROWS = 2 * WINDOW_HALF_ROWS + 1
"""Crystals along i-eta of a pion event's deposit window: the secondaries of an interaction in the tracker fan
out in eta too, across the whole crop (e/gamma's window of 13 rows would cut them)."""

READOUT_WINDOW_NS = 25.0
"""Energy arriving later than this after the time of flight is not read out (the Geant4 reference drops it)."""

#: Points along a minimum-ionising track at which its energy is laid down: enough to share it between the two
#: crystals a slanted track crosses in proportion to its path in each.
TRACK_POINTS = 8

LANDAU_MODE = -0.22278
"""Mode of the standard Landau density ``(1/pi) int_0^inf exp(-t ln t - lambda t) sin(pi t) dt``."""
LANDAU_LAMBDA_MAX = 40.0
"""Largest standard-Landau ``lambda`` kept (``xi lambda`` = 0.48 GeV over 23 cm); calibrated on the Geant4 MIPs."""

#: Longitudinal GFlash profile of an electromagnetic shower, ``dE/dt ~ t^(a-1) e^(-b t)`` (t in X0) with
#: ``a = 1 + b t_max`` (Grindhammer & Peters, hep-ex/0001020).
EM_PROFILE_B = 0.5

_BIG_SHOWER_GEV = 2.0
_HALF_WIDTH_SMALL = 2
_HALF_WIDTH_LARGE = 4


def landau_mpv_gev(path_cm: FloatArray, beta_gamma: FloatArray) -> FloatArray:
    """Most probable ionisation energy loss (GeV) of a singly charged particle over ``path_cm`` of PbWO4.

    Landau-Vavilov-Bichsel (PDG, Passage of particles through matter, eq. 34.12):
    ``Delta_p = xi [ln(2 m_e c^2 beta^2 gamma^2 / I) + ln(xi / I) + j - beta^2 - delta]`` with
    ``xi = K/2 (Z/A) rho x``, ``j = 0.200`` and the high-energy density effect
    ``delta = 2 (ln(hbar omega_p / I) + ln(beta gamma) - 1/2)``. For a 50-90 GeV pion over 23 cm: 0.28 GeV
    (the mean loss, about 0.35 GeV, lies higher: the Landau tail).
    """
    path = np.asarray(path_cm, dtype=np.float64)
    bg = np.asarray(beta_gamma, dtype=np.float64)
    beta2 = bg**2 / (1.0 + bg**2)
    xi = PB_WO4_LANDAU_XI_GEV_PER_CM * path
    delta = 2.0 * (np.log(PB_WO4_PLASMA_ENERGY_GEV / PB_WO4_MEAN_EXCITATION_GEV) + np.log(bg) - 0.5)
    with np.errstate(divide="ignore"):
        bracket = (
            np.log(2.0 * ELECTRON_MASS_GEV * bg**2 / PB_WO4_MEAN_EXCITATION_GEV)
            + np.log(xi / PB_WO4_MEAN_EXCITATION_GEV)
            + 0.200
            - beta2
            - np.maximum(delta, 0.0)
        )
    mpv: FloatArray = np.where(path > 0, xi * np.maximum(bracket, 0.0), 0.0)
    return mpv


def mip_energy(path_cm: FloatArray, beta_gamma: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Sample the ionisation energy (GeV) a charged hadron leaves over ``path_cm`` of PbWO4.

    Landau: ``Delta = Delta_p + xi (lambda - lambda_mode)`` with ``lambda`` standard-Landau distributed (mode
    ``lambda_mode`` = -0.2228), ``Delta_p`` from :func:`landau_mpv_gev` and ``xi = K/2 (Z/A) rho x``. ``lambda``
    is sampled as a stable law of index 1 and skewness 1 (Chambers, Mallows & Stuck, JASA 71 (1976) 340):
    ``lambda = (2/pi) [(pi/2 + W) tan W - ln((pi/2) E cos W / (pi/2 + W))]`` with ``W`` uniform in
    ``(-pi/2, pi/2)`` and ``E`` exponential. Its tail is cut at :data:`LANDAU_LAMBDA_MAX`: the rare hard
    delta rays behind it start small showers of their own that mostly leave the crystal.
    """
    path = np.asarray(path_cm, dtype=np.float64)
    w = rng.uniform(-0.5 * np.pi, 0.5 * np.pi, size=path.size)
    e = rng.exponential(size=path.size)
    half_pi_w = 0.5 * np.pi + w
    landau = 2.0 / np.pi * (half_pi_w * np.tan(w) - np.log(0.5 * np.pi * e * np.cos(w) / half_pi_w))
    spread = np.minimum(landau, LANDAU_LAMBDA_MAX) - LANDAU_MODE
    energy: FloatArray = np.maximum(landau_mpv_gev(path, beta_gamma) + PB_WO4_LANDAU_XI_GEV_PER_CM * path * spread, 0)
    return energy


class _Window:
    """Deposits on each event's window, collected as (crystal, energy, energy x time, variance) pieces.

    The pieces are summed per crystal once, in :meth:`deposits`: one ``bincount`` per quantity over the whole
    block instead of one per component keeps the cost close to that of the e/gamma showers.
    """

    def __init__(self, n_events: int) -> None:
        self.n_events = n_events
        self._flat: list[IndexArray] = []
        self._energy: list[FloatArray] = []
        self._energy_time: list[FloatArray] = []
        self._variance: list[FloatArray] = []

    def _add(
        self,
        event: IndexArray,
        rows: IndexArray,
        cols: IndexArray,
        energy: FloatArray,
        time: FloatArray,
        spot_energy: float,
    ) -> None:
        inside = ((rows >= 0) & (rows < WINDOW_ROWS) & (cols >= 0) & (cols < WINDOW_COLS)).ravel()
        flat = ((event * WINDOW_ROWS + rows) * WINDOW_COLS + cols).ravel()[inside]
        kept = np.ravel(energy)[inside]
        self._flat.append(flat)
        self._energy.append(kept)
        self._energy_time.append(kept * np.broadcast_to(time, np.shape(energy)).ravel()[inside])
        self._variance.append(spot_energy * kept)

    def add_points(
        self, event: IndexArray, energy: FloatArray, eta_pos: FloatArray, phi_pos: FloatArray, time: FloatArray
    ) -> None:
        """Put each energy (GeV) into the crystal that contains its point (crystals from the window centre)."""
        rows = WINDOW_HALF_ROWS + np.rint(eta_pos).astype(np.int64)
        cols = WINDOW_HALF_COLS + np.rint(phi_pos).astype(np.int64)
        self._add(event, rows, cols, energy, time, 0.0)

    def add_profiles(
        self,
        event: IndexArray,
        energy: FloatArray,
        eta_pos: FloatArray,
        phi_pos: FloatArray,
        radius: FloatArray,
        time: FloatArray,
        spot_energy: float,
    ) -> None:
        """Spread each energy (GeV) with a GFlash profile of ``radius`` (crystals) centred on its point."""
        for half_width, chosen in (
            (_HALF_WIDTH_SMALL, energy < _BIG_SHOWER_GEV),
            (_HALF_WIDTH_LARGE, energy >= _BIG_SHOWER_GEV),
        ):
            idx = np.flatnonzero(chosen & (energy > 0))
            row, col = np.rint(eta_pos[idx]), np.rint(phi_pos[idx])
            shares = crystal_fractions(eta_pos[idx] - row, phi_pos[idx] - col, radius[idx], half_width)
            offsets = np.arange(-half_width, half_width + 1)
            rows = (WINDOW_HALF_ROWS + row.astype(np.int64))[:, None, None] + offsets[None, :, None]
            cols = (WINDOW_HALF_COLS + col.astype(np.int64))[:, None, None] + offsets[None, None, :]
            self._add(
                np.broadcast_to(event[idx][:, None, None], shares.shape),
                np.broadcast_to(rows, shares.shape),
                np.broadcast_to(cols, shares.shape),
                energy[idx][:, None, None] * shares,
                time[idx][:, None, None],
                spot_energy,
            )

    def deposits(self, rng: np.random.Generator) -> Deposits:
        """Fluctuate every crystal (``sigma^2`` = the summed variance) and return energy and mean time."""
        size = self.n_events * WINDOW_ROWS * WINDOW_COLS
        flat = np.concatenate(self._flat) if self._flat else np.zeros(0, dtype=np.int64)

        def total(pieces: list[FloatArray]) -> FloatArray:
            weights = np.concatenate(pieces) if pieces else np.zeros(0)
            summed: FloatArray = np.bincount(flat, weights=weights, minlength=size).astype(np.float64, copy=False)
            return summed

        energy, energy_time, variance = total(self._energy), total(self._energy_time), total(self._variance)
        fluctuated = np.maximum(energy + np.sqrt(variance) * rng.standard_normal(size), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            time = np.where(energy > 0, energy_time / energy, 0.0)
        shape = (self.n_events, WINDOW_ROWS, WINDOW_COLS)
        return Deposits(
            energy=fluctuated.reshape(shape).astype(np.float32), time=time.reshape(shape).astype(np.float32)
        )


def _em_showers(
    window: _Window,
    event: IndexArray,
    energy: FloatArray,
    charge: FloatArray,
    eta_pos: FloatArray,
    phi_pos: FloatArray,
    slope: FloatArray,
    start_cm: FloatArray,
    *,
    params: ShowerParams,
    rng: np.random.Generator,
    depth_energy: FloatArray | None = None,
    time_offset_ns: float | None = None,
) -> None:
    """Electromagnetic showers starting ``start_cm`` deep: the e/gamma core, tail and halo of ``params``.

    The shower sits on its axis at the depth of its energy centroid (:func:`shower_depth_x0` of
    ``depth_energy``, by default the shower's energy, past the start) and its deposits arrive when that depth is
    reached plus ``time_offset_ns`` (default ``params.time_offset_ns``), the tail's and halo's
    ``params.tail_delay_ns`` later.
    """
    m = event.size
    depth_cm = start_cm + shower_depth_x0(energy if depth_energy is None else depth_energy, charge) * PB_WO4_X0_CM
    phi_axis = phi_pos + depth_cm / CRYSTAL_SIZE_CM * slope
    offset = params.time_offset_ns if time_offset_ns is None else time_offset_ns
    time = depth_cm / SPEED_OF_LIGHT_CM_PER_NS + offset
    contained = energy * np.clip(params.containment + params.containment_sigma * rng.standard_normal(m), 0.0, 1.0)
    core = np.clip(params.core_fraction + params.core_fraction_sigma * rng.standard_normal(m), 0.05, 0.99)
    core_radius = params.core_radius * np.exp(params.radius_sigma * rng.standard_normal(m))
    tail_radius = params.tail_radius * np.exp(params.radius_sigma * rng.standard_normal(m))
    late = time + params.tail_delay_ns
    window.add_profiles(event, contained * core, eta_pos, phi_axis, core_radius, time, params.spot_energy)
    tail = contained * (1.0 - core - params.halo_fraction)
    window.add_profiles(event, tail, eta_pos, phi_axis, tail_radius, late, params.spot_energy)
    halo_radius = np.full(m, params.halo_radius)
    window.add_profiles(
        event, contained * params.halo_fraction, eta_pos, phi_axis, halo_radius, late, params.spot_energy
    )


def _late_delay(size: int, fraction: float, params: HadronParams, rng: np.random.Generator) -> FloatArray:
    """Energy-weighted delay (ns) of a deposit whose share ``fraction`` arrives Exponential(late_time_ns) late.

    A late share beyond the read-out window counts as on time: it is a small correction to the energy, which is
    not moved, and the time keeps no trace of it, as in the read-out.
    """
    delay = rng.exponential(params.late_time_ns, size=size)
    weighted: FloatArray = fraction * np.where(delay < READOUT_WINDOW_NS, delay, 0.0)
    return weighted


def _hadronic_showers(
    window: _Window,
    event: IndexArray,
    energy: FloatArray,
    eta_pos: FloatArray,
    phi_pos: FloatArray,
    slope: FloatArray,
    depth_cm: FloatArray,
    *,
    params: HadronParams,
    shower_params: ShowerParams,
    rng: np.random.Generator,
) -> None:
    """Showers of hadrons of ``energy`` (GeV) that interact ``depth_cm`` deep in the crystals."""
    m = event.size
    remaining_cm = CRYSTAL_LENGTH_CM - depth_cm
    mean_em = np.clip(params.em_scale * (1.0 - energy ** (params.em_exponent - 1.0)), 0.02, 0.95)
    f_em = rng.beta(mean_em * params.em_concentration, (1.0 - mean_em) * params.em_concentration)

    em_energy = f_em * energy
    photon_energy = np.maximum(em_energy / params.em_photons, 1e-6)
    t_max = np.maximum(np.log(photon_energy / PB_WO4_CRITICAL_GEV) + 0.5, 0.0)
    em_contained = gammainc(1.0 + EM_PROFILE_B * t_max, EM_PROFILE_B * remaining_cm / PB_WO4_X0_CM)
    _em_showers(
        window,
        event,
        em_energy * em_contained,
        np.zeros(m),
        eta_pos,
        phi_pos,
        slope,
        depth_cm,
        params=shower_params,
        rng=rng,
        depth_energy=photon_energy,
        time_offset_ns=params.time_offset_ns,
    )

    growth = np.maximum(1.0 + params.hadronic_scale_log * np.log(energy / 50.0), 0.2)
    had_scale_cm = params.hadronic_scale * growth * PB_WO4_PION_LAMBDA_CM
    had_contained = gammainc(params.hadronic_shape, remaining_cm / had_scale_cm)
    had_energy = (1.0 - f_em) * energy * params.hadronic_visible * had_contained
    # The deposits' centroid: the profile's mean depth, or the middle of what is left of the crystal.
    had_depth = depth_cm + np.minimum(params.hadronic_shape * had_scale_cm, remaining_cm) / 2.0
    phi_axis = phi_pos + had_depth / CRYSTAL_SIZE_CM * slope
    base_time = had_depth / SPEED_OF_LIGHT_CM_PER_NS + params.time_offset_ns

    k = params.clump_count
    shares = rng.exponential(size=(m, k))
    shares *= (1.0 - params.halo_fraction - params.fragment_fraction) / shares.sum(axis=1, keepdims=True)
    clump_event = np.repeat(event, k)
    spread = params.clump_spread * rng.standard_normal((2, m * k))
    window.add_profiles(
        clump_event,
        (had_energy[:, None] * shares).ravel(),
        np.repeat(eta_pos, k) + spread[0],
        np.repeat(phi_axis, k) + spread[1],
        params.clump_radius * np.exp(0.3 * rng.standard_normal(m * k)),
        np.repeat(base_time, k) + _late_delay(m * k, params.late_fraction, params, rng),
        params.spot_energy,
    )
    window.add_profiles(
        event,
        had_energy * params.halo_fraction,
        eta_pos,
        phi_axis,
        np.full(m, params.halo_radius),
        base_time + _late_delay(m, params.halo_late_fraction, params, rng),
        params.spot_energy,
    )
    _fragments(window, event, had_energy, eta_pos, phi_axis, base_time, params=params, rng=rng)


def _fragments(
    window: _Window,
    event: IndexArray,
    had_energy: FloatArray,
    eta_pos: FloatArray,
    phi_axis: FloatArray,
    base_time: FloatArray,
    *,
    params: HadronParams,
    rng: np.random.Generator,
) -> None:
    """The far, sparse part of hadronic showers: isolated deposits, each in one crystal.

    Neutrons, nuclear gammas and soft hadrons carry a share ``fragment_fraction`` of the visible hadronic energy
    (GeV) far from the axis and leave it in isolated crystals, not as a smooth halo (which would light rings of
    crystals just above threshold). ``Poisson(fragment_fraction E_had / fragment_energy)`` fragments per shower,
    each of energy ``Exponential(fragment_energy)`` at a distance drawn from the GFlash radial law of radius
    ``fragment_radius`` (``P(< r) = r^2 / (r^2 + R^2)``, so ``r = R sqrt(u / (1 - u))``) in a uniform azimuth,
    arriving ``fragment_late_fraction`` of an Exponential(``late_time_ns``) delay late.
    """
    counts = rng.poisson(params.fragment_fraction * had_energy / params.fragment_energy)
    source = np.repeat(np.arange(event.size), counts)
    u = rng.random(source.size)
    radius = params.fragment_radius * np.sqrt(u / (1.0 - u))
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=source.size)
    window.add_points(
        event[source],
        rng.exponential(params.fragment_energy, size=source.size),
        eta_pos[source] + radius * np.cos(azimuth),
        phi_axis[source] + radius * np.sin(azimuth),
        base_time[source] + _late_delay(source.size, params.fragment_late_fraction, params, rng),
    )


def hadron_deposits(
    hadrons: EcalHits,
    primary: npt.NDArray[np.bool_],
    electromagnetic: EcalHits,
    n_events: int,
    *,
    eta_in_crystal: FloatArray,
    phi_in_crystal: FloatArray,
    params: HadronParams,
    shower_params: ShowerParams,
    rng: np.random.Generator,
) -> tuple[Deposits, FloatArray]:
    """Deposit the hadrons and electromagnetic particles of a block of pion events on their windows.

    Parameters
    ----------
    hadrons : EcalHits
        Charged hadrons at the ECAL face (the pions and the secondaries of tracker interactions).
    primary : ndarray of shape (len(hadrons.event),), bool
        Which hadron is its event's pion.
    electromagnetic : EcalHits
        Photons and electrons at the ECAL face.
    n_events : int
        Events in the block.
    eta_in_crystal, phi_in_crystal : ndarray of shape (n_events,)
        Position of the pion's straight-line impact inside the centre crystal, in crystals.
    params : HadronParams
        The hadron model.
    shower_params : ShowerParams
        The electromagnetic shower model (e/gamma's), for photons, electrons and the pi0 parts.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    deposits : Deposits
        True energy (GeV) and time (ns) of every window crystal.
    depth : ndarray of shape (n_events,), float64
        Depth (cm) of the first inelastic interaction of each event's pion in the crystals; NaN where it crossed
        them without one or never reached them.
    """
    window = _Window(n_events)
    em = electromagnetic
    _em_showers(
        window,
        em.event,
        em.energy,
        em.charge,
        eta_in_crystal[em.event] + em.eta_offset,
        phi_in_crystal[em.event] + em.phi_offset,
        em.phi_slope,
        np.zeros(em.event.size),
        params=shower_params,
        rng=rng,
    )

    m = hadrons.event.size
    eta_pos = eta_in_crystal[hadrons.event] + hadrons.eta_offset
    phi_pos = phi_in_crystal[hadrons.event] + hadrons.phi_offset
    interaction = rng.exponential(PB_WO4_PION_LAMBDA_CM, size=m)
    track_cm = np.minimum(interaction, CRYSTAL_LENGTH_CM)
    beta_gamma = np.sqrt(np.maximum(hadrons.energy**2 - PION_MASS_GEV**2, 1e-12)) / PION_MASS_GEV
    ionisation = mip_energy(track_cm, beta_gamma, rng)
    along = (np.arange(TRACK_POINTS) + 0.5) / TRACK_POINTS * track_cm[:, None]  # (m, TRACK_POINTS) cm
    window.add_points(
        np.repeat(hadrons.event, TRACK_POINTS),
        np.repeat(ionisation / TRACK_POINTS, TRACK_POINTS),
        np.repeat(eta_pos, TRACK_POINTS),
        (phi_pos[:, None] + along / CRYSTAL_SIZE_CM * hadrons.phi_slope[:, None]).ravel(),
        (along / SPEED_OF_LIGHT_CM_PER_NS).ravel(),
    )

    showers = np.flatnonzero(interaction < CRYSTAL_LENGTH_CM)
    _hadronic_showers(
        window,
        hadrons.event[showers],
        hadrons.energy[showers],
        eta_pos[showers],
        phi_pos[showers],
        hadrons.phi_slope[showers],
        interaction[showers],
        params=params,
        shower_params=shower_params,
        rng=rng,
    )
    depth = np.full(n_events, np.nan)
    first = primary & (interaction < CRYSTAL_LENGTH_CM)
    depth[hadrons.event[first]] = interaction[first]
    return window.deposits(rng), depth
