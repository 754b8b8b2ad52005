"""Simulate blocks of events end to end and write the two per-class files in the real schema.

gun -> tracker (brem, conversions, bending) -> showers on the crystal grid -> noise, crop, zero suppression,
timing. Events are simulated in chunks of :data:`CHUNK_EVENTS`; chunk ``k`` of class ``c`` draws from its own
stream ``SeedSequence(seed, spawn_key=(c, k))``, so a seed always reproduces the same events and the two classes
never share random numbers. The sample that pretrains the CNN head draws from ``SeedSequence(seed,
spawn_key=(PRETRAINING_STREAM, c, k))`` instead, streams no ``egid simulate`` sample (whatever its seed) and no
default sample ever uses: a network pretrained on it has seen none of the events of any other simulated sample.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from egid.detector import EventWriter
from egid.detector.schema import ELECTRON, PHOTON, FloatArray, Images
from egid.simulation.constants import CALIBRATED, CRYSTAL_DETA, ShowerParams
from egid.simulation.electronics import read_out
from egid.simulation.gun import Particle, fire
from egid.simulation.shower import shower_deposits
from egid.simulation.tracker import transport

__all__ = ("CHUNK_EVENTS", "PRETRAINING_STREAM", "SIMULATION_VERSION", "iter_chunks", "simulate_events", "write_sample")

logger = logging.getLogger(__name__)

SIMULATION_VERSION = "2"
"""Bumped whenever the simulated events change (physics, calibration, random streams): it keys the cache."""

CHUNK_EVENTS = 4096
"""Events simulated together: large enough to amortise numpy's overhead, small enough for ~100 MB of memory."""

_CLASS_STREAM = {"electron": 0, "photon": 1}

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


def iter_chunks(
    n: int,
    *,
    particle: Particle,
    seed: int,
    params: ShowerParams = CALIBRATED,
    chunk_size: int = CHUNK_EVENTS,
    pretraining: bool = False,
) -> Iterator[tuple[Images, dict[str, FloatArray]]]:
    """Yield ``(images, extras)`` blocks of at most ``chunk_size`` events until ``n`` events are made.

    ``images`` are (k, 32, 32, 2) float32 in file units; ``extras`` holds ``eta`` (float32) and, for photons,
    ``converted`` (uint8, 1 if the photon converted in the tracker). ``pretraining`` draws from the reserved
    pretraining streams (:data:`PRETRAINING_STREAM`) instead of the sample streams of ``seed``.
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
        yield _simulate_chunk(
            min(chunk_size, n - start), particle=particle, params=params, rng=np.random.default_rng(sequence)
        )


def simulate_events(
    n: int, *, particle: Particle, seed: int, params: ShowerParams = CALIBRATED, chunk_size: int = CHUNK_EVENTS
) -> tuple[Images, dict[str, FloatArray]]:
    """Simulate ``n`` events of one class in memory.

    Parameters
    ----------
    n : int
        Number of events.
    particle : {"electron", "photon"}
        The primary.
    seed : int
        Seed; the same ``(n, particle, seed, params, chunk_size)`` always gives the same events.
    params : ShowerParams
        Shower model (default: the calibrated one).
    chunk_size : int
        Events simulated at once.

    Returns
    -------
    images : ndarray of shape (n, 32, 32, 2), float32
        Crops in file units (energy GeV / 50, time ns / 50), hottest crystal at (16, 16).
    extras : dict of str to ndarray of shape (n,)
        ``eta`` (float32) and, for photons, ``converted`` (uint8).
    """
    blocks = list(iter_chunks(n, particle=particle, seed=seed, params=params, chunk_size=chunk_size))
    images = np.concatenate([b[0] for b in blocks])
    extras = {key: np.concatenate([b[1][key] for b in blocks]) for key in blocks[0][1]}
    return images, extras


def write_sample(
    out_dir: str | os.PathLike[str], n: int, *, seed: int, params: ShowerParams = CALIBRATED
) -> tuple[Path, Path]:
    """Simulate ``n`` electrons and ``n`` photons into ``out_dir/electron.hdf5`` and ``out_dir/photon.hdf5``.

    The files follow the real schema (``X`` (n, 32, 32, 2) and ``y`` float32, lzf, chunked) plus the extras
    ``eta`` and, for photons, ``converted``. Each file appears only once complete.

    Returns
    -------
    (electron_path, photon_path)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    classes: tuple[tuple[Particle, float], ...] = (("electron", ELECTRON), ("photon", PHOTON))
    for particle, label in classes:
        path = out / f"{particle}.hdf5"
        extras = {"eta": np.float32} | ({"converted": np.uint8} if particle == "photon" else {})
        logger.info("simulating %d %ss into %s", n, particle, path)
        with (
            EventWriter(path, extras=extras) as writer,
            tqdm(total=n, desc=f"simulate {particle}s", unit="event", disable=None) as bar,
        ):
            for images, block_extras in iter_chunks(n, particle=particle, seed=seed, params=params):
                writer.append(images, np.full(len(images), label, dtype=np.float32), **block_extras)
                bar.update(len(images))
        paths.append(path)
    return paths[0], paths[1]
