"""Intermediates shared by the feature families, computed once per batch of crops and only when asked for.

A crop holds about 25 lit crystals out of 1024, so everything that runs over *all* crystals works on a sparse
list of the lit ones (:class:`Hits`, found with one pass over the raw array) and per-event sums come from
``np.bincount``. Everything tied to the seed works on the 5x5 window around it. Energies are converted to GeV
and times to ns here, once (``x ENERGY_SCALE_GEV``, ``x TIME_SCALE_NS``), in float64.

Inputs are crops as validated by :func:`detector.check_images` (finite, energies >= 0); a crystal is *lit* when
its energy is non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from detector.schema import (
    ENERGY,
    ENERGY_SCALE_GEV,
    IMAGE_SHAPE,
    N_IPHI,
    SEED_IETA,
    SEED_IPHI,
    TIME,
    TIME_SCALE_NS,
    FloatArray,
    Images,
    IndexArray,
)

__all__ = ("WINDOW_HALF", "CropBatch", "Hits", "segment_argmax", "segment_max", "segment_second", "take")

WINDOW_HALF = 2
"""The seed window spans seed +- 2 crystals in both directions (the CMS 5x5)."""


@dataclass(frozen=True)
class Hits:
    """The lit crystals of a batch, sorted by event and then in raster order (i-eta major, i-phi minor).

    Attributes
    ----------
    event : (n_hits,) int64
        Event index within the batch.
    ieta, iphi : (n_hits,) int64
        Crystal offsets from the seed (crystals), ``i - 16`` and ``j - 16``.
    energy : (n_hits,) float64
        Crystal energy, GeV.
    time : (n_hits,) float64
        Crystal time, ns.
    pixel : (n_hits,) int64
        Flat crystal index ``event * 1024 + i * 32 + j`` into the batch.
    n_events : int
        Events in the batch (some may have no hits).
    """

    event: IndexArray
    ieta: IndexArray
    iphi: IndexArray
    energy: FloatArray
    time: FloatArray
    pixel: IndexArray
    n_events: int

    def per_event_sum(self, weights: FloatArray, where: npt.NDArray[np.bool_] | None = None) -> FloatArray:
        """``sum_{hits of each event} weights`` as an (n_events,) float64 array; ``where`` restricts the hits."""
        if where is None:
            return np.bincount(self.event, weights=weights, minlength=self.n_events)
        return np.bincount(self.event[where], weights=weights[where], minlength=self.n_events)

    def per_event_mean(self, values: FloatArray, weights: FloatArray, where: npt.NDArray[np.bool_]) -> FloatArray:
        """Weighted mean of ``values`` over the selected hits of each event; NaN where the weights sum to 0."""
        total = self.per_event_sum(weights, where)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.per_event_sum(weights * values, where) / total


def segment_max(values: FloatArray, event: IndexArray, n_events: int, *, empty: float = np.nan) -> FloatArray:
    """Each event's largest value, ``empty`` for an event without values (hits sorted by event, as in :class:`Hits`)."""
    out = np.full(n_events, empty, dtype=np.float64)
    if values.size:
        counts = np.bincount(event, minlength=n_events)
        nonempty = counts > 0
        out[nonempty] = np.maximum.reduceat(values, (np.cumsum(counts) - counts)[nonempty])
    return out


def segment_argmax(values: FloatArray, event: IndexArray, n_events: int) -> IndexArray:
    """Index into ``values`` of each event's largest value (first one on ties), -1 for an event without values.

    ``values`` and ``event`` run over hits sorted by event, as in :class:`Hits`.
    """
    out = np.full(n_events, -1, dtype=np.int64)
    if values.size == 0:
        return out
    best = segment_max(values, event, n_events)
    candidates = np.flatnonzero(values == best[event])
    candidate_event = event[candidates]
    first = np.ones(candidates.size, dtype=bool)
    first[1:] = candidate_event[1:] != candidate_event[:-1]
    out[candidate_event[first]] = candidates[first]
    return out


def segment_second(values: FloatArray, event: IndexArray, n_events: int, first: IndexArray) -> IndexArray:
    """Index of each event's second-largest value (the largest once ``first`` is removed), -1 if none."""
    others = values.copy()
    others[first[first >= 0]] = -np.inf
    second = segment_argmax(others, event, n_events)
    second[second >= 0] = np.where(np.isneginf(others[second[second >= 0]]), -1, second[second >= 0])
    return second


class CropBatch:
    """A batch of crops plus lazily computed, cached intermediates that several families share.

    Parameters
    ----------
    images : array of shape (N, 32, 32, 2)
        Crops in file units (GeV / 50, ns / 50).

    Raises
    ------
    ValueError
        ``images`` does not have the shape (N, 32, 32, 2).
    """

    def __init__(self, images: npt.ArrayLike) -> None:
        x = np.asarray(images)
        if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
            msg = f"images: expected shape (N, 32, 32, 2), got {x.shape}; pass a batch of crops in the CMS layout"
            raise ValueError(msg)
        self.images: Images = np.ascontiguousarray(x, dtype=np.float32)
        self.n_events = int(x.shape[0])

    @cached_property
    def hits(self) -> Hits:
        """The lit crystals, found with one pass over the raw array (each (energy, time) pair viewed as 8 bytes)."""
        pairs = self.images.view(np.uint64).reshape(-1)
        pixel = np.flatnonzero(pairs)
        raw = self.images.reshape(-1, 2)[pixel]
        lit = raw[:, ENERGY] != 0
        pixel, raw = pixel[lit], raw[lit]
        crystal = pixel % (IMAGE_SHAPE[0] * N_IPHI)
        return Hits(
            event=pixel // (IMAGE_SHAPE[0] * N_IPHI),
            ieta=crystal // N_IPHI - SEED_IETA,
            iphi=crystal % N_IPHI - SEED_IPHI,
            energy=raw[:, ENERGY].astype(np.float64) * ENERGY_SCALE_GEV,
            time=raw[:, TIME].astype(np.float64) * TIME_SCALE_NS,
            pixel=pixel,
            n_events=self.n_events,
        )

    @cached_property
    def window(self) -> FloatArray:
        """Crystal energies (GeV, float64) of the 5x5 around the seed, shape (N, 5, 5); ``[:, 2, 2]`` is the seed."""
        rows = slice(SEED_IETA - WINDOW_HALF, SEED_IETA + WINDOW_HALF + 1)
        cols = slice(SEED_IPHI - WINDOW_HALF, SEED_IPHI + WINDOW_HALF + 1)
        return self.images[:, rows, cols, ENERGY].astype(np.float64) * ENERGY_SCALE_GEV

    @cached_property
    def e_sum(self) -> FloatArray:
        """Energy of the whole crop, GeV, shape (N,)."""
        return self.hits.per_event_sum(self.hits.energy)

    @cached_property
    def hottest(self) -> IndexArray:
        """Hit index of each event's most energetic crystal (first in raster order on ties), -1 if empty."""
        return segment_argmax(self.hits.energy, self.hits.event, self.n_events)

    @cached_property
    def second_hottest(self) -> IndexArray:
        """Hit index of each event's second most energetic crystal, -1 with fewer than two lit crystals."""
        return segment_second(self.hits.energy, self.hits.event, self.n_events, self.hottest)

    def energy_at(self, pixel: IndexArray) -> FloatArray:
        """Energies (GeV, float64) of the crystals at flat ``pixel`` indices (as in :attr:`Hits.pixel`)."""
        return self.images.reshape(-1, 2)[pixel, ENERGY].astype(np.float64) * ENERGY_SCALE_GEV


def take(values: FloatArray, index: IndexArray, *, missing: float = np.nan) -> FloatArray:
    """``values[index]`` per event, ``missing`` where ``index`` is -1."""
    return np.where(index >= 0, values[np.maximum(index, 0)] if values.size else missing, missing)
