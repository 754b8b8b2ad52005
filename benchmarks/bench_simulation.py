#!/usr/bin/env python
"""Benchmark the fast simulation: events per second per class, in memory and written to HDF5.

Usage::

    python benchmarks/bench_simulation.py [--n 100000] [--seed 0] [--out DIR]

Prints the throughput of :func:`egid.simulation.simulate_events` (without writing) for electrons, photons and charged
pions, the pions' cost per event relative to e/gamma's (limit 3x), the machine, and the wall time of
:func:`egid.simulation.write_sample` (both e/gamma classes to lzf-compressed HDF5). The target is 100k events per
class in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from egid.simulation import PARTICLES, iter_chunks, write_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="events per class (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default: 0)")
    parser.add_argument("--out", type=Path, help="where write_sample writes (default: a temporary directory)")
    args = parser.parse_args(argv)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__} on the CPU, no GPU"
    )
    cpu_per_event: dict[str, float] = {}
    for particle in PARTICLES:
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in iter_chunks(args.n, particle=particle, seed=args.seed):
            pass
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        cpu_per_event[particle] = cpu / args.n
        print(
            f"simulate {particle}s: {args.n} events in {wall:.1f} s wall ({cpu:.1f} s CPU): "
            f"{args.n / wall:.0f} events/s"
        )
    egamma = 0.5 * (cpu_per_event["electron"] + cpu_per_event["photon"])
    print(f"pion cost per event (CPU time): {cpu_per_event['pion'] / egamma:.2f}x e/gamma (limit 3x)")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        start = time.perf_counter()
        write_sample(out, args.n, seed=args.seed)
        wall = time.perf_counter() - start
    print(
        f"write_sample: {args.n} events per class (both classes, HDF5 lzf) in {wall:.1f} s: "
        f"{2 * args.n / wall:.0f} events/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
