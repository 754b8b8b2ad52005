"""Crystal counts and separate energy clusters: a converted pair or a brem photon makes a second local maximum.

Notation: ``E_i`` crystal energy (GeV), ``(i, j)`` offsets from the seed along i-eta and i-phi. A *local
maximum* is a crystal above 1 GeV that is hotter than its 8 neighbours; on ties the crystal earlier in
raster order (i-eta major) wins, so a plateau of two equal crystals counts once: it must be strictly hotter
than the neighbours at (-1,-1), (-1,0), (-1,+1), (0,-1) and at least as hot as those at (0,+1), (+1,-1), (+1,0),
(+1,+1). Crystals outside the crop count as 0.
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import ENERGY_SCALE_GEV, FloatArray, IndexArray
from egid.features.crops import CropBatch, Segments, take
from egid.features.feature import Feature

__all__ = ("COUNT_THRESHOLDS_GEV", "FEATURES", "LOCAL_MAX_THRESHOLD_GEV", "compute")

COUNT_THRESHOLDS_GEV = (0.1, 0.5, 1.0, 5.0)
"""Energies (GeV) above which crystals are counted: n_above_0p1, n_above_0p5, n_above_1, n_above_5."""
LOCAL_MAX_THRESHOLD_GEV = 1.0
"""A local maximum must exceed this energy (GeV), well above the 40 MeV noise."""


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All crystal-count and cluster features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    out = {"n_hits": hits.sum(np.ones_like(hits.energy))}
    for threshold in COUNT_THRESHOLDS_GEV:
        out[f"n_above_{threshold:g}".replace(".", "p")] = hits.sum((hits.energy > threshold).astype(np.float64))
    peak = _local_maxima(batch)
    peaks = Segments(hits.event[peak], hits.n_events)
    first, second = (take(peak, index, missing=-1) for index in peaks.top_two(hits.energy[peak]))
    out["n_local_maxima"] = peaks.sum(np.ones(peak.size))
    out["e_2nd_local_max"] = take(hits.energy, second)
    out["dieta_2nd_local_max"] = np.abs(take(hits.ieta, second) - take(hits.ieta, first))
    out["diphi_2nd_local_max"] = np.abs(take(hits.iphi, second) - take(hits.iphi, first))
    has_second = second >= 0
    out["e3x3_2nd_local_max"] = np.full(hits.n_events, np.nan)
    block = batch.raw_neighbourhood(second[has_second]).astype(np.float64)
    out["e3x3_2nd_local_max"][has_second] = block.sum(axis=0) * ENERGY_SCALE_GEV
    return out


def _local_maxima(batch: CropBatch) -> IndexArray:
    """Hit indices (sorted) of the local maxima (see the module docstring)."""
    candidate = np.flatnonzero(batch.hits.energy > LOCAL_MAX_THRESHOLD_GEV)
    block = batch.raw_neighbourhood(candidate)
    centre = block[4]
    earlier = np.maximum(np.maximum(block[0], block[1]), np.maximum(block[2], block[3]))
    later = np.maximum(np.maximum(block[5], block[6]), np.maximum(block[7], block[8]))
    maxima: IndexArray = candidate[(centre > earlier) & (centre >= later)]
    return maxima


_ROWS = (
    (
        "n_hits",
        "count",
        "number of crystals with E_i > 0 (above the zero-suppression threshold)",
        r"\#\{k : E_k > 0\}",
        "size of the deposit in crystals",
    ),
    (
        "n_above_0p1",
        "count",
        "number of crystals with E_i > 0.1 GeV",
        r"\#\{k : E_k > 0.1\,\mathrm{GeV}\}",
        "crystals above the noise level",
    ),
    (
        "n_above_0p5",
        "count",
        "number of crystals with E_i > 0.5 GeV",
        r"\#\{k : E_k > 0.5\,\mathrm{GeV}\}",
        "crystals carrying a real shower share",
    ),
    (
        "n_above_1",
        "count",
        "number of crystals with E_i > 1 GeV",
        r"\#\{k : E_k > 1\,\mathrm{GeV}\}",
        "significant crystals",
    ),
    (
        "n_above_5",
        "count",
        "number of crystals with E_i > 5 GeV",
        r"\#\{k : E_k > 5\,\mathrm{GeV}\}",
        "crystals of the hard core (one or two for a photon)",
    ),
    (
        "n_local_maxima",
        "count",
        "number of local maxima above 1 GeV (see the module docstring)",
        r"\#\{k : E_k > 1\,\mathrm{GeV},\ E_k > E_l\ \forall l \in N(k)\}",
        "separate clusters: a converted pair or a brem photon adds one",
    ),
    (
        "e_2nd_local_max",
        "GeV",
        "energy of the second-hottest local maximum; NaN with fewer than two",
        r"E_{m_2}",
        "the hottest crystal of the second cluster",
    ),
    (
        "e3x3_2nd_local_max",
        "GeV",
        "sum of the 3x3 around the second-hottest local maximum; NaN with fewer than two",
        r"E_{m_2} + \sum_{l \in N(m_2)} E_l",
        "energy of the second cluster (brem photon or conversion leg)",
    ),
    (
        "dieta_2nd_local_max",
        "crystals",
        "|i(2nd local max) - i(hottest local max)|; NaN with fewer than two",
        r"\left|i_{m_2} - i_{m_1}\right|",
        "i-eta separation of the two clusters (small: the field does not bend in eta)",
    ),
    (
        "diphi_2nd_local_max",
        "crystals",
        "|j(2nd local max) - j(hottest local max)|; NaN with fewer than two",
        r"\left|j_{m_2} - j_{m_1}\right|",
        "i-phi separation of the two clusters, the opening that the 3.8 T field produces",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The crystal-count and cluster family, in table order."""
