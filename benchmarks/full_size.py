#!/usr/bin/env python
"""Run the whole job at the real dataset's size and print wall time per step and peak memory.

Usage::

    python benchmarks/full_size.py [--n-per-class 249000] [--trials 12] [--out reports/runs/full-size]

It simulates (or reuses from the cache) 249k electrons and 249k photons, the size of the public CMS files
(498k images, about 4 GB as float32), runs ``egid run`` on them with the default settings, and prints the
``timings.json`` of the run beside the targets of the performance record: peak memory under 8 GiB, the whole
run with the CNN under 60 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from egid.pipelines.run import main as egid


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=249_000)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--out", default="reports/runs/full-size")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="further options for egid run")
    args = parser.parse_args(argv)
    status = egid(
        ["run", "--n-per-class", str(args.n_per_class), "--trials", str(args.trials), "--out", args.out, *args.extra]
    )
    if status != 0:
        return status
    timings = json.loads((Path(args.out) / "timings.json").read_text())
    metrics = json.loads((Path(args.out) / "metrics.json").read_text())
    print(f"\nfull-size run: {2 * args.n_per_class} events on {platform.processor() or platform.machine()}")
    for step, seconds in timings["seconds"].items():
        print(f"  {step:<26} {seconds:8.1f} s")
    print(f"  {'total':<26} {timings['total_seconds']:8.1f} s  (target < 3600 s)")
    print(f"  {'peak memory':<26} {timings['peak_memory_gib']:8.2f} GiB (target < 8 GiB)")
    for model, result in metrics["results"].items():
        test = result["splits"]["test"]
        print(f"  test AUC {model:<14} {test['auc']:.4f} +- {test['auc_std']:.4f} ({test['n_events']} events)")
    return 0


if __name__ == "__main__":
    sys.exit(run())
