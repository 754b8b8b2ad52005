"""Read-out: electronic noise, the 32x32 crop around the hottest crystal, zero suppression and timing.

The order follows the real chain: every crystal gets Gaussian noise; the crop is centred on the hottest crystal
after noise; crystals measured below the zero-suppression threshold read exactly 0 in energy and time; the
others get their time, smeared with the energy-dependent resolution. The result is stored in file units
(GeV / 50, ns / 50).
"""

from __future__ import annotations

import numpy as np

from detector.schema import (
    ENERGY,
    ENERGY_SCALE_GEV,
    IMAGE_SHAPE,
    N_IETA,
    N_IPHI,
    SEED_IETA,
    SEED_IPHI,
    TIME,
    TIME_SCALE_NS,
    FloatArray,
    Images,
)
from simulation.constants import (
    BARREL_EDGE_IETA,
    NOISE_GEV,
    THRESHOLD_GEV,
    TIME_CLIP_NS,
    TIME_CONSTANT_NS,
    TIME_NOISE_TERM_NS,
)
from simulation.shower import WINDOW_CENTRE, WINDOW_COLS, WINDOW_ROWS, Deposits

__all__ = ("read_out", "time_resolution")


def time_resolution(energy: FloatArray) -> FloatArray:
    """Crystal time resolution (ns) at measured energy ``E`` (GeV).

    ``sigma_t(E) = sqrt((35 ns x sigma_noise / E)^2 + (0.2 ns)^2)`` with ``sigma_noise = 40 MeV``: the noise term
    of the pulse fit and a constant term. ``E`` must be positive (crystals above threshold).
    """
    return np.hypot(TIME_NOISE_TERM_NS * NOISE_GEV / energy, TIME_CONSTANT_NS)


def read_out(deposits: Deposits, impact_ieta: FloatArray, *, rng: np.random.Generator) -> Images:
    """Turn true crystal deposits into stored 32x32 crops.

    Parameters
    ----------
    deposits : Deposits
        True energy (GeV) and time (ns) on each event's deposit window.
    impact_ieta : ndarray of shape (n,), int
        Barrel i-eta index of the window's centre crystal (crystals ``-85 .. 84`` exist); rows of the crop
        beyond the barrel are zero padding.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of shape (n, 32, 32, 2), float32
        Energy / 50 and time / 50 with the hottest crystal at (16, 16).
    """
    n = deposits.energy.shape[0]
    noisy = deposits.energy + np.float32(NOISE_GEV) * rng.standard_normal(deposits.energy.shape, dtype=np.float32)
    seed = np.argmax(noisy.reshape(n, -1), axis=1)
    seed_row, seed_col = np.divmod(seed, WINDOW_COLS)

    rows = seed_row[:, None, None] + (np.arange(N_IETA) - SEED_IETA)[None, :, None]
    cols = seed_col[:, None, None] + (np.arange(N_IPHI) - SEED_IPHI)[None, None, :]
    inside = (rows >= 0) & (rows < WINDOW_ROWS) & (cols >= 0) & (cols < WINDOW_COLS)
    events = np.arange(n)[:, None, None]
    r, c = np.clip(rows, 0, WINDOW_ROWS - 1), np.clip(cols, 0, WINDOW_COLS - 1)
    outside_noise = np.float32(NOISE_GEV) * rng.standard_normal((n, N_IETA, N_IPHI), dtype=np.float32)
    energy = np.where(inside, noisy[events, r, c], outside_noise)
    true_time = np.where(inside, deposits.time[events, r, c], np.float32(0.0))

    ieta = np.asarray(impact_ieta)[:, None, None] + rows - WINDOW_CENTRE[0]
    in_barrel = (ieta >= -BARREL_EDGE_IETA) & (ieta < BARREL_EDGE_IETA)
    kept = in_barrel & (energy >= THRESHOLD_GEV)

    images = np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)
    measured = energy[kept]
    smear = time_resolution(measured) * rng.standard_normal(measured.size, dtype=np.float32)
    time = np.clip(true_time[kept] + smear, -TIME_CLIP_NS, TIME_CLIP_NS)
    images[..., ENERGY][kept] = measured / ENERGY_SCALE_GEV
    images[..., TIME][kept] = time / TIME_SCALE_NS
    return images
