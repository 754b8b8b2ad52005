#!/usr/bin/env python
"""Print Optuna tuning throughput on a quiet machine and beside one and two CPU-bound competitors.

Usage::

    python benchmarks/bench_contention.py [--n-per-class 6000] [--trials 8] [--competitors 0 1 2]

Each measurement tunes LightGBM for ``--trials`` trials on the training split of the embedded simulation
(``--n-per-class`` electrons and photons, features cached in ``--cache-dir``), while ``k`` single-threaded
busy loops (``python -c "while True: pass"``) run beside it, the situation of a shared login or batch node.
Two thread policies are compared, each with every competitor count:

* ``all cores``: every fit uses every core this process may run on (egid's behaviour before adaptive threads);
* ``adaptive``: each fit takes the cores the other jobs leave idle (:func:`egid.models.cpu.threads_for_next_fit`,
  the default of ``egid run``).

The table gives trials per minute and its ratio to the quiet machine's, for each policy. The issue's target:
beside two competitors at least a third of the quiet rate (a fair share of 2 cores among 3-4 jobs is about
half). Figures depend on the machine and on whatever else runs there: state both when quoting them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import optuna

from egid.detector import load_dataset, stratified_split
from egid.features import FEATURE_NAMES, cached_table
from egid.models.cpu import usable_cores
from egid.models.tuning import tune
from egid.models.tuning_settings import TuningSettings
from egid.simulation import default_sample

POLICIES = {"all cores": usable_cores(), "adaptive": None}
"""Policy name -> TuningSettings.n_jobs."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=6000, help="simulated events per class (default 6000)")
    parser.add_argument("--trials", type=int, default=8, help="trials per measurement (default 8)")
    parser.add_argument("--competitors", type=int, nargs="+", default=[0, 1, 2], help="busy loops (default 0 1 2)")
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--cache-dir", default=".egid-cache", help="simulation and feature cache (default .egid-cache)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


@contextmanager
def _competitors(n: int) -> Iterator[None]:
    """``n`` single-threaded CPU-bound processes for the duration of the block."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(1.0 if n else 0.0)  # let the scheduler see them before the first fit asks
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    electrons, photons = default_sample(args.n_per_class, seed=args.seed, cache_dir=args.cache_dir)
    dataset = load_dataset(electrons=electrons, photons=photons)
    table = cached_table(dataset, cache_dir=os.path.join(args.cache_dir, "features"), progress=False)
    split = stratified_split(dataset.labels, seed=args.seed)
    x, y = table[list(FEATURE_NAMES)], table["label"].to_numpy()
    print(
        f"{args.trials} LightGBM trials on {len(split.train)} training events; {usable_cores()} usable cores, "
        f"{platform.machine()} {platform.processor() or ''}, load before start {os.getloadavg()[0]:.2f}"
    )
    print(f"{'policy':<10} {'competitors':>11} {'seconds':>8} {'trials/min':>10} {'vs quiet':>8}")
    for policy in args.policies:
        quiet_rate = None
        for n in args.competitors:
            settings = TuningSettings(n_trials=args.trials, seed=args.seed, n_jobs=POLICIES[policy])
            with tempfile.TemporaryDirectory() as out, _competitors(n):
                start = time.perf_counter()
                tune(
                    "lightgbm",
                    x.iloc[split.train],
                    y[split.train],
                    x.iloc[split.validation],
                    y[split.validation],
                    settings,
                    out_dir=out,
                )
                seconds = time.perf_counter() - start
            rate = 60 * args.trials / seconds
            quiet_rate = rate if n == 0 else quiet_rate
            ratio = f"{rate / quiet_rate:8.2f}" if quiet_rate else f"{'-':>8}"
            print(f"{policy:<10} {n:>11} {seconds:8.1f} {rate:10.2f} {ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
