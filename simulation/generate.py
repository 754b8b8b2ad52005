"""Simulate blocks of events end to end and write the per-class files in the real schema.

gun -> tracker (brem, conversions, bending; for pions nuclear interactions) -> showers on the crystal grid
(electromagnetic, or minimum-ionising tracks and hadronic showers) -> noise, crop, zero suppression, timing.
Events are simulated in chunks of :data:`CHUNK_EVENTS`; chunk ``k`` of class ``c`` draws from its own stream
``SeedSequence(seed, spawn_key=(c, k))`` (``c`` = 0 electrons, 1 photons, 2 pions), so a seed always reproduces
the same events, the classes never share random numbers, and adding pions changes no electron or photon. The
sample that pretrains the CNN head draws from ``SeedSequence(seed, spawn_key=(PRETRAINING_STREAM, c, k))``
instead, streams no ``egid simulate`` sample (whatever its seed) and no default sample ever uses: a network
pretrained on it has seen none of the events of any other simulated sample.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from egid.detector import EventWriter, InputError
from egid.detector.schema import ELECTRON, PHOTON, PION, FloatArray, Images
from egid.simulation.constants import CALIBRATED, CRYSTAL_DETA, HADRON_CALIBRATED, HadronParams, ShowerParams
from egid.simulation.electronics import read_out
from egid.simulation.gun import Particle, fire
from egid.simulation.hadron_shower import hadron_deposits
from egid.simulation.nuclear import transport_pions
from egid.simulation.shower import shower_deposits
from egid.simulation.tracker import transport

__all__ = (
    "CHUNK_EVENTS",
    "LABELS",
    "PARTICLES",
    "PION",
    "PION_SIMULATION_VERSION",
    "PRETRAINING_STREAM",
    "SIMULATION_VERSION",
    "check_particles",
    "iter_chunks",
    "simulate_events",
    "write_sample",
)

logger = logging.getLogger(__name__)

SIMULATION_VERSION = "2"
"""Bumped whenever the simulated electrons or photons change (physics, calibration, random streams): it keys their
cache entries. The pions have their own version, so recalibrating them never invalidates e/gamma samples."""
PION_SIMULATION_VERSION = "2"
"""Bumped whenever the simulated pions change: it keys their cache entries."""

PARTICLES: tuple[Particle, ...] = ("electron", "photon", "pion")
"""The particles egid simulates, one file each (``<particle>.hdf5``)."""
LABELS: dict[Particle, float] = {"electron": ELECTRON, "photon": PHOTON, "pion": PION}
"""The label ``y`` written for each particle."""

CHUNK_EVENTS = 4096
"""Events simulated together: large enough to amortise numpy's overhead, small enough for ~100 MB of memory."""

_CLASS_STREAM: dict[Particle, int] = {"electron": 0, "photon": 1, "pion": 2}
_EXTRAS: dict[Particle, dict[str, type[np.generic]]] = {
    "electron": {"eta": np.float32},
    "photon": {"eta": np.float32, "converted": np.uint8},
    "pion": {"eta": np.float32, "charge": np.int8, "int_depth": np.float32},
}

PRETRAINING_STREAM = 0x45474944
"""First spawn-key word of the pretraining sample's streams ("EGID" in ASCII); samples have no such word."""


def _simulate_chunk(
    n: int, *, particle: Particle, params: ShowerParams, rng: np.random.Generator
) -> tuple[Images, dict[str, FloatArray]]:
    gun = fire(n, particle=particle, rng=rng)
    hits, converted = transport(gun.eta, gun.energy, gun.charge, rng=rng)
    eta_cells = gun.eta / CRYSTAL_DETA
    impact_ieta = np.floor(eta_cells).astype(np.int64)
    eta_in_crystal = eta_cells - impact_ieta - 0.5
    deposits = shower_deposits(
        hits, n, eta_in_crystal=eta_in_crystal, phi_in_crystal=gun.phi_in_crystal, params=params, rng=rng
    )
    images = read_out(deposits, impact_ieta, rng=rng)
    extras: dict[str, FloatArray] = {"eta": gun.eta.astype(np.float32)}
    if particle == "photon":
        extras["converted"] = converted.astype(np.uint8)
    return images, extras


def _simulate_pion_chunk(
    n: int, *, params: ShowerParams, hadron_params: HadronParams, rng: np.random.Generator
) -> tuple[Images, dict[str, FloatArray]]:
    gun = fire(n, particle="pion", rng=rng)
    arrivals = transport_pions(gun.eta, gun.energy, gun.charge, params=hadron_params, rng=rng)
    eta_cells = gun.eta / CRYSTAL_DETA
    impact_ieta = np.floor(eta_cells).astype(np.int64)
    deposits, ecal_depth = hadron_deposits(
        arrivals.hadrons,
        arrivals.primary,
        arrivals.electromagnetic,
        n,
        eta_in_crystal=eta_cells - impact_ieta - 0.5,
        phi_in_crystal=gun.phi_in_crystal,
        params=hadron_params,
        shower_params=params,
        rng=rng,
    )
    images = read_out(deposits, impact_ieta, rng=rng)
    int_depth = np.where(np.isnan(arrivals.tracker_depth), ecal_depth, arrivals.tracker_depth)
    extras: dict[str, FloatArray] = {
        "eta": gun.eta.astype(np.float32),
        "charge": gun.charge.astype(np.int8),
        "int_depth": int_depth.astype(np.float32),
    }
    return images, extras


def check_particles(particles: Sequence[str]) -> tuple[Particle, ...]:
    """Return ``particles`` as a tuple of known particle names, or raise :class:`InputError` in one line.

    At least one is needed, each at most once, each one of :data:`PARTICLES`.
    """
    names = tuple(particles)
    unknown = [name for name in names if name not in PARTICLES]
    if unknown or not names or len(set(names)) != len(names):
        problem = f"unknown {unknown[0]!r}" if unknown else "none given" if not names else "a name repeats"
        msg = f"particles {list(names)}: {problem}; choose one or more of {', '.join(PARTICLES)}, each once"
        raise InputError(msg)
    return tuple(PARTICLES[PARTICLES.index(name)] for name in names)


def iter_chunks(
    n: int,
    *,
    particle: Particle,
    seed: int,
    params: ShowerParams = CALIBRATED,
    chunk_size: int = CHUNK_EVENTS,
    pretraining: bool = False,
    hadron_params: HadronParams = HADRON_CALIBRATED,
) -> Iterator[tuple[Images, dict[str, FloatArray]]]:
    """Yield ``(images, extras)`` blocks of at most ``chunk_size`` events until ``n`` events are made.

    ``images`` are (k, 32, 32, 2) float32 in file units; ``extras`` holds ``eta`` (float32), for photons
    ``converted`` (uint8, 1 if the photon converted in the tracker), and for pions ``charge`` (int8, -1 or +1)
    and ``int_depth`` (float32, cm: depth of the first inelastic interaction behind the ECAL front face along the
    flight line, negative in the tracker, NaN without one). ``pretraining`` draws from the reserved pretraining
    streams (:data:`PRETRAINING_STREAM`) instead of the sample streams of ``seed``. ``hadron_params`` shapes the
    pions only.
    """
    if n < 1:
        msg = f"n must be at least 1, got {n}"
        raise ValueError(msg)
    if particle not in _CLASS_STREAM:
        msg = f"particle must be one of {sorted(_CLASS_STREAM)}, got {particle!r}"
        raise ValueError(msg)
    for index, start in enumerate(range(0, n, chunk_size)):
        prefix = (PRETRAINING_STREAM,) if pretraining else ()
        sequence = np.random.SeedSequence(seed, spawn_key=(*prefix, _CLASS_STREAM[particle], index))
        rng = np.random.default_rng(sequence)
        size = min(chunk_size, n - start)
        if particle == "pion":
            yield _simulate_pion_chunk(size, params=params, hadron_params=hadron_params, rng=rng)
        else:
            yield _simulate_chunk(size, particle=particle, params=params, rng=rng)


def simulate_events(
    n: int,
    *,
    particle: Particle,
    seed: int,
    params: ShowerParams = CALIBRATED,
    chunk_size: int = CHUNK_EVENTS,
    hadron_params: HadronParams = HADRON_CALIBRATED,
) -> tuple[Images, dict[str, FloatArray]]:
    """Simulate ``n`` events of one class in memory.

    Parameters
    ----------
    n : int
        Number of events.
    particle : {"electron", "photon", "pion"}
        The primary (pions: pi- and pi+ in turn).
    seed : int
        Seed; the same ``(n, particle, seed, params, chunk_size, hadron_params)`` always gives the same events.
    params : ShowerParams
        Electromagnetic shower model (default: the calibrated one); pions use it for their pi0 showers.
    chunk_size : int
        Events simulated at once.
    hadron_params : HadronParams
        Pion model (default: the calibrated one); ignored for electrons and photons.

    Returns
    -------
    images : ndarray of shape (n, 32, 32, 2), float32
        Crops in file units (energy GeV / 50, time ns / 50), hottest crystal at (16, 16).
    extras : dict of str to ndarray of shape (n,)
        ``eta`` (float32); for photons ``converted`` (uint8); for pions ``charge`` (int8) and ``int_depth``
        (float32, cm, see :func:`iter_chunks`).
    """
    blocks = list(
        iter_chunks(n, particle=particle, seed=seed, params=params, chunk_size=chunk_size, hadron_params=hadron_params)
    )
    images = np.concatenate([b[0] for b in blocks])
    extras = {key: np.concatenate([b[1][key] for b in blocks]) for key in blocks[0][1]}
    return images, extras


def write_sample(
    out_dir: str | os.PathLike[str],
    n: int,
    *,
    seed: int,
    params: ShowerParams = CALIBRATED,
    particles: Sequence[str] = ("electron", "photon"),
    hadron_params: HadronParams = HADRON_CALIBRATED,
) -> tuple[Path, ...]:
    """Simulate ``n`` events of each of ``particles`` into ``out_dir/<particle>.hdf5``.

    The files follow the real schema (``X`` (n, 32, 32, 2) and ``y`` float32, lzf, chunked; ``y`` = 1.0
    electrons, 0.0 photons, 2.0 pions) plus the per-event extras of :func:`iter_chunks` (``eta``; photons
    ``converted``; pions ``charge`` and ``int_depth``). Each file appears only once complete. Each particle draws
    from its own random streams, so a file does not depend on which other particles are written with it.

    Parameters
    ----------
    out_dir : path-like
        Directory to write into (created if missing).
    n : int
        Events per particle.
    seed : int
        Simulation seed.
    params : ShowerParams
        Electromagnetic shower model.
    particles : sequence of {"electron", "photon", "pion"}
        Which files to write, in this order (default: electrons and photons).
    hadron_params : HadronParams
        Pion model.

    Returns
    -------
    tuple of Path
        The written files, in the order of ``particles``.

    Raises
    ------
    InputError
        ``particles`` is empty, repeats a name or names an unknown particle.
    """
    chosen = check_particles(particles)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for particle in chosen:
        path = out / f"{particle}.hdf5"
        logger.info("simulating %d %ss into %s", n, particle, path)
        with (
            EventWriter(path, extras=_EXTRAS[particle]) as writer,
            tqdm(total=n, desc=f"simulate {particle}s", unit="event", disable=None) as bar,
        ):
            for images, block_extras in iter_chunks(
                n, particle=particle, seed=seed, params=params, hadron_params=hadron_params
            ):
                writer.append(images, np.full(len(images), LABELS[particle], dtype=np.float32), **block_extras)
                bar.update(len(images))
        paths.append(path)
    return tuple(paths)
