#!/usr/bin/env python
"""Print tuning trials per minute with 1 and 2 ``egid tune`` workers, and feature extraction serial vs Dask.

Usage::

    python benchmarks/bench_cluster.py [--events-per-class 2000] [--trials 6] [--files 4] [--file-events 20000]

*Tuning*: ``--trials`` trials of each tree study on a simulated sample (``egid.simulation.write_sample``), once
with one ``egid tune`` worker and once with two at the same time, all on one journal-file storage (no server
needed; the workers' code is the same as on PostgreSQL). The figure is finished trials of both studies per
minute of wall clock, worker start-up (imports, cached features) included.
*Extraction*: ``--files`` simulated files per class of ``--file-events`` events each, as
:func:`egid.features.extract_table` in this process and as :func:`egid.features.distributed.extract_distributed`
on a local cluster of 2 worker processes (cluster start-up not counted). Figures depend heavily on the machine
and on what else runs on it: state both when quoting.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from egid.detector import load_dataset
from egid.features import extract_table
from egid.features.distributed import dask_client, extract_distributed
from egid.models import TREE_KINDS
from egid.models.cpu import usable_cores
from egid.models.storage import open_storage
from egid.simulation import write_sample


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-class", type=int, default=2000, help="events per class to tune on")
    parser.add_argument("--trials", type=int, default=6, help="trials per tree study (default 6)")
    parser.add_argument("--files", type=int, default=4, help="files per class to extract (default 4)")
    parser.add_argument("--file-events", type=int, default=20_000, help="events per file (default 20000)")
    return parser.parse_args(argv)


def _trials_per_minute(electrons: Path, photons: Path, trials: int, workers: int, folder: Path) -> float:
    journal = folder / f"bench-{workers}.journal"
    command = [sys.executable, "-m", "egid.pipelines.run", "tune", "--electrons", str(electrons), "--photons",
               str(photons), "--cache-dir", str(folder / "cache"), "--storage", str(journal), "--study-name", "bench",
               "--trials", str(trials)]  # fmt: skip
    start = time.perf_counter()
    running = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    for process in running:
        if process.wait(timeout=3600) != 0:
            raise SystemExit(f"egid tune failed with status {process.returncode}")
    minutes = (time.perf_counter() - start) / 60
    store, _, _ = open_storage(str(journal), folder)
    finished = sum(
        t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        for kind in TREE_KINDS
        for t in optuna.load_study(study_name=f"bench-{kind}", storage=store).trials
    )
    return finished / minutes


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    cores = usable_cores()
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores available, {platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="egid-bench-") as tmp:
        folder = Path(tmp)
        electrons, photons = write_sample(folder / "tune", args.events_per_class, seed=1)
        # A first worker alone fills the feature cache, so both measurements start from cached features.
        _trials_per_minute(electrons, photons, 1, 1, folder)
        for workers in (1, 2):
            rate = _trials_per_minute(electrons, photons, args.trials, workers, folder)
            print(f"tuning, {workers} worker(s): {rate:.1f} finished trials per minute ({args.trials} per study)")
        files = [write_sample(folder / f"x{i}", args.file_events, seed=10 + i) for i in range(args.files)]
        dataset = load_dataset(electrons=[e for e, _ in files], photons=[p for _, p in files])
        start = time.perf_counter()
        serial = extract_table(dataset, progress=False)
        rate = len(dataset) / (time.perf_counter() - start)
        print(f"extraction, serial: {rate:,.0f} images/s ({len(dataset)} images)")
        with dask_client(workers=2) as client:
            start = time.perf_counter()
            parallel = extract_distributed(dataset, client=client)
            rate = len(dataset) / (time.perf_counter() - start)
        print(f"extraction, LocalCluster of 2 processes: {rate:,.0f} images/s, same table: {parallel.equals(serial)}")


if __name__ == "__main__":
    main()
