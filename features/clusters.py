"""Crystal counts and separate energy clusters: a converted pair or a brem photon makes a second local maximum.

Notation: ``E_i`` crystal energy (GeV), ``(i, j)`` offsets from the seed along i-eta and i-phi. A *local
maximum* is a crystal above 1 GeV that is hotter than its 8 neighbours; on ties the crystal earlier in
raster order (i-eta major) wins, so a plateau of two equal crystals counts once: it must be strictly hotter
than the neighbours at (-1,-1), (-1,0), (-1,+1), (0,-1) and at least as hot as those at (0,+1), (+1,-1), (+1,0),
(+1,+1). Crystals outside the crop count as 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detector.schema import N_IETA, N_IPHI, SEED_IETA, SEED_IPHI, FloatArray, IndexArray
from features.crops import CropBatch, take
from features.feature import Feature

__all__ = ("COUNT_THRESHOLDS_GEV", "LOCAL_MAX_THRESHOLD_GEV", "FEATURES", "compute")

COUNT_THRESHOLDS_GEV = (0.1, 0.5, 1.0, 5.0)
"""Energies (GeV) above which crystals are counted: n_above_0p1, n_above_0p5, n_above_1, n_above_5."""
LOCAL_MAX_THRESHOLD_GEV = 1.0
"""A local maximum must exceed this energy (GeV), well above the 40 MeV noise."""

# The 3x3 neighbourhood as (di, dj) steps in raster order, and which neighbours come before the centre.
_STEP = np.array([(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)])
_EARLIER = (np.arange(9) < 4).reshape(3, 3)


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All crystal-count and cluster features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    out = {"n_hits": hits.sum(np.ones_like(hits.energy))}
    for threshold in COUNT_THRESHOLDS_GEV:
        out[f"n_above_{threshold:g}".replace(".", "p")] = hits.sum((hits.energy > threshold).astype(np.float64))
    peak = _is_local_max(batch)
    out["n_local_maxima"] = hits.sum(peak.astype(np.float64))
    first, second = hits.top_two(np.where(peak, hits.energy, -np.inf))
    out["e_2nd_local_max"] = take(hits.energy, second)
    out["dieta_2nd_local_max"] = np.abs(take(hits.ieta, second) - take(hits.ieta, first))
    out["diphi_2nd_local_max"] = np.abs(take(hits.iphi, second) - take(hits.iphi, first))
    has_second = second >= 0
    out["e3x3_2nd_local_max"] = np.full(hits.n_events, np.nan)
    out["e3x3_2nd_local_max"][has_second] = _block_3x3(batch, second[has_second]).sum(axis=(1, 2))
    return out


def _block_3x3(batch: CropBatch, hit: IndexArray) -> FloatArray:
    """Energies (GeV) of the 3x3 blocks centred on the given hits, shape (n, 3, 3); 0 outside the crop."""
    hits = batch.hits
    i = hits.ieta[hit, None] + _STEP[:, 0]
    j = hits.iphi[hit, None] + _STEP[:, 1]
    inside = (i >= -SEED_IETA) & (i < N_IETA - SEED_IETA) & (j >= -SEED_IPHI) & (j < N_IPHI - SEED_IPHI)
    pixel = np.where(inside, hits.pixel[hit, None] + _STEP @ np.array([N_IPHI, 1]), 0)
    return np.where(inside, batch.energy_at(pixel), 0.0).reshape(-1, 3, 3)


def _is_local_max(batch: CropBatch) -> npt.NDArray[np.bool_]:
    """Boolean mask over the hits: which are local maxima (see the module docstring)."""
    hits = batch.hits
    candidate = np.flatnonzero(hits.energy > LOCAL_MAX_THRESHOLD_GEV)
    block = _block_3x3(batch, candidate)
    centre = block[:, 1:2, 1:2]
    keep = np.where(_EARLIER, centre > block, centre >= block).all(axis=(1, 2))
    mask = np.zeros(hits.energy.size, dtype=bool)
    mask[candidate[keep]] = True
    return mask


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
