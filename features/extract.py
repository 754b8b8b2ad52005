"""Feature tables of whole datasets: streamed chunk by chunk with a progress bar, and cached as verified parquet.

A cache entry is named by the dataset's content fingerprint (file bytes and event selection, not file names) and
the version of its feature set (:func:`~egid.features.registry.feature_set_version`), so a rerun on the same data
skips the extraction and a changed feature set never reuses stale columns. Every entry is verified before use
(see :func:`cached_table`): a damaged or altered entry is reported in one warning line and recomputed, never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import queue
import stat
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from egid.detector import DEFAULT_CHUNK, EventDataset, InputError, atomic_path
from egid.detector.errors import shorten
from egid.features.registry import FEATURE_NAMES, REGISTRY, TABLE_DTYPE, crop_columns, feature_set_version

__all__ = (
    "CACHE_FORMAT",
    "LABEL_COLUMN",
    "SPOT_CHECK_EVENTS",
    "assemble_table",
    "cache_path",
    "cached_table",
    "check_extra_names",
    "digest_path",
    "extract_table",
    "prefetched",
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

LABEL_COLUMN = "label"
"""Name of the class-label column (the files' ``y``: 1.0 electron, 0.0 photon) that follows the feature columns."""

CACHE_FORMAT = "egid-feature-cache/1"
"""Layout of a cache entry (parquet table plus JSON digest file); entries of another layout are recomputed."""

SPOT_CHECK_EVENTS = 64
"""Events of a cache entry recomputed from the input files on every read (in runs of 16 consecutive events at
random places), to catch feature values altered behind a consistent digest."""

_SPOT_RUN = 16


def extract_table(
    dataset: EventDataset,
    *,
    names: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: bool = True,
) -> pd.DataFrame:
    """Compute the feature table of every event of ``dataset``, streaming its images in chunks.

    Parameters
    ----------
    dataset : EventDataset
        The events, in dataset order.
    names : sequence of str, optional
        The feature columns, in order; default :data:`~egid.features.registry.FEATURE_NAMES` (the
        electron/photon set; :data:`~egid.features.registry.THREE_CLASS_FEATURES` adds the hadronic features).
    chunk_size : int
        Images per chunk (8192 images = 64 MiB of float32 crops).
    progress : bool
        Show a tqdm progress bar (only on a terminal).

    Returns
    -------
    table : DataFrame of shape (len(dataset), len(names) + 1 + n_extras)
        The feature columns (float32), then ``label``, then the dataset's per-event extras (for example
        ``eta``, ``converted``) in the dataset's order.

    Raises
    ------
    KeyError
        A name is not registered.
    InputError
        A file is unreadable or holds invalid crops, or one of its extras is named like a table column.
    """
    wanted = _names(names)
    check_extra_names(dataset)
    n = len(dataset)
    columns = {name: np.empty(n, dtype=TABLE_DTYPE) for name in wanted}
    with tqdm(total=n, unit="img", desc="features", disable=None if progress else True) as bar:
        for start, images in prefetched(dataset.iter_images(chunk_size=chunk_size)):
            # The reader has applied the pixel rule to every block (check_images) already.
            for name, values in crop_columns(images, wanted).items():
                columns[name][start : start + len(images)] = values
            bar.update(len(images))
    return assemble_table(dataset, columns, names=wanted)


def assemble_table(
    dataset: EventDataset, columns: Mapping[str, np.ndarray], *, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The feature table of ``dataset`` from its feature ``columns`` (each of shape (len(dataset),), in order).

    Adds ``label`` and the dataset's extras after the features ``names`` (default
    :data:`~egid.features.registry.FEATURE_NAMES`) and logs how many features are undefined (NaN) for some
    events; :func:`extract_table` and the parallel extraction both end here, so their tables agree.
    """
    wanted = _names(names)
    undefined = [name for name in wanted if np.isnan(columns[name]).any()]
    logger.info(
        "features: %d events x %d features, %d of them undefined (NaN) for some events",
        len(dataset),
        len(wanted),
        len(undefined),
    )
    logger.debug("features undefined for some events: %s", ", ".join(undefined))
    table = {name: columns[name] for name in wanted} | {LABEL_COLUMN: dataset.labels} | dataset.extras
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
    """Raise InputError when a per-event extra of ``dataset`` has the name of a (registered) feature or the label."""
    taken = {*REGISTRY, LABEL_COLUMN}
    for key in dataset.extras:
        if key in taken:
            msg = f"{', '.join(dataset.paths)}: per-event dataset '{key}' has the name of a feature-table column"
            raise InputError(msg)


def cache_path(dataset: EventDataset, cache_dir: str | os.PathLike[str], *, names: Sequence[str] | None = None) -> Path:
    """The parquet file that caches ``dataset``'s table: named by content fingerprint and feature-set version."""
    version = feature_set_version(_names(names))
    return Path(cache_dir) / f"features-v{version}-{dataset.fingerprint()}.parquet"


def digest_path(path: Path) -> Path:
    """The JSON digest file written beside (and after) the cache entry ``path``."""
    return path.with_name(f"{path.name}.digest.json")


def cached_table(
    dataset: EventDataset,
    *,
    cache_dir: str | os.PathLike[str],
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Return ``dataset``'s feature table from the parquet cache, extracting and caching it on a miss.

    An entry is two files in ``cache_dir``: the parquet table ``features-v<version>-<fingerprint>.parquet``
    (:func:`cache_path`) and, written after it, its digest file ``<that name>.digest.json`` (:func:`digest_path`)
    holding the entry's layout (:data:`CACHE_FORMAT`), the dataset fingerprint, the feature-set version, the
    column names, the row count and a SHA-256 over those fields and the parquet bytes. Each is written to a
    temporary file in ``cache_dir`` and renamed, so a crash or a concurrent writer never leaves a half-written
    file, and two processes writing the same entry write the same bytes.

    Before an entry is used, all of these must hold, else one warning line names the file and the problem and
    the table is recomputed and the entry rewritten:

    - the digest file is readable and matches this dataset, feature set, column list and row count;
    - the SHA-256 of the parquet bytes as read (one read: verified bytes are the bytes parsed) matches;
    - the table has the expected columns in order, one row per event and float32 features;
    - its ``label`` column and extras equal the dataset's, row by row (they come from the input files);
    - the features of :data:`SPOT_CHECK_EVENTS` events at random places equal a fresh computation.

    The digest catches damage (flipped bytes, truncation, a file from another dataset or version); the label
    and spot checks catch an entry rewritten together with a recomputed digest (inverted labels, shuffled rows,
    a feature column changed on many events), which no digest stored next to the data can. A change of a few
    events' features behind a consistent digest is caught only when the spot check samples them.

    A cache path (or ``cache_dir``) that exists but is not a regular file (a directory, a pipe, a device) or
    cannot be read or written is reported in one warning line and the table is computed without the cache:
    the cache only saves time, and nothing is created or removed in its place.

    Parameters
    ----------
    dataset : EventDataset
        The events.
    cache_dir : path-like
        Folder of the cache files (created if missing).
    names : sequence of str, optional
        The feature columns, as for :func:`extract_table`; each feature set has its own entry.
    progress : bool
        Show a progress bar while extracting.

    Raises
    ------
    InputError
        As :func:`extract_table`.
    """
    wanted = _names(names)
    path = cache_path(dataset, cache_dir, names=wanted)
    blocked = _blocked(Path(cache_dir), path, digest_path(path))
    if blocked is not None:
        logger.warning("features: not caching in %s: %s; computing without the cache", *blocked)
        return extract_table(dataset, names=wanted, progress=progress)
    if path.exists():
        table, problem = _verified(path, dataset, wanted)
        if table is not None:
            logger.info("features: cache hit %s (verified)", path)
            return table
        logger.warning("features: not using cache %s: %s; recomputing it", path, problem)
    table = extract_table(dataset, names=wanted, progress=progress)
    _write(path, table, dataset, wanted)
    return table


def _names(names: Sequence[str] | None) -> tuple[str, ...]:
    return FEATURE_NAMES if names is None else tuple(names)


def _blocked(cache_dir: Path, *paths: Path) -> tuple[Path, str] | None:
    """The first of ``cache_dir`` and ``paths`` that exists as the wrong kind of file (or cannot be examined)."""
    for path, wanted, noun in ((cache_dir, stat.S_ISDIR, "a folder"), *((p, stat.S_ISREG, "a file") for p in paths)):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        except OSError as err:  # permission denied, a link loop, a file where a folder should be
            return path, f"cannot examine it ({err.strerror or err})"
        if not wanted(mode):
            return path, f"it exists but is {_describe(mode)}, not {noun}"
    return None


def _describe(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a regular file"), (stat.S_ISFIFO, "a pipe"))
    return next((noun for test, noun in kinds if test(mode)), "a special file")


def _header(dataset: EventDataset, names: tuple[str, ...], columns: list[str], rows: int) -> dict[str, Any]:
    """The fields of a digest file that the entry must match, besides its SHA-256."""
    return {
        "format": CACHE_FORMAT,
        "dataset": dataset.fingerprint(),
        "feature_set_version": feature_set_version(names),
        "columns": columns,
        "rows": rows,
    }


def _sha256(header: Mapping[str, Any], content: bytes) -> str:
    """SHA-256 of the canonical JSON of ``header`` and the parquet bytes: the digest ties the bytes to their
    dataset and feature set, so an entry copied under another name or into another version fails too."""
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    digest.update(b"\n")
    digest.update(content)
    return digest.hexdigest()


def _expected_columns(dataset: EventDataset, names: tuple[str, ...]) -> list[str]:
    return [*names, LABEL_COLUMN, *dataset.extras]


def _write(path: Path, table: pd.DataFrame, dataset: EventDataset, names: tuple[str, ...]) -> None:
    """Write the entry: the parquet table, then its digest file, each to a temporary file renamed into place."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    content = buffer.getvalue()
    header = _header(dataset, names, [str(c) for c in table.columns], len(table))
    document = json.dumps({**header, "sha256": _sha256(header, content)}, indent=1) + "\n"
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
        with atomic_path(digest_path(path)) as tmp:
            tmp.write_text(document)
    except OSError as err:
        logger.warning("features: could not write cache %s (%s); continuing without it", path, err.strerror or err)
        return
    logger.info("features: cached %d events in %s", len(table), path)


def _verified(path: Path, dataset: EventDataset, names: tuple[str, ...]) -> tuple[pd.DataFrame | None, str]:
    """The cached table if every check of :func:`cached_table` passes, else None and the first problem found."""
    expected = _header(dataset, names, _expected_columns(dataset, names), len(dataset))
    try:
        document = json.loads(digest_path(path).read_text())
    except FileNotFoundError:
        return None, f"its digest file {digest_path(path).name} is missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"its digest file is unreadable ({shorten(err)})"
    if not isinstance(document, dict) or not isinstance(document.get("sha256"), str):
        return None, "its digest file is not an egid digest"
    for key, value in expected.items():
        if document.get(key) != value:
            return None, f"its digest file records another {key.replace('_', ' ')}"
    try:
        content = path.read_bytes()
    except OSError as err:
        return None, f"it cannot be read ({err.strerror or err})"
    if _sha256(expected, content) != document["sha256"]:
        return None, "its SHA-256 does not match the digest file (damaged or changed after it was written)"
    try:
        table = pd.read_parquet(io.BytesIO(content))
    except (OSError, ValueError, pa.ArrowException) as err:
        return None, f"it is not a readable parquet table ({shorten(err)})"
    problem = _content_problem(table, dataset, names)
    return (None, problem) if problem else (table, "")


def _content_problem(table: pd.DataFrame, dataset: EventDataset, names: tuple[str, ...]) -> str:
    """What is wrong with a parsed cached ``table`` for ``dataset`` (empty when nothing is)."""
    if [str(c) for c in table.columns] != _expected_columns(dataset, names):
        return "its columns differ from the feature set's"
    if len(table) != len(dataset):
        return f"it has {len(table)} rows, the dataset {len(dataset)} events"
    wrong_dtype = next((name for name in names if table[name].dtype != TABLE_DTYPE), None)
    if wrong_dtype is not None:
        return f"its column '{wrong_dtype}' is {table[wrong_dtype].dtype}, not {np.dtype(TABLE_DTYPE)}"
    for name, values in {LABEL_COLUMN: dataset.labels, **dataset.extras}.items():
        differs = _differs(table[name].to_numpy(), values)
        if differs.any():
            return (
                f"its '{name}' column differs from the input files' at {int(differs.sum())} events "
                f"(first at index {int(np.argmax(differs))})"
            )
    return _spot_check(table, dataset, names)


def _differs(a: np.ndarray, b: np.ndarray) -> npt.NDArray[np.bool_]:
    """Element-wise ``a != b`` where NaN equals NaN."""
    same: npt.NDArray[np.bool_] = np.equal(a, b) | (_isnan(a) & _isnan(b))
    return ~same


def _isnan(values: np.ndarray) -> npt.NDArray[np.bool_]:
    return np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, dtype=bool)


def _spot_check(table: pd.DataFrame, dataset: EventDataset, names: tuple[str, ...]) -> str:
    """Recompute the features of :data:`SPOT_CHECK_EVENTS` events from the files and compare them with ``table``.

    The events are runs of consecutive ones (each run is read as one slice of the file) at places drawn from
    the operating system's entropy, so which events are checked cannot be known in advance.
    """
    n = len(dataset)
    if n == 0:
        return ""
    rng = np.random.default_rng()
    starts = rng.integers(0, max(n - _SPOT_RUN, 0) + 1, size=-(-SPOT_CHECK_EVENTS // _SPOT_RUN))
    events = np.unique(np.minimum(starts[:, None] + np.arange(_SPOT_RUN), n - 1))
    runs = np.split(events, np.flatnonzero(np.diff(events) > 1) + 1)
    images = np.concatenate([dataset.read_images(run) for run in runs])
    fresh = crop_columns(images, names)
    for name in names:
        differs = _differs(table[name].to_numpy()[events], fresh[name])
        if differs.any():
            return f"its '{name}' column differs from a fresh computation (first at index {events[np.argmax(differs)]})"
    return ""
