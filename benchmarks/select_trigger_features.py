#!/usr/bin/env python
"""Rank the 5x5-window features for the trigger-sized model by greedy forward selection on validation AUC.

Usage::

    python benchmarks/select_trigger_features.py [--n-per-class 30000] [--steps 12] [--threads 1]

On the embedded simulation's default sample (simulated and its features cached under ``--cache-dir`` on first
use) and the run's seeded train/validation split, it starts from no feature and, at each step, adds the window
feature (:data:`egid.features.WINDOW_FEATURES`) whose addition gives the highest validation AUC of an XGBoost
model of the trigger's shape: 100 trees of depth 4 at the default learning rate 0.1, no early stopping. The test
split is never read. It prints each step's feature and AUC, and for reference the same model on all window
features and on every feature; :data:`egid.models.trigger.TriggerLimits` records the choice made from it.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
from sklearn.metrics import roc_auc_score

from egid.detector import load_dataset, stratified_split
from egid.features import FEATURE_NAMES, WINDOW_FEATURES, cached_table
from egid.models import XGBoostParams, fit_tree_model
from egid.simulation import default_sample

TREES, DEPTH = 100, 4


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=30_000, help="simulated events per class (default 30000)")
    parser.add_argument("--steps", type=int, default=12, help="features to add (default 12)")
    parser.add_argument("--threads", type=int, default=1, help="threads of each fit (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample, the split and the fits (default 0)")
    parser.add_argument("--cache-dir", default=".egid-cache", help="sample and feature cache (default .egid-cache)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    electrons, photons = default_sample(args.n_per_class, seed=args.seed, cache_dir=args.cache_dir)
    dataset = load_dataset(electrons=[str(electrons)], photons=[str(photons)], seed=args.seed)
    table = cached_table(dataset, cache_dir=f"{args.cache_dir}/features", progress=False)
    split = stratified_split(dataset.labels, seed=args.seed)
    train, val = table.iloc[split.train], table.iloc[split.validation]
    y_train, y_val = dataset.labels[split.train], dataset.labels[split.validation]

    def auc(columns: list[str]) -> float:
        model = fit_tree_model(
            "xgboost",
            train[columns],
            y_train,
            val[columns],
            y_val,
            params=XGBoostParams(max_depth=DEPTH),
            max_rounds=TREES,
            early_stopping_rounds=None,
            seed=args.seed,
            n_jobs=args.threads,
        )
        return float(roc_auc_score(y_val, model.predict(val)))

    start = time.perf_counter()
    print(f"{len(split.train)} training and {len(split.validation)} validation events; {TREES} trees of depth {DEPTH}")
    print(f"all {len(WINDOW_FEATURES)} window features: validation AUC {auc(list(WINDOW_FEATURES)):.4f}")
    print(f"all {len(FEATURE_NAMES)} features: validation AUC {auc(list(FEATURE_NAMES)):.4f}")
    chosen: list[str] = []
    rows = []
    for step in range(1, min(args.steps, len(WINDOW_FEATURES)) + 1):
        trials = {name: auc([*chosen, name]) for name in WINDOW_FEATURES if name not in chosen}
        best = max(trials, key=lambda name: trials[name])
        chosen.append(best)
        runner_up = sorted(trials.values())[-2] if len(trials) > 1 else float("nan")
        rows.append({"step": step, "added": best, "validation_auc": trials[best], "runner_up_auc": runner_up})
        print(f"step {step:2d}: + {best:<22s} AUC {trials[best]:.4f} (next best {runner_up:.4f})", flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
