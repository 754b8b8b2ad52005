#!/usr/bin/env python
"""Print feature-extraction throughput: in memory, and from an lzf HDF5 file next to the time of only reading it.

Usage::

    python benchmarks/bench_features.py [--events 100000] [--file-events 50000] [--source FILE] [--repeats 3]

The crops are real showers: the 200 Geant4 events of ``tests/data/g4_slice.hdf5`` (or the events of
``--source``, a file in the CMS layout), repeated to ``--events``. *In memory* times the feature code
(:func:`egid.features.registry.crop_columns`) over the whole array in 8192-image chunks, as
:func:`egid.features.extract_table` does on crops the reader has checked, and then
:func:`egid.features.build_table`, which applies the input rule (:func:`egid.detector.check_images`) first.
*HDF5* writes ``--file-events`` of them to a temporary lzf file with :class:`egid.detector.EventWriter` and times
(1) reading ``X`` with h5py alone, (2) streaming the validated images with ``EventDataset.iter_images`` and
(3) the full :func:`egid.features.extract_table`, (4) the same with the three-class feature set
(:data:`egid.features.THREE_CLASS_FEATURES`) and (5) a verified cache hit of :func:`egid.features.cached_table`
(fingerprint, digest, label and spot checks). Each figure is the best of ``--repeats`` runs (wall clock; CPU
time in brackets). Figures depend heavily on the machine and on what else runs on it: state both when quoting.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from egid.detector import DEFAULT_CHUNK, EventWriter, load_dataset
from egid.features import FEATURE_NAMES, THREE_CLASS_FEATURES, build_table, cached_table, extract_table
from egid.features.registry import crop_columns

G4_SLICE = Path(__file__).resolve().parents[1] / "tests" / "data" / "g4_slice.hdf5"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="images in memory (default 100000)")
    parser.add_argument("--file-events", type=int, default=50_000, help="images in the HDF5 file (default 50000)")
    parser.add_argument("--source", type=Path, default=G4_SLICE, help="file of showers to repeat (default: G4 slice)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts (default 3)")
    return parser.parse_args(argv)


def _best(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def _repeat(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    reps = -(-n // len(images))
    return np.tile(images, (reps, 1, 1, 1))[:n], np.tile(labels, reps)[:n]


def _in_memory(images: np.ndarray, table: Callable[[np.ndarray], object] = crop_columns) -> None:
    for start in range(0, len(images), DEFAULT_CHUNK):
        table(images[start : start + DEFAULT_CHUNK])


def _read_only(path: Path) -> None:
    with h5py.File(path, "r") as f:
        x = f["X"]
        for start in range(0, x.shape[0], DEFAULT_CHUNK):
            x[start : start + DEFAULT_CHUNK]


def _stream(path: Path) -> None:
    for _ in load_dataset(data=path).iter_images():
        pass


def _three_class(path: Path) -> None:
    extract_table(load_dataset(data=path), names=THREE_CLASS_FEATURES, progress=False)


def _cache_hit(path: Path, cache: Path) -> None:
    cached_table(load_dataset(data=path), cache_dir=cache, progress=False)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    source = load_dataset(data=args.source)
    images, labels = source.read_images(), source.labels
    print(f"{len(FEATURE_NAMES)} features; showers from {args.source} ({len(images)} events, repeated)")

    memory, _ = _repeat(images, labels, args.events)
    _in_memory(memory[:DEFAULT_CHUNK])  # warm-up
    wall, cpu = _best(lambda: _in_memory(memory), args.repeats)
    print(f"in memory : {args.events} images in {wall:.3f} s (cpu {cpu:.3f} s) = {args.events / wall:,.0f} images/s")
    wall, cpu = _best(lambda: _in_memory(memory, build_table), args.repeats)
    print(f"build_table (checked): {wall:.3f} s (cpu {cpu:.3f} s) = {args.events / wall:,.0f} images/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.hdf5"
        x, y = _repeat(images, labels, args.file_events)
        with EventWriter(path) as writer:
            writer.append(x, y)
        n, size = args.file_events, path.stat().st_size / 2**20
        print(f"HDF5 file : {n} images, lzf, {size:.1f} MiB")
        rows = [
            ("read X only (h5py)", _best(lambda: _read_only(path), args.repeats)),
            ("read + validate (iter_images)", _best(lambda: _stream(path), args.repeats)),
            ("extract_table", _best(lambda: extract_table(load_dataset(data=path), progress=False), args.repeats)),
            ("extract_table, three-class set", _best(lambda: _three_class(path), args.repeats)),
        ]
        cache = Path(tmp) / "cache"
        cached_table(load_dataset(data=path), cache_dir=cache, progress=False)  # the entry the hits below verify
        rows.append(("verified cache hit", _best(lambda: _cache_hit(path, cache), args.repeats)))
        read_wall, read_cpu = rows[0][1]
        for name, (wall, cpu) in rows:
            print(
                f"  {name:30s} {wall:7.3f} s (cpu {cpu:6.3f} s) {n / wall:>9,.0f} images/s"
                f"  x{wall / read_wall:.2f} of read-only (cpu x{cpu / read_cpu:.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
