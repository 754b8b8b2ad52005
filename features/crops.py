"""Intermediates shared by the feature families, computed once per batch of crops and only when asked for.

A crop holds about 25 lit crystals out of 1024, so everything that runs over *all* crystals works on a sparse
list of the lit ones (:class:`Hits`, found with one pass over the raw array); per-event sums and maxima are
segmented reductions (``np.add.reduceat``) over that list, which is sorted by event. Everything tied to the seed
works on the 5x5 window around it. Energies are converted to GeV and times to ns here, once
(``x ENERGY_SCALE_GEV``, ``x TIME_SCALE_NS``), in float64.

Inputs are crops as validated by :func:`egid.detector.check_images` (finite, energies >= 0); a crystal is *lit* when
its energy is non-zero.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from egid.detector import InputError, check_images
from egid.detector.errors import shorten
from egid.detector.schema import (
    CHANNELS,
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

__all__ = ("WINDOW_HALF", "CropBatch", "Hits", "Segments", "as_crops", "checked_crops", "take")

ScalarT = TypeVar("ScalarT", bound=np.generic)

WINDOW_HALF = 2
"""The seed window spans seed +- 2 crystals in both directions (the CMS 5x5)."""

_CHECK_BLOCK = 8192
"""Crops checked together by :func:`checked_crops`, bounding the memory of the check's boolean masks."""

# Flat crystal indices split into (event, i-eta, i-phi) with shifts: a crop is 32 x 32 = 2^5 x 2^5 crystals.
_IPHI_BITS = 5
_CRYSTAL_BITS = 10


class Segments:
    """Per-event reductions over values sorted by event (segmented ``reduceat``, no Python loop over events).

    Parameters
    ----------
    event : (n,) int64
        Non-decreasing event index of each value.
    n_events : int
        Events in the batch; an event without values gets the documented empty result.
    """

    def __init__(self, event: IndexArray, n_events: int) -> None:
        self.event = event
        self.n_events = n_events
        counts = np.bincount(event, minlength=n_events)
        nonempty = counts > 0
        self._starts = (np.cumsum(counts) - counts)[nonempty]
        self._nonempty = None if nonempty.all() else nonempty

    def _scatter(self, reduced: FloatArray, empty: float) -> FloatArray:
        if self._nonempty is None:
            return reduced.astype(np.float64, copy=False)
        out = np.full(self.n_events, empty)
        out[self._nonempty] = reduced
        return out

    def sum(self, weights: FloatArray) -> FloatArray:
        """``sum weights`` per event, (n_events,) float64; 0 for an event without values."""
        if weights.size == 0:
            return np.zeros(self.n_events)
        return self._scatter(np.add.reduceat(weights, self._starts), 0.0)

    def mean(self, values: FloatArray, weights: FloatArray) -> FloatArray:
        """``sum w v / sum w`` per event; NaN where the weights sum to 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sum(weights * values) / self.sum(weights)

    def max(self, values: FloatArray) -> FloatArray:
        """Each event's largest value; NaN for an event without values or whose values are all -inf (excluded)."""
        if values.size == 0:
            return np.full(self.n_events, np.nan)
        out = self._scatter(np.maximum.reduceat(values, self._starts), -np.inf)
        out[np.isneginf(out)] = np.nan
        return out

    def argmax(self, values: FloatArray) -> IndexArray:
        """Index of each event's largest value (the first on ties); -1 where :meth:`max` is NaN."""
        best = self.max(values)
        out = np.full(self.n_events, -1, dtype=np.int64)
        candidates = np.flatnonzero(values == best[self.event])
        candidate_event = self.event[candidates]
        first = np.ones(candidates.size, dtype=bool)
        first[1:] = candidate_event[1:] != candidate_event[:-1]
        out[candidate_event[first]] = candidates[first]
        return out

    def top_two(self, values: FloatArray) -> tuple[IndexArray, IndexArray]:
        """Indices of each event's largest and second-largest value (-1 where missing; -inf excludes a value)."""
        first = self.argmax(values)
        others = values.copy()
        others[first[first >= 0]] = -np.inf
        return first, self.argmax(others)


class Hits(Segments):
    """The lit crystals of a batch, sorted by event and then in raster order (i-eta major, i-phi minor).

    Per-event sums, maxima and top-two indices over the hits come from the :class:`Segments` methods.

    Attributes
    ----------
    event : (n_hits,) int64
        Event index within the batch.
    ieta, iphi : (n_hits,) float64
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

    def __init__(self, pixel: IndexArray, energy: FloatArray, time: FloatArray, n_events: int) -> None:
        super().__init__(pixel >> _CRYSTAL_BITS, n_events)
        crystal = pixel & (N_IETA * N_IPHI - 1)
        self.pixel = pixel
        self.ieta = ((crystal >> _IPHI_BITS) - SEED_IETA).astype(np.float64)
        self.iphi = ((crystal & (N_IPHI - 1)) - SEED_IPHI).astype(np.float64)
        self.energy = energy
        self.time = time


class CropBatch:
    """A batch of crops plus lazily computed, cached intermediates that several families share.

    Parameters
    ----------
    images : array of shape (N, 32, 32, 2)
        Crops in file units (GeV / 50, ns / 50).

    Raises
    ------
    InputError
        ``images`` is not an array of real numbers of shape (N, 32, 32, 2) (see :func:`as_crops`).
    """

    def __init__(self, images: npt.ArrayLike) -> None:
        self.images: Images = as_crops(images)
        self.n_events = int(self.images.shape[0])

    @cached_property
    def hits(self) -> Hits:
        """The lit crystals, found with one pass over the raw array (each (energy, time) pair viewed as 8 bytes)."""
        pairs = self.images.view(np.uint64).reshape(-1)
        pixel = np.flatnonzero(pairs != 0)
        raw = np.take(pairs, pixel).view(np.float32).reshape(-1, 2)
        lit = raw[:, ENERGY] != 0
        if not lit.all():
            pixel, raw = pixel[lit], raw[lit]
        energy = raw[:, ENERGY].astype(np.float64) * ENERGY_SCALE_GEV
        return Hits(pixel, energy, raw[:, TIME].astype(np.float64) * TIME_SCALE_NS, self.n_events)

    @cached_property
    def window(self) -> FloatArray:
        """Crystal energies (GeV, float64) of the 5x5 around the seed, shape (N, 5, 5); ``[:, 2, 2]`` is the seed."""
        rows = slice(SEED_IETA - WINDOW_HALF, SEED_IETA + WINDOW_HALF + 1)
        cols = slice(SEED_IPHI - WINDOW_HALF, SEED_IPHI + WINDOW_HALF + 1)
        return self.images[:, rows, cols, ENERGY].astype(np.float64) * ENERGY_SCALE_GEV

    @cached_property
    def e_sum(self) -> FloatArray:
        """Energy of the whole crop, GeV, shape (N,)."""
        return self.hits.sum(self.hits.energy)

    @cached_property
    def hottest(self) -> tuple[IndexArray, IndexArray]:
        """Hit indices of each event's most and second-most energetic crystals (raster order on ties), -1 if none."""
        return self.hits.top_two(self.hits.energy)

    def raw_neighbourhood(self, hit: IndexArray) -> npt.NDArray[np.float32]:
        """File-unit energies (GeV / 50, float32) of the 3x3 crystals around each given hit; 0 outside the crop.

        Returns an array of shape (9, n): row ``3 * (di + 1) + (dj + 1)`` holds the crystal at offset
        (di, dj), so rows run in raster order and row 4 is the hit itself. Comparing these compares GeV
        (float32 x 50 is exact in float64). Each row is one 1-D gather from the contiguous crops.
        """
        hits = self.hits
        i, j = hits.ieta[hit], hits.iphi[hit]
        room = {  # whether the neighbour at that step lies inside the crop
            ("i", -1): i > -SEED_IETA,
            ("i", 1): i < N_IETA - 1 - SEED_IETA,
            ("j", -1): j > -SEED_IPHI,
            ("j", 1): j < N_IPHI - 1 - SEED_IPHI,
        }
        at_edge = not all(r.all() for r in room.values())
        flat = self.images.reshape(-1)
        base = CHANNELS * hits.pixel[hit] + ENERGY
        out = np.empty((9, hit.size), dtype=np.float32)
        for k, (di, dj) in enumerate((di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)):
            index = base + CHANNELS * (di * N_IPHI + dj)
            if at_edge and (di or dj):
                inside = room.get(("i", di), True) & room.get(("j", dj), True)
                np.take(flat, np.where(inside, index, 0), out=out[k])
                out[k][~inside] = 0.0
            else:
                np.take(flat, index, out=out[k])
        return out


def as_crops(images: npt.ArrayLike, *, name: str = "images") -> Images:
    """``images`` as a C-contiguous float32 (N, 32, 32, 2) array (no copy when it already is one).

    Real numbers of any width are accepted (float64 and integer crops are cast); the pixel values are not
    checked here (:func:`checked_crops` does that).

    Raises
    ------
    InputError
        ``images`` cannot be read as an array (a torch tensor that requires grad or lives on a GPU, a ragged
        list), holds no real numbers (complex, bool, strings, objects) or does not have the shape (N, 32, 32, 2).
    """
    return np.ascontiguousarray(_real_crops(images, name), dtype=np.float32)


def checked_crops(images: npt.ArrayLike, *, name: str = "images", allow_empty: bool = True) -> Images:
    """:func:`as_crops`, with the pixel rule of the input files applied to the values as given.

    The rule is :func:`egid.detector.check_images` (finite values, energies >= 0, both channels within their
    physical bounds). It runs block by block before the cast to float32, so that a finite float64 value beyond
    float32's range is reported as out of bounds instead of overflowing to inf. ``allow_empty=False`` also
    refuses an array of no crops (scoring nothing is a caller's mistake, not an empty answer).

    Raises
    ------
    InputError
        As :func:`as_crops`, or a crop breaks the pixel rule (the message names the first offending index).
    """
    x = _real_crops(images, name)
    if not allow_empty and len(x) == 0:
        msg = f"{name}: holds no crops, expected an array of shape (N, 32, 32, 2) with N >= 1"
        raise InputError(msg)
    for start in range(0, len(x), _CHECK_BLOCK):
        check_images(x[start : start + _CHECK_BLOCK], name=name, first_index=start)
    return np.ascontiguousarray(x, dtype=np.float32)


def _real_crops(images: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    """``images`` as an array of real numbers of shape (N, 32, 32, 2), in its own dtype (see :func:`as_crops`)."""
    if getattr(images, "requires_grad", False) is True:
        msg = f"{name}: a tensor that requires grad; pass {name}.detach() (features are not differentiable)"
        raise InputError(msg)
    try:
        x = np.asarray(images)
    except (TypeError, ValueError, RuntimeError) as err:  # a tensor on a GPU, ragged nesting, ...
        msg = f"{name}: cannot be read as an array of shape (N, 32, 32, 2) ({shorten(err)})"
        raise InputError(msg) from None
    if x.dtype.kind not in "fiu":
        msg = f"{name}: expected real numbers (float32 crops), got dtype {x.dtype}"
        raise InputError(msg)
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        msg = f"{name}: expected shape (N, 32, 32, 2), got {x.shape}; pass a batch of crops in the CMS layout"
        raise InputError(msg)
    return x


def take(values: npt.NDArray[ScalarT], index: IndexArray, *, missing: float = np.nan) -> npt.NDArray[ScalarT]:
    """``values[index]`` per event, ``missing`` where ``index`` is -1, in the dtype of ``values``.

    Integer values (hit indices, with ``missing=-1``) stay integers, also when ``values`` is empty (a block
    without a single local maximum), so the result can index again.
    """
    if values.size == 0:
        return np.full(index.shape, missing, dtype=values.dtype)
    taken: npt.NDArray[ScalarT] = np.where(index >= 0, values[np.maximum(index, 0)], missing).astype(values.dtype)
    return taken
