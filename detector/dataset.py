"""A labelled set of crops drawn from HDF5 files, streamed in chunks.

The real data come as one file per class (``--electrons FILE --photons FILE``, and ``--pions FILE`` for the
three-class electron/photon/charged-pion identification); a single file holding the classes (``--data FILE``)
works the same way. :class:`EventDataset` concatenates the selected events of its files in a fixed order
(electrons, photons, then pions) and never holds more than one chunk of images.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from egid.detector.atomic import file_digest
from egid.detector.errors import InputError, shorten
from egid.detector.hdf5 import EventFile
from egid.detector.schema import (
    CLASS_LABELS,
    ELECTRON,
    IMAGE_SHAPE,
    PHOTON,
    PION,
    Images,
    IndexArray,
    class_name,
)
from egid.detector.split import stratified_ranks

__all__ = (
    "DEFAULT_CHUNK",
    "EventDataset",
    "is_three_class",
    "load_dataset",
    "require_both_classes",
    "require_classes",
)

DEFAULT_CHUNK = 8192
"""Images per streamed block: 8192 x 32 x 32 x 2 float32 = 64 MiB."""


@dataclass(frozen=True)
class _Selection:
    file: EventFile
    indices: IndexArray  # sorted event indices within the file


class EventDataset:
    """Events selected from one or more :class:`~egid.detector.hdf5.EventFile` objects, in a fixed order.

    Attributes
    ----------
    labels : ndarray of shape (n_events,), float32
        1.0 electron, 0.0 photon, 2.0 charged pion.
    extras : dict of str to ndarray of shape (n_events,)
        Per-event extras. An extra present in only some files (``converted`` exists only for photons)
        is NaN for the events of the other files.
    """

    def __init__(self, selections: list[_Selection]) -> None:
        self._selections = selections
        self.labels = np.concatenate([s.file.read_labels(s.indices) for s in selections])
        self.extras = _merge_extras(selections)
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return int(self.labels.size)

    def parts(self) -> list[EventDataset]:
        """One dataset per file, in dataset order: the unit of parallel feature extraction and of its cache."""
        return [EventDataset([s]) for s in self._selections]

    @property
    def paths(self) -> list[str]:
        """The files the events come from."""
        return [str(s.file.path) for s in self._selections]

    @property
    def source(self) -> str:
        """The files, comma-separated and cut to 200 characters: how an error line names these events."""
        return shorten(", ".join(self.paths), 200)

    def iter_images(self, *, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[int, Images]]:
        """Yield ``(start, images)`` blocks covering every event in order; ``start`` is the dataset index."""
        offset = 0
        for s in self._selections:
            for block, images in s.file.iter_blocks(s.indices, chunk_size=chunk_size):
                yield offset, images
                offset += len(block)

    def read_images(self, indices: npt.ArrayLike | None = None, *, chunk_size: int = DEFAULT_CHUNK) -> Images:
        """Return the images at dataset ``indices`` (all when None) as one array, in the order given.

        Needs ``len(indices) x 8 KiB`` of memory; prefer :meth:`iter_images` for whole-dataset passes.
        """
        if indices is None:
            out = np.empty((len(self), *IMAGE_SHAPE), dtype=np.float32)
            for start, images in self.iter_images(chunk_size=chunk_size):
                out[start : start + len(images)] = images
            return out
        wanted = np.asarray(indices, dtype=np.int64)
        order = np.argsort(wanted, kind="stable")
        sorted_wanted = wanted[order]
        out = np.empty((wanted.size, *IMAGE_SHAPE), dtype=np.float32)
        offset = 0
        for s in self._selections:
            lo, hi = np.searchsorted(sorted_wanted, [offset, offset + len(s.indices)])
            if hi > lo:
                file_indices = s.indices[sorted_wanted[lo:hi] - offset]
                position = lo
                for block, images in s.file.iter_blocks(file_indices, chunk_size=chunk_size):
                    out[order[position : position + len(block)]] = images
                    position += len(block)
            offset += len(s.indices)
        return out

    def fingerprint(self) -> str:
        """A key that changes with the files' content and the event selection, not with file names.

        Computed once (it reads every byte of the files) and remembered.
        """
        if self._fingerprint is None:
            digest = hashlib.blake2b(digest_size=16)
            for s in self._selections:
                digest.update(file_digest(s.file.path).encode())
                digest.update(np.ascontiguousarray(s.indices).tobytes())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint


def _merge_extras(selections: list[_Selection]) -> dict[str, np.ndarray]:
    read = [s.file.read_extras(s.indices) for s in selections]
    keys = sorted({k for extras in read for k in extras})
    merged: dict[str, np.ndarray] = {}
    for key in keys:
        everywhere = all(key in extras for extras in read)
        parts = [
            extras[key] if key in extras else np.full(len(s.indices), np.nan, np.float32)
            for s, extras in zip(selections, read, strict=True)
        ]
        merged[key] = np.concatenate(parts) if everywhere else np.concatenate([p.astype(np.float32) for p in parts])
    return merged


PathArg = str | os.PathLike[str]


def load_dataset(
    *,
    electrons: PathArg | Sequence[PathArg] | None = None,
    photons: PathArg | Sequence[PathArg] | None = None,
    pions: PathArg | Sequence[PathArg] | None = None,
    data: str | os.PathLike[str] | None = None,
    max_events: int | None = None,
    seed: int = 0,
    labelled: bool = True,
) -> EventDataset:
    """Open and validate the input files.

    Parameters
    ----------
    electrons, photons : path-like or sequence of path-likes, optional
        The files of each class (the real CMS layout: one or more per class), concatenated in the order given;
        both must be given together.
    pions : path-like or sequence of path-likes, optional
        The charged-pion files (``y`` = 2.0 only), for the three-class identification; needs ``electrons`` and
        ``photons`` too.
    data : path-like, optional
        A single file that holds the classes: labels 0 and 1 (an electron/photon dataset) or 0, 1 and 2 (a
        three-class one). Exclusive with ``electrons``/``photons``/``pions``.
    max_events : int, optional
        Keep at most this many events in total: the first ``max_events // n_classes`` of each class (taken from
        its files in order; ``n_classes`` is 2, or 3 with ``pions``), or a seeded random subset stratified by
        label from a single file (which may be sorted by class).
    seed : int
        Seed of that subset.
    labelled : bool
        Whether a ``--data`` file must hold labels ``y``; False accepts unlabelled crops (NaN labels), as
        ``egid predict`` does.

    Raises
    ------
    InputError
        A file is missing or malformed, or the arguments do not name one valid layout.
    """
    if max_events is not None and max_events < 2:
        msg = f"--max-events: must be at least 2, got {max_events}"
        raise InputError(msg)
    if data is not None:
        if electrons is not None or photons is not None or pions is not None:
            msg = "--data: give either --data or --electrons/--photons (/--pions), not both"
            raise InputError(msg)
        file = EventFile(data, labelled=labelled)
        if not file.has_labels:
            return EventDataset([_Selection(file, np.arange(min(file.n_events, max_events or file.n_events)))])
        return EventDataset([_Selection(file, _stratified_subset(file, max_events, seed))])
    if electrons is None or photons is None:
        missing = "--photons" if photons is None else "--electrons"
        needed = " (with --pions too)" if pions is not None else ""
        msg = f"{missing}: both --electrons and --photons are needed{needed} (or a single --data file)"
        raise InputError(msg)
    per_class_files = [(ELECTRON, electrons), (PHOTON, photons)] + ([(PION, pions)] if pions is not None else [])
    if max_events is not None and max_events < len(per_class_files):
        msg = f"--max-events: must be at least {len(per_class_files)} (one event per class), got {max_events}"
        raise InputError(msg)
    per_class = None if max_events is None else max_events // len(per_class_files)
    return EventDataset(
        [
            selection
            for label, paths in per_class_files
            for selection in _first_events([EventFile(p, expected_label=label) for p in _path_list(paths)], per_class)
        ]
    )


def _path_list(value: PathArg | Sequence[PathArg]) -> list[PathArg]:
    return [value] if isinstance(value, str | os.PathLike) else list(value)


def _first_events(files: list[EventFile], limit: int | None) -> list[_Selection]:
    """The first ``limit`` events (all when None) of ``files`` read one after the other; untouched files dropped."""
    selections: list[_Selection] = []
    left = sum(f.n_events for f in files) if limit is None else limit
    for file in files:
        take = min(file.n_events, left)
        if take > 0 or not selections:
            selections.append(_Selection(file, np.arange(take)))
        left -= take
    return selections


def _stratified_subset(file: EventFile, max_events: int | None, seed: int) -> IndexArray:
    """:func:`~egid.detector.split.stratified_subsample` of the file's labels, chosen in two streamed passes.

    The first pass counts each class, the second maps the ranks :func:`~egid.detector.split.stratified_ranks`
    draws within each class to file rows, so memory grows with ``max_events`` and one block of labels, never with
    the number of rows the file declares; the events are those the in-memory subsample would pick.
    """
    if max_events is None or max_events >= file.n_events:
        return np.arange(file.n_events)
    counts = dict.fromkeys(sorted(CLASS_LABELS), 0)  # the order of np.unique, as the in-memory subsample
    for _, labels in file.iter_labels():
        for value in counts:
            counts[value] += int(np.count_nonzero(labels == value))
    values = [value for value, count in counts.items() if count]
    ranks = stratified_ranks([counts[value] for value in values], max_events, seed=seed)
    seen = dict.fromkeys(values, 0)
    chosen = []
    for start, labels in file.iter_labels():
        for value, value_ranks in zip(values, ranks, strict=True):
            members = start + np.flatnonzero(labels == value)
            lo, hi = np.searchsorted(value_ranks, [seen[value], seen[value] + members.size])
            chosen.append(members[value_ranks[lo:hi] - seen[value]])
            seen[value] += members.size
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def require_both_classes(labels: npt.NDArray[np.float32], *, name: str) -> None:
    """Raise InputError unless ``labels`` hold at least one electron and one photon."""
    for value in (ELECTRON, PHOTON):
        if not (labels == value).any():
            other = "electrons" if value == ELECTRON else "photons"
            msg = f"{name}: holds no {other}; training and evaluation need both classes"
            raise InputError(msg)


def is_three_class(labels: npt.NDArray[np.floating]) -> bool:
    """Whether ``labels`` hold a charged pion (label 2): the events are for the three-class identification."""
    return bool((np.asarray(labels) == PION).any())


def require_classes(labels: npt.NDArray[np.floating], *, name: str) -> None:
    """Raise InputError unless ``labels`` hold every class of their task.

    A dataset with a pion (label 2) is a three-class dataset and needs electrons, photons and pions; any other
    needs electrons and photons (:func:`require_both_classes`).
    """
    if not is_three_class(labels):
        require_both_classes(np.asarray(labels, dtype=np.float32), name=name)
        return
    missing = [f"{class_name(value)}s" for value in CLASS_LABELS if not (labels == value).any()]
    if missing:
        msg = f"{name}: holds no {' and no '.join(missing)}; the three-class training and evaluation need all three"
        raise InputError(msg)
