#!/usr/bin/env python
"""Print the serving speed of compiled C (tl2cgen) next to native LightGBM, XGBoost and onnxruntime.

Usage::

    python benchmarks/bench_deploy.py [--features 40] [--rounds 200] [--threads 1]

A synthetic table (scikit-learn's ``make_classification``, float32, 5% NaN in a quarter of the columns) trains
one LightGBM and one XGBoost model of ``--rounds`` trees (default parameters). Each is then scored by its native
booster, its egid ONNX graph (onnxruntime) and its tl2cgen shared library, for batches of 1, 100 and 100 000
candidates: rows/s and microseconds per candidate, best of a few repeats (median of many calls for small
batches). Figures depend heavily on the machine and what else runs on it; print and quote them with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from egid.deploy.compiled import compile_tree_model
from egid.models.export import OnnxTreeScorer, to_onnx
from egid.models.trees import TREE_KINDS, fit_tree_model

BATCHES = (1, 100, 100_000)


def _table(n: int, features: int, seed: int) -> pd.DataFrame:
    X, y = make_classification(n_samples=n, n_features=features, n_informative=features // 2, random_state=seed)
    table = pd.DataFrame(X.astype(np.float32), columns=[f"x{i}" for i in range(features)])
    rng = np.random.default_rng(seed)
    for column in table.columns[: features // 4]:
        table.loc[rng.random(n) < 0.05, column] = np.nan
    return table.assign(label=y.astype(np.float32))


def _seconds_per_call(score: Callable[[pd.DataFrame], object], batch: pd.DataFrame) -> float:
    calls = max(1, 2000 // len(batch)) if len(batch) < 1000 else 3
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        score(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times) if len(batch) < 1000 else np.min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="threads of every scorer")
    args = parser.parse_args()
    train, test = _table(40_000, args.features, 0), _table(max(BATCHES), args.features, 1)
    X_train, X_test = train.drop(columns="label"), test.drop(columns="label")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared and noisy)")
    print(f"{args.features} features, {args.rounds} trees, {args.threads} thread(s)")
    print(f"{'model':<9} {'scorer':<12} {'batch':>7} {'rows/s':>12} {'us/candidate':>13}")
    with tempfile.TemporaryDirectory() as scratch:
        for kind in TREE_KINDS:
            model = fit_tree_model(
                kind, X_train, train["label"], X_test[:5000], test["label"][:5000],
                max_rounds=args.rounds, early_stopping_rounds=None, n_jobs=args.threads,
            )  # fmt: skip
            onnx_file = to_onnx(model, Path(scratch) / f"{kind}.onnx", check_X=X_test[:5000])
            library = compile_tree_model(model, Path(scratch) / f"{kind}.so", n_threads=args.threads)
            scorers: dict[str, Callable[[pd.DataFrame], object]] = {
                "native": model.predict,
                "tl2cgen C": library.predict,
            }
            if onnx_file is not None:
                scorers["onnxruntime"] = OnnxTreeScorer(onnx_file).predict
            for name, score in scorers.items():
                for batch in BATCHES:
                    seconds = _seconds_per_call(score, X_test[:batch])
                    print(f"{kind:<9} {name:<12} {batch:>7} {batch / seconds:>12.3g} {1e6 * seconds / batch:>13.3g}")


if __name__ == "__main__":
    main()
