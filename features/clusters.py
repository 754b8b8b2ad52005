"""Crystal counts and separate energy clusters: a converted pair or a brem photon makes a second local maximum.

Notation: ``E_i`` crystal energy (GeV), ``(i, j)`` offsets from the seed along i-eta and i-phi. A *local
maximum* is a crystal above 1 GeV that is hotter than its 8 neighbours; on ties the crystal earlier in
raster order (i-eta major) wins, so a plateau of two equal crystals counts once: it must be strictly hotter
than the neighbours at (-1,-1), (-1,0), (-1,+1), (0,-1) and at least as hot as those at (0,+1), (+1,-1), (+1,0),
(+1,+1). Crystals outside the crop count as 0.
"""

from __future__ import annotations

import numpy as np

from detector.schema import N_IETA, N_IPHI, SEED_IETA, SEED_IPHI, FloatArray
from features.crops import CropBatch, segment_argmax, segment_second, take
from features.feature import Feature

__all__ = ("COUNT_THRESHOLDS_GEV", "LOCAL_MAX_THRESHOLD_GEV", "FEATURES", "compute")

COUNT_THRESHOLDS_GEV = (0.1, 0.5, 1.0, 5.0)
"""Energies (GeV) above which crystals are counted: n_above_0p1, n_above_0p5, n_above_1, n_above_5."""
LOCAL_MAX_THRESHOLD_GEV = 1.0
"""A local maximum must exceed this energy (GeV), well above the 40 MeV noise."""

_BEFORE = ((-1, -1), (-1, 0), (-1, 1), (0, -1))
_AFTER = ((0, 1), (1, -1), (1, 0), (1, 1))


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All crystal-count and cluster features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    n = hits.n_events
    level = np.searchsorted(np.asarray(COUNT_THRESHOLDS_GEV), hits.energy, side="left")
    per_level = np.bincount(hits.event * 5 + level, minlength=5 * n).reshape(n, 5)
    at_least = np.cumsum(per_level[:, ::-1], axis=1)[:, ::-1].astype(np.float64)
    out = {"n_hits": at_least[:, 0]}
    for k, threshold in enumerate(COUNT_THRESHOLDS_GEV, start=1):
        out[f"n_above_{threshold:g}".replace(".", "p")] = at_least[:, k]

    peak = np.flatnonzero(_is_local_max(batch))
    peak_event = hits.event[peak]
    out["n_local_maxima"] = np.bincount(peak_event, minlength=n).astype(np.float64)
    first = segment_argmax(hits.energy[peak], peak_event, n)
    second = segment_second(hits.energy[peak], peak_event, n, first)
    first_hit, second_hit = take(peak, first, missing=-1).astype(np.int64), take(peak, second, missing=-1)
    second_hit = second_hit.astype(np.int64)
    out["e_2nd_local_max"] = take(hits.energy, second_hit)
    for axis, offsets in (("ieta", hits.ieta), ("iphi", hits.iphi)):
        out[f"d{axis}_2nd_local_max"] = np.abs(take(offsets.astype(np.float64), second_hit)
                                               - take(offsets.astype(np.float64), first_hit))
    out["e3x3_2nd_local_max"] = np.where(second_hit >= 0, _sum_3x3(batch, np.maximum(second_hit, 0)), np.nan)
    return out


def _neighbour_energy(batch: CropBatch, hit: np.ndarray, di: int, dj: int) -> FloatArray:
    """Energy (GeV) of the crystal at offset (di, dj) from each given hit; 0 outside the crop."""
    hits = batch.hits
    i, j = hits.ieta[hit] + SEED_IETA + di, hits.iphi[hit] + SEED_IPHI + dj
    inside = (i >= 0) & (i < N_IETA) & (j >= 0) & (j < N_IPHI)
    pixel = np.where(inside, hits.pixel[hit] + di * N_IPHI + dj, 0)
    return np.where(inside, batch.energy_at(pixel), 0.0)


def _is_local_max(batch: CropBatch) -> np.ndarray:
    """Boolean mask over the hits: which are local maxima (see the module docstring)."""
    hits = batch.hits
    candidate = np.flatnonzero(hits.energy > LOCAL_MAX_THRESHOLD_GEV)
    energy = hits.energy[candidate]
    keep = np.ones(candidate.size, dtype=bool)
    for di, dj in _BEFORE:
        keep &= energy > _neighbour_energy(batch, candidate, di, dj)
    for di, dj in _AFTER:
        keep &= energy >= _neighbour_energy(batch, candidate, di, dj)
    mask = np.zeros(hits.energy.size, dtype=bool)
    mask[candidate[keep]] = True
    return mask


def _sum_3x3(batch: CropBatch, hit: np.ndarray) -> FloatArray:
    """Energy (GeV) of the 3x3 block centred on each given hit (crystals outside the crop count as 0)."""
    return sum((_neighbour_energy(batch, hit, di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)), np.zeros(hit.size))


_ROWS = (
    ("n_hits", "count", "number of crystals with E_i > 0 (above the zero-suppression threshold)",
     "size of the deposit in crystals"),
    ("n_above_0p1", "count", "number of crystals with E_i > 0.1 GeV", "crystals above the noise level"),
    ("n_above_0p5", "count", "number of crystals with E_i > 0.5 GeV", "crystals carrying a real shower share"),
    ("n_above_1", "count", "number of crystals with E_i > 1 GeV", "significant crystals"),
    ("n_above_5", "count", "number of crystals with E_i > 5 GeV", "crystals of the hard core (one or two for a photon)"),
    ("n_local_maxima", "count", "number of local maxima above 1 GeV (see the module docstring)",
     "separate clusters: a converted pair or a brem photon adds one"),
    ("e_2nd_local_max", "GeV", "energy of the second-hottest local maximum; NaN with fewer than two",
     "the hottest crystal of the second cluster"),
    ("e3x3_2nd_local_max", "GeV", "sum of the 3x3 around the second-hottest local maximum; NaN with fewer than two",
     "energy of the second cluster (brem photon or conversion leg)"),
    ("dieta_2nd_local_max", "crystals", "|i(2nd local max) - i(hottest local max)|; NaN with fewer than two",
     "i-eta separation of the two clusters (small: the field does not bend in eta)"),
    ("diphi_2nd_local_max", "crystals", "|j(2nd local max) - j(hottest local max)|; NaN with fewer than two",
     "i-phi separation of the two clusters, the opening that the 3.8 T field produces"),
)

FEATURES = tuple(Feature(name, unit, formula, description, compute) for name, unit, formula, description in _ROWS)
"""The crystal-count and cluster family, in table order."""
