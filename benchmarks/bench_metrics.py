#!/usr/bin/env python
"""Print the time of the run's metrics: DeLong's AUC variance, and compute_metrics on a full-size score table.

Usage::

    python benchmarks/bench_metrics.py [--events 500000] [--models 5] [--repeats 3]

The scores are synthetic (two overlapping Gaussians per model, mapped to probabilities), split 70/15/15 with
|eta| uniform up to 1.2, the size of the public CMS sample (2 x 249k events). Times:
(1) :func:`egid.evaluation.delong.delong_covariance` of all models on the test split (the O(k N log N) midrank
algorithm), next to sklearn's ``roc_auc_score`` for the same models; (2) the whole
:func:`egid.evaluation.metrics.compute_metrics` (every split, working points, three |eta| bins, paired comparisons).
Each figure is the best of ``--repeats`` runs (wall clock; CPU time in brackets). Figures depend heavily on the
machine and on what else runs on it: state both when quoting.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from egid.evaluation.delong import delong_covariance
from egid.evaluation.metrics import compute_metrics


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000, help="events in the score table (default 500000)")
    parser.add_argument("--models", type=int, default=5, help="score columns (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts (default 3)")
    return parser.parse_args(argv)


def _best(func: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def _scores(events: int, models: int) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(0)
    labels = (rng.random(events) < 0.5).astype(np.float64)
    table = {
        "label": labels,
        "split": rng.choice(np.array(["train", "validation", "test"]), events, p=[0.7, 0.15, 0.15]),
        "eta": rng.uniform(-1.2, 1.2, events),
    }
    names = [f"model{k}" for k in range(models)]
    for k, name in enumerate(names):
        table[name] = 1.0 / (1.0 + np.exp(-rng.normal((1.0 + 0.2 * k) * (labels - 0.5), 1.0)))
    return pd.DataFrame(table), names


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scores, names = _scores(args.events, args.models)
    test = scores[scores["split"] == "test"]
    labels, matrix = test["label"].to_numpy(), test[names].to_numpy().T
    print(f"{args.events} events, {args.models} models, test split {len(test)} events")
    wall, cpu = _best(lambda: delong_covariance(labels, matrix), args.repeats)
    print(f"DeLong AUCs + covariance, test split : {wall:7.3f} s ({cpu:.3f} s CPU)")
    wall, cpu = _best(lambda: [roc_auc_score(labels, row) for row in matrix], args.repeats)
    print(f"sklearn roc_auc_score, test split    : {wall:7.3f} s ({cpu:.3f} s CPU)")
    wall, cpu = _best(lambda: compute_metrics(scores, names), args.repeats)
    print(f"compute_metrics, all splits          : {wall:7.3f} s ({cpu:.3f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
