"""Feature tables of whole datasets: streamed chunk by chunk with a progress bar, and cached as parquet.

The cache key is the dataset's content fingerprint (file bytes and event selection, not file names) plus
:data:`~egid.features.registry.FEATURE_SET_VERSION`, so a rerun on the same data skips the extraction and a changed
feature set never reuses stale columns.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from egid.detector import DEFAULT_CHUNK, EventDataset, InputError, atomic_path
from egid.features.registry import FEATURE_NAMES, FEATURE_SET_VERSION, TABLE_DTYPE, compute_columns

__all__ = (
    "LABEL_COLUMN",
    "assemble_table",
    "cache_path",
    "cached_table",
    "check_extra_names",
    "extract_table",
    "prefetched",
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

LABEL_COLUMN = "label"
"""Name of the class-label column (1.0 electron, 0.0 photon) that follows the feature columns."""


def extract_table(dataset: EventDataset, *, chunk_size: int = DEFAULT_CHUNK, progress: bool = True) -> pd.DataFrame:
    """Compute the feature table of every event of ``dataset``, streaming its images in chunks.

    Parameters
    ----------
    dataset : EventDataset
        The events, in dataset order.
    chunk_size : int
        Images per chunk (8192 images = 64 MiB of float32 crops).
    progress : bool
        Show a tqdm progress bar (only on a terminal).

    Returns
    -------
    table : DataFrame of shape (len(dataset), n_features + 1 + n_extras)
        The :data:`~egid.features.registry.FEATURE_NAMES` columns (float32), then ``label``, then the dataset's
        per-event extras (for example ``eta``, ``converted``) in the dataset's order.

    Raises
    ------
    InputError
        A file is unreadable or holds invalid crops, or one of its extras is named like a table column.
    """
    check_extra_names(dataset)
    n = len(dataset)
    columns = {name: np.empty(n, dtype=TABLE_DTYPE) for name in FEATURE_NAMES}
    with tqdm(total=n, unit="img", desc="features", disable=None if progress else True) as bar:
        for start, images in prefetched(dataset.iter_images(chunk_size=chunk_size)):
            for name, values in compute_columns(images).items():
                columns[name][start : start + len(images)] = values
            bar.update(len(images))
    return assemble_table(dataset, columns)


def assemble_table(dataset: EventDataset, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The feature table of ``dataset`` from its feature ``columns`` (each of shape (len(dataset),), in order).

    Adds ``label`` and the dataset's extras after the features, and logs how many features are undefined (NaN)
    for some events; :func:`extract_table` and the parallel extraction both end here, so their tables agree.
    """
    n = len(dataset)
    undefined = [name for name in FEATURE_NAMES if np.isnan(columns[name]).any()]
    logger.info(
        "features: %d events x %d features, %d of them undefined (NaN) for some events",
        n,
        len(FEATURE_NAMES),
        len(undefined),
    )
    logger.debug("features undefined for some events: %s", ", ".join(undefined))
    table = {name: columns[name] for name in FEATURE_NAMES} | {LABEL_COLUMN: dataset.labels} | dataset.extras
    return pd.DataFrame(table, copy=False)


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """Yield ``items`` while a background thread already produces the next one.

    Reading a chunk of crops is mostly lzf decompression inside h5py, which releases the GIL, so the next chunk
    is read while the features of this one are computed. An exception of the producer is re-raised here; when
    the consumer stops early, the producer stops too (and closes ``items``).
    """
    slot: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                slot.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((False, item)):
                    break
            else:
                offer((True, None))
        except BaseException as err:  # handed to the consumer, which re-raises it
            offer((True, err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="egid-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            finished, value = slot.get()
            if finished:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def check_extra_names(dataset: EventDataset) -> None:
    """Raise InputError when a per-event extra of ``dataset`` has the name of a feature-table column."""
    taken = {*FEATURE_NAMES, LABEL_COLUMN}
    for key in dataset.extras:
        if key in taken:
            msg = f"{', '.join(dataset.paths)}: per-event dataset '{key}' has the name of a feature-table column"
            raise InputError(msg)


def cache_path(dataset: EventDataset, cache_dir: str | os.PathLike[str]) -> Path:
    """The parquet file that caches ``dataset``'s table: named by content fingerprint and feature-set version."""
    return Path(cache_dir) / f"features-v{FEATURE_SET_VERSION}-{dataset.fingerprint()}.parquet"


def cached_table(dataset: EventDataset, *, cache_dir: str | os.PathLike[str], progress: bool = True) -> pd.DataFrame:
    """Return ``dataset``'s feature table from the parquet cache, extracting and caching it on a miss.

    The file is written atomically; an unreadable or inconsistent cache file is recomputed and replaced.

    Parameters
    ----------
    dataset : EventDataset
        The events.
    cache_dir : path-like
        Folder of the cache files (created if missing).
    progress : bool
        Show a progress bar while extracting.
    """
    path = cache_path(dataset, cache_dir)
    if path.exists():
        table = _read_cache(path, len(dataset))
        if table is not None:
            logger.info("features: cache hit %s", path)
            return table
    table = extract_table(dataset, progress=progress)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    logger.info("features: cached %d events in %s", len(table), path)
    return table


def _read_cache(path: Path, n_events: int) -> pd.DataFrame | None:
    """The cached table, or None (with a warning) when the file cannot be used."""
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        logger.warning("features: ignoring unreadable cache %s (%s)", path, err)
        return None
    if tuple(table.columns[: len(FEATURE_NAMES)]) != FEATURE_NAMES or len(table) != n_events:
        logger.warning("features: ignoring cache %s whose columns or length do not match", path)
        return None
    return table
