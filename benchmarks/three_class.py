#!/usr/bin/env python
"""Cross-validate egid's three-class (electron / photon / charged pion) trees and print the threshold study.

Usage::

    python benchmarks/three_class.py [--geant4 DIR | --electrons E --photons P --pions PI] [--per-class N]
        [--folds K] [--trials N] [--thresholds 0 10 20 30] [--threads N] [--seed S] [--out table.json]

Data: the Geant4 reference folder (``DIR/{electron,photon,pion}.hdf5``, default ``../shared/data/g4_reference``,
2000 events per class) or per-class files, the first ``--per-class`` events of each.

Method: stratified K-fold cross-validation (:func:`egid.detector.stratified_folds`, drawn once on all events).
For fold ``k`` the test events are fold ``k``, early stopping watches fold ``k + 1`` and the rest train. The
hyperparameters of each library are tuned once, by Optuna on the validation multiclass log-loss
(:func:`egid.models.tuning.tune_and_fit`, ``--trials`` trials, class-balanced), on fold 0's training and
validation events, and kept for every fold and threshold (tuning inside every fold and threshold would cost
``folds x thresholds`` times as much). Per threshold ``T`` on the summed crop energy (``e_sum``, GeV, the sum over
the 32 x 32 crop, kept when ``>= T``):

* *one model*: the fold's model trained on every event, scored on its test events above ``T``;
* *retrained*: a model trained and early-stopped on the fold's events above ``T``, scored on its test events
  above ``T`` (the published procedure).

The held-out predictions of all folds are pooled; printed per threshold, model and mode: the events kept, the
accuracy, the balanced accuracy, the pion efficiency at 99 % e/gamma efficiency (score ``p_e + p_gamma``) and the
electron-vs-photon AUC from ``p_e / (p_e + p_gamma)`` (:mod:`egid.evaluation.three_class_metrics`), beside the
published ranges (a different simulation). The machine is printed: figures and timings depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from egid.detector import InputError, load_dataset, stratified_folds
from egid.detector.split import Split
from egid.evaluation.three_class_metrics import three_class_metrics
from egid.evaluation.threshold_study import (
    DEFAULT_THRESHOLDS_GEV,
    ENERGY_COLUMN,
    PUBLISHED_ACCURACY,
    above_threshold,
    check_thresholds,
)
from egid.features import extract_table
from egid.models.boosters import TREE_KINDS
from egid.models.cpu import usable_cores
from egid.models.three_class import N_CLASSES, fit_three_class, three_class_features
from egid.models.trees import TreeModel, class_balance_weights, fit_tree_model
from egid.models.tuning import TuningSettings

DEFAULT_G4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "g4_reference"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geant4", type=Path, default=DEFAULT_G4, help="folder of electron/photon/pion.hdf5")
    parser.add_argument("--electrons", type=Path)
    parser.add_argument("--photons", type=Path)
    parser.add_argument("--pions", type=Path)
    parser.add_argument("--per-class", type=int, default=2000)
    parser.add_argument("--folds", type=int, default=5, help="at least 3: test, validation and training folds")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(DEFAULT_THRESHOLDS_GEV))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    if args.folds < 3:
        parser.error(
            f"--folds: expected at least 3 (each fold needs test, validation and training folds), got {args.folds}"
        )
    try:
        args.thresholds = list(check_thresholds(args.thresholds))
    except InputError as err:
        parser.error(str(err))
    return args


def _machine(threads: int) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores ({usable_cores()} usable, "
        f"{threads} threads per fit), no GPU, load {load:.1f}, Python {sys.version.split()[0]}"
    )


def _fold_split(folds: np.ndarray, k: int, n_folds: int) -> Split:
    validation = (k + 1) % n_folds
    return Split(
        train=np.flatnonzero((folds != k) & (folds != validation)),
        validation=np.flatnonzero(folds == validation),
        test=np.flatnonzero(folds == k),
    )


def _refit(model: TreeModel, table: pd.DataFrame, y: np.ndarray, split: Split, threads: int) -> TreeModel:
    columns = list(model.feature_names)
    return fit_tree_model(
        model.kind,
        table.iloc[split.train][columns],
        y[split.train],
        table.iloc[split.validation][columns],
        y[split.validation],
        params=model.params,
        seed=model.seed,
        n_jobs=threads,
        n_classes=N_CLASSES,
        train_weights=class_balance_weights(y[split.train]),
        validation_weights=class_balance_weights(y[split.validation]),
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would bury the table
    threads = args.threads or usable_cores()
    print(f"machine: {_machine(threads)}")
    files = (
        (args.electrons, args.photons, args.pions)
        if args.electrons
        else tuple(args.geant4 / f"{name}.hdf5" for name in ("electron", "photon", "pion"))
    )
    dataset = load_dataset(
        electrons=files[0], photons=files[1], pions=files[2], max_events=3 * args.per_class, seed=args.seed
    )
    y = dataset.labels.astype(np.float64)
    started = time.perf_counter()
    table = extract_table(dataset, names=three_class_features(), progress=False)
    print(f"data: {', '.join(dataset.paths)}; {len(y)} events; features {time.perf_counter() - started:.0f} s")
    energy = table[ENERGY_COLUMN].to_numpy()
    folds = stratified_folds(y, n_folds=args.folds, seed=args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tuning_dir:
        settings = TuningSettings(n_trials=args.trials, seed=args.seed, n_jobs=threads)
        tuned = fit_three_class(table, y, _fold_split(folds, 0, args.folds), settings, tuning_dir=tuning_dir)
    print(f"tuning ({args.trials} trials per library, fold 0): {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    pooled: dict[tuple[str, str, float], tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for k in range(args.folds):
        split = _fold_split(folds, k, args.folds)
        for kind in TREE_KINDS:
            everything = _refit(tuned[kind], table, y, split, threads)
            test_probabilities = everything.predict(table.iloc[split.test])
            for threshold in args.thresholds:
                keep = above_threshold(energy, threshold)
                cut = Split(*(part[keep[part]] for part in (split.train, split.validation, split.test)))
                one_model = (split.test[keep[split.test]], test_probabilities[keep[split.test]])
                # a threshold that removes no event (T = 0 on crops that all hold energy) retrains the same model
                removes = cut.train.size + cut.validation.size < split.train.size + split.validation.size
                retrained = None
                if removes:
                    retrained = _refit(tuned[kind], table, y, cut, threads).predict(table.iloc[cut.test])
                entries = {
                    "one model": one_model,
                    "retrained": one_model if retrained is None else (cut.test, retrained),
                }
                for mode, (rows, probabilities) in entries.items():
                    pooled_labels, pooled_scores = pooled.setdefault((kind, mode, threshold), ([], []))
                    pooled_labels.append(y[rows])
                    pooled_scores.append(probabilities)
    elapsed = time.perf_counter() - started
    print(f"cross-validation ({args.folds} folds x {len(args.thresholds)} thresholds): {elapsed:.0f} s")
    results = []
    for (name, mode, threshold), (labels, scores) in pooled.items():
        metrics = three_class_metrics(np.concatenate(labels), np.concatenate(scores))
        results.append(
            {
                "threshold_gev": threshold,
                "model": name,
                "mode": mode,
                "events": sum(metrics["n_events"].values()),
                "accuracy": metrics["accuracy"],
                "balanced_accuracy": metrics["balanced_accuracy"],
                "pion_eff_at_99": metrics["pion_efficiency_at_egamma_efficiency"]["0.99"],
                "e_vs_gamma_auc": metrics["electron_vs_photon_auc"]["auc"],
                "egamma_vs_pion_auc": metrics["egamma_vs_pion_auc"]["auc"],
            }
        )
    frame = pd.DataFrame(results).sort_values(["mode", "model", "threshold_gev"], ignore_index=True)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"threshold rule: events kept when the summed crop energy ({ENERGY_COLUMN}, 32 x 32, GeV) >= T (egid's)")
    published = ", ".join(f"{name} {low:.3f}-{high:.3f}" for name, (low, high) in PUBLISHED_ACCURACY.items())
    print(f"published 3-class accuracy over T = 0-30 GeV (a different simulation): {published}")
    print(f"machine: {_machine(threads)}")
    if args.out:
        args.out.write_text(json.dumps({"machine": _machine(threads), "rows": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
