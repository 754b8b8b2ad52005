#!/usr/bin/env python
"""Run the whole job at the real dataset's size and print wall time per step and peak memory.

Usage::

    python benchmarks/full_size.py [--n-per-class 249000] [--trials 12] [--out reports/runs/full-size]

It simulates (or reuses from the cache) 249k electrons and 249k photons, the size of the public CMS files
(498k images, about 4 GB as float32), runs ``egid run`` on them with the default settings, and prints the
``timings.json`` of the run: wall time per step, the total, peak memory and every model's test AUC.
``benchmarks/speed_targets.py`` sets these figures beside the performance targets.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from egid.pipelines.run import main as egid
from egid.pipelines.timing import TIMINGS_FILE


def timed_run(n_per_class: int, out: str, extra: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``egid run`` on ``n_per_class`` simulated events per class into ``out``; its timings and metrics."""
    status = egid(["run", "--events-per-class", str(n_per_class), "--out-dir", out, *extra])
    if status != 0:
        msg = f"egid run exited with status {status}"
        raise SystemExit(msg)
    return json.loads((Path(out) / TIMINGS_FILE).read_text()), json.loads((Path(out) / "metrics.json").read_text())


def print_run(n_per_class: int, timings: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Wall time per step, total, peak memory and test AUCs of one run."""
    print(f"\negid run: {2 * n_per_class} events on {platform.processor() or platform.machine()}")
    for step, seconds in timings["seconds"].items():
        print(f"  {step:<26} {seconds:8.1f} s")
    print(f"  {'total':<26} {timings['total_seconds']:8.1f} s")
    print(f"  {'peak memory':<26} {timings['peak_memory_gib']:8.2f} GiB")
    for model, result in metrics["results"].items():
        test = result["splits"]["test"]
        print(f"  test AUC {model:<14} {test['auc']:.4f} +- {test['auc_std']:.4f} ({test['n_events']} events)")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-class", type=int, default=249_000)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--out", default="reports/runs/full-size")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="further options for egid run")
    args = parser.parse_args(argv)
    timings, metrics = timed_run(args.n_per_class, args.out, ["--trials", str(args.trials), *args.extra])
    print_run(args.n_per_class, timings, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(run())
