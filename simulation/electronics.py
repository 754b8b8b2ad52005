"""Read-out: electronic noise, the 32x32 crop around the hottest crystal, zero suppression and timing.

The order follows the real chain: every crystal gets Gaussian noise; the crop is centred on the hottest crystal
after noise; crystals measured below the zero-suppression threshold read exactly 0 in energy and time; the
others get their time, smeared with the energy-dependent resolution. The result is stored in file units
(GeV / 50, ns / 50).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from egid.detector.schema import (
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
    IndexArray,
)
from egid.simulation.constants import (
    BARREL_EDGE_IETA,
    NOISE_GEV,
    THRESHOLD_GEV,
    TIME_CLIP_NS,
    TIME_CONSTANT_NS,
    TIME_NOISE_TERM_NS,
)
from egid.simulation.shower import Deposits

__all__ = ("read_out", "time_resolution")

# Gaussian tail of the noise above the threshold, in units of the noise: z -> survival 0.5 erfc(z / sqrt 2),
# tabulated increasing in survival for np.interp.
_TAIL_Z = np.linspace(THRESHOLD_GEV / NOISE_GEV + 8.0, THRESHOLD_GEV / NOISE_GEV, 2001)
_TAIL_SURVIVAL = np.array([0.5 * math.erfc(z / math.sqrt(2.0)) for z in _TAIL_Z])
_NOISE_PASS = float(_TAIL_SURVIVAL[-1])
"""Probability that a crystal with noise only reads at least the threshold (3 sigma: 0.135%)."""


def time_resolution(energy: FloatArray) -> FloatArray:
    """Crystal time resolution (ns) at measured energy ``E`` (GeV).

    ``sigma_t(E) = sqrt((35 ns x sigma_noise / E)^2 + (0.2 ns)^2)`` with ``sigma_noise = 40 MeV``: the noise term
    of the pulse fit and a constant term. ``E`` must be positive (crystals above threshold).
    """
    sigma: FloatArray = np.hypot(TIME_NOISE_TERM_NS * NOISE_GEV / energy, TIME_CONSTANT_NS)
    return sigma


def _crop_window(window: FloatArray, seed_row: IndexArray, seed_col: IndexArray) -> FloatArray:
    """Cut the 32x32 crop centred on ``(seed_row, seed_col)`` out of each event's window, zero beyond it."""
    n, rows, cols = window.shape
    events = np.arange(n)
    padded = np.zeros((n, rows, cols + N_IPHI), dtype=window.dtype)
    padded[:, :, SEED_IPHI : SEED_IPHI + cols] = window
    strips = sliding_window_view(padded, N_IPHI, axis=2)[events, :, seed_col]  # (n, rows, 32)
    tall = np.zeros((n, rows + N_IETA, N_IPHI), dtype=window.dtype)
    tall[:, SEED_IETA : SEED_IETA + rows] = strips
    crop: FloatArray = np.ascontiguousarray(
        sliding_window_view(tall, N_IETA, axis=1)[events, seed_row].transpose(0, 2, 1)
    )
    return crop


def _noise_above_threshold(size: int, rng: np.random.Generator) -> tuple[IndexArray, FloatArray]:
    """Draw which of ``size`` noise-only crystals pass the threshold, and their energies (GeV).

    Each passes independently with ``p = P(noise >= threshold)``; the positions of a Bernoulli(p) sequence are
    the cumulative sums of geometric gaps, so the cost follows the few passing crystals, not ``size``. Their
    energies follow the Gaussian tail above the threshold (inverse CDF on a grid).
    """
    positions: list[IndexArray] = []
    last = -1
    while last < size:
        expected = size * _NOISE_PASS
        gaps = rng.geometric(_NOISE_PASS, size=int(expected + 5 * np.sqrt(expected) + 16))
        chunk = last + np.cumsum(gaps)
        positions.append(chunk)
        last = int(chunk[-1])
    flat = np.concatenate(positions)
    flat = flat[flat < size]
    survival = _NOISE_PASS * (1.0 - rng.random(flat.size))
    values = NOISE_GEV * np.interp(survival, _TAIL_SURVIVAL, _TAIL_Z)
    return flat, values.astype(np.float32)


def read_out(deposits: Deposits, impact_ieta: FloatArray, *, rng: np.random.Generator) -> Images:
    """Turn true crystal deposits into stored 32x32 crops.

    Parameters
    ----------
    deposits : Deposits
        True energy (GeV) and time (ns) on each event's deposit window, of any size; its centre crystal (the
        middle row and column) is the one the primary points at.
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
    n, window_rows, window_cols = deposits.energy.shape
    noisy = deposits.energy + np.float32(NOISE_GEV) * rng.standard_normal(deposits.energy.shape, dtype=np.float32)
    seed = np.argmax(noisy.reshape(n, -1), axis=1)
    seed_row, seed_col = np.divmod(seed, window_cols)
    energy = _crop_window(noisy, seed_row, seed_col)
    true_time = _crop_window(deposits.time, seed_row, seed_col)

    # Crop crystals beyond the deposit window hold pure noise; only those above threshold are ever stored.
    flat, values = _noise_above_threshold(energy.size, rng)
    event, position = np.divmod(flat, N_IETA * N_IPHI)
    row, col = np.divmod(position, N_IPHI)
    window_row = seed_row[event] + row - SEED_IETA
    window_col = seed_col[event] + col - SEED_IPHI
    beyond = (window_row < 0) | (window_row >= window_rows) | (window_col < 0) | (window_col >= window_cols)
    # The seed is the hottest crystal of the whole read-out: pure noise beyond the window cannot top it. Only an
    # event without any deposit above the noise (a pion's MIP lost under it) can meet this; it is capped just under.
    seed_energy = noisy.reshape(n, -1)[np.arange(n), seed]
    below_seed = np.nextafter(seed_energy, np.float32(0.0))
    energy.reshape(-1)[flat[beyond]] = np.minimum(values[beyond], below_seed[event[beyond]])

    rows = seed_row[:, None, None] + (np.arange(N_IETA) - SEED_IETA)[None, :, None]
    ieta = np.asarray(impact_ieta)[:, None, None] + rows - window_rows // 2
    in_barrel = (ieta >= -BARREL_EDGE_IETA) & (ieta < BARREL_EDGE_IETA)
    kept = in_barrel & (energy >= THRESHOLD_GEV)

    images = np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)
    measured = energy[kept]
    smear = time_resolution(measured) * rng.standard_normal(measured.size, dtype=np.float32)
    time = np.clip(true_time[kept] + smear, -TIME_CLIP_NS, TIME_CLIP_NS)
    images[..., ENERGY][kept] = measured / ENERGY_SCALE_GEV
    images[..., TIME][kept] = time / TIME_SCALE_NS
    return images
