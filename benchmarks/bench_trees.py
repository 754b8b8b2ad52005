#!/usr/bin/env python
"""Print boosted-tree training time and inference throughput: native LightGBM, XGBoost and their ONNX graphs.

Usage::

    python benchmarks/bench_trees.py [--rows 100000] [--features 40] [--rounds 300] [--threads 2]

The table is synthetic (scikit-learn's ``make_classification``, float32, 5% NaN in a quarter of the columns),
shaped like egid's feature table with the stacked CNN score: ``--features`` columns, ``--rows`` events split
70/15/15 into train, validation and test. Each model trains ``--rounds`` rounds with default parameters (no
early stopping, the per-round logloss/AUC/accuracy on both samples included, as in a real fit). Throughput is
the best of ``--repeats`` passes over all rows, in one batch; latency is the median of single-event calls.
Figures depend heavily on the machine and on what else runs on it: state both when quoting them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score

from egid.models.export import OnnxTreeScorer, onnx_path, to_onnx
from egid.models.trees import TREE_KINDS, fit_tree_model


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="events in the table (default 100000)")
    parser.add_argument("--features", type=int, default=40, help="feature columns (default 40)")
    parser.add_argument("--rounds", type=int, default=300, help="boosting rounds (default 300)")
    parser.add_argument("--threads", type=int, default=2, help="training threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="inference passes; the best counts (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the table and the models (default 0)")
    return parser.parse_args(argv)


def _table(rows: int, features: int, seed: int) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=rows,
        n_features=features,
        n_informative=max(2, features // 3),
        n_redundant=features // 8,
        flip_y=0.05,
        random_state=seed,
    )
    table = pd.DataFrame(X.astype(np.float32), columns=[f"feature_{i:02d}" for i in range(features)])
    rng = np.random.default_rng(seed)
    for column in table.columns[: features // 4]:
        table.loc[rng.random(rows) < 0.05, column] = np.nan
    return table.assign(label=y.astype(np.float32))


def _best_time(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def _latency_us(call: Callable[[pd.DataFrame], object], rows: pd.DataFrame, n: int = 200) -> float:
    times = np.empty(n)
    for i in range(n):
        one = rows.iloc[i : i + 1]
        start = time.perf_counter()
        call(one)
        times[i] = time.perf_counter() - start
    return float(np.median(times) * 1e6)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING)
    table = _table(args.rows, args.features, args.seed)
    features = table.drop(columns="label")
    a, b = int(0.70 * len(table)), int(0.85 * len(table))
    X_train, X_val, X_test = features[:a], features[a:b], features[b:]
    y_train, y_val, y_test = table["label"][:a], table["label"][a:b], table["label"][b:]
    print(f"table: {len(table)} rows x {args.features} features (train {a}, validation {b - a}, test {len(table) - b})")
    print(
        f"training: {args.rounds} rounds, default parameters, {args.threads} threads; "
        "inference: the boosters keep those threads, onnxruntime uses every core"
    )
    print(f"{'model':<18} {'train s':>8} {'test AUC':>9} {'rows/s':>12} {'1-row latency':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        for kind in TREE_KINDS:
            start = time.perf_counter()
            model = fit_tree_model(
                kind,
                X_train,
                y_train,
                X_val,
                y_val,
                max_rounds=args.rounds,
                early_stopping_rounds=None,
                seed=args.seed,
                n_jobs=args.threads,
            )
            train_s = time.perf_counter() - start
            auc = roc_auc_score(y_test, model.predict(X_test))
            native_s = _best_time(partial(model.predict, features), args.repeats)
            latency = _latency_us(model.predict, X_test)
            rate = len(features) / native_s
            print(f"{kind + ' native':<18} {train_s:>8.1f} {auc:>9.4f} {rate:>12,.0f} {latency:>11.0f} us")
            if to_onnx(model, onnx_path(Path(scratch), kind), check_X=X_test) is None:
                print(f"{kind + ' ONNX':<18} parity check failed, no ONNX timing")
                continue
            scorer = OnnxTreeScorer(onnx_path(Path(scratch), kind))
            onnx_s = _best_time(partial(scorer.predict, features), args.repeats)
            onnx_auc = roc_auc_score(y_test, scorer.predict(X_test))
            latency = _latency_us(scorer.predict, X_test)
            print(f"{kind + ' ONNX':<18} {'':>8} {onnx_auc:>9.4f} {len(features) / onnx_s:>12,.0f} {latency:>11.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
