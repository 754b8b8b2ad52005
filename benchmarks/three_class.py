#!/usr/bin/env python
"""Cross-validate egid's three-class (electron / photon / charged pion) trees and print the threshold study.

Usage::

    python benchmarks/three_class.py [--geant4 DIR | --electrons E --photons P --pions PI] [--per-class N]
        [--folds K] [--trials N] [--thresholds 0 10 20 30] [--train-simulated N] [--threads N] [--seed S]
        [--out table.json]

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

Two comparisons follow on the same events:

* **binary** -- egid's binary electron/photon models (the e/gamma feature set, tuned the same way on fold 0's
  electrons and photons, refitted per fold) against the three-class models' ``p_e / (p_e + p_gamma)``: the
  electron-vs-photon AUC of both on the pooled held-out electrons and photons;
* **transfer** (``--train-simulated N``) -- the three-class models tuned and trained on ``N`` events per class of
  egid's own simulation (seed ``--seed``, 70/15/15 split; retrained above each threshold on the simulated events
  above it) and tested on every event of the data, beside the models cross-validated on the data: what a model
  that never saw the data loses.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from sklearn.metrics import roc_auc_score

from egid.detector import InputError, load_dataset, stratified_folds, stratified_split
from egid.detector.split import Split
from egid.evaluation.three_class_metrics import three_class_metrics
from egid.evaluation.threshold_study import (
    DEFAULT_THRESHOLDS_GEV,
    ENERGY_COLUMN,
    PUBLISHED_ACCURACY,
    above_threshold,
    check_thresholds,
)
from egid.features import FEATURE_NAMES, extract_table
from egid.models.boosters import TREE_KINDS
from egid.models.cpu import usable_cores
from egid.models.refit import refit_balanced, refit_subset
from egid.models.three_class import N_CLASSES, fit_three_class, three_class_features
from egid.models.trees import TreeModel
from egid.models.tuning import TuningSettings, tune_and_fit
from egid.simulation import write_sample

DEFAULT_G4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "g4_reference"
DATA = "data (CV)"
SIMULATION = "egid simulation"


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
    parser.add_argument(
        "--train-simulated", type=int, metavar="N", help="also train on N simulated events per class, test on the data"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    if args.train_simulated is not None and args.train_simulated < 100:
        parser.error(f"--train-simulated: expected at least 100 events per class, got {args.train_simulated}")
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


def _refit_above(
    model: TreeModel, table: pd.DataFrame, y: np.ndarray, split: Split, keep: np.ndarray, settings: TuningSettings
) -> TreeModel:
    """``model`` refitted on the training and validation events of ``split`` that ``keep`` keeps; ``model`` itself
    when it keeps all of them (:func:`egid.models.refit.refit_subset`)."""
    train, validation = split.train[keep[split.train]], split.validation[keep[split.validation]]
    return refit_subset(model, table, y, split, train, validation, settings)


def _pooled_rows(
    pooled: dict[tuple[str, str, str, float], tuple[list[np.ndarray], list[np.ndarray]]],
) -> list[dict[str, object]]:
    """One row of metrics per (trained on, model, mode, threshold) of the pooled held-out predictions."""
    results = []
    for (origin, name, mode, threshold), (labels, scores) in pooled.items():
        metrics = three_class_metrics(np.concatenate(labels), np.concatenate(scores))
        results.append(
            {
                "trained_on": origin,
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
    return results


def _binary_models(
    table: pd.DataFrame, y: np.ndarray, folds: np.ndarray, n_folds: int, settings: TuningSettings
) -> dict[str, np.ndarray]:
    """egid's binary electron/photon models cross-validated on the electrons and photons of the same folds: each
    kind's held-out electron probability of every e/gamma event (NaN for pions)."""
    egamma = np.flatnonzero(y < 2)
    columns = list(FEATURE_NAMES)
    scores: dict[str, np.ndarray] = {kind: np.full(len(y), np.nan) for kind in TREE_KINDS}
    with tempfile.TemporaryDirectory() as tuning_dir:
        first = _fold_split(folds, 0, n_folds)
        train, validation = (np.intersect1d(part, egamma) for part in (first.train, first.validation))
        tuned = {
            kind: tune_and_fit(
                kind,
                table.iloc[train][columns],
                y[train],
                table.iloc[validation][columns],
                y[validation],
                dataclasses.replace(settings, study_name=f"binary-{kind}"),
                out_dir=tuning_dir,
            )
            for kind in TREE_KINDS
        }
    for k in range(n_folds):
        split = _fold_split(folds, k, n_folds)
        train, validation, test = (np.intersect1d(part, egamma) for part in (split.train, split.validation, split.test))
        for kind, model in tuned.items():
            # class-balanced: the folds hold as many electrons as photons to within an event, weights 1 to 1e-3
            scores[kind][test] = refit_balanced(model, table, y, train, validation, settings).predict(table.iloc[test])
    return scores


def _simulated_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The three-class feature table and labels of ``n`` events per class of egid's simulation."""
    with tempfile.TemporaryDirectory() as folder:
        electrons, photons, pions = write_sample(Path(folder), n, seed=seed, particles=("electron", "photon", "pion"))
        simulated = load_dataset(electrons=electrons, photons=photons, pions=pions)
        table = extract_table(simulated, names=three_class_features(), progress=False)
    return table, simulated.labels.astype(np.float64)


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
    pooled: dict[tuple[str, str, str, float], tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def add(origin: str, kind: str, mode: str, threshold: float, rows: np.ndarray, probabilities: np.ndarray) -> None:
        pooled_labels, pooled_scores = pooled.setdefault((origin, kind, mode, threshold), ([], []))
        pooled_labels.append(y[rows])
        pooled_scores.append(probabilities)

    held_out = {kind: np.full((len(y), N_CLASSES), np.nan) for kind in TREE_KINDS}  # column k: label k
    for k in range(args.folds):
        split = _fold_split(folds, k, args.folds)
        for kind in TREE_KINDS:
            everything = refit_balanced(tuned[kind], table, y, split.train, split.validation, settings)
            test_probabilities = everything.predict(table.iloc[split.test])
            held_out[kind][split.test] = test_probabilities
            for threshold in args.thresholds:
                keep = above_threshold(energy, threshold)
                test = split.test[keep[split.test]]
                add(DATA, kind, "one model", threshold, test, test_probabilities[keep[split.test]])
                retrained = _refit_above(everything, table, y, split, keep, settings)
                add(DATA, kind, "retrained", threshold, test, retrained.predict(table.iloc[test]))
    elapsed = time.perf_counter() - started
    print(f"cross-validation ({args.folds} folds x {len(args.thresholds)} thresholds): {elapsed:.0f} s")
    if args.train_simulated:
        started = time.perf_counter()
        simulated, y_simulated = _simulated_table(args.train_simulated, args.seed)
        simulated_split = stratified_split(y_simulated, seed=args.seed)
        simulated_energy = simulated[ENERGY_COLUMN].to_numpy()
        with tempfile.TemporaryDirectory() as tuning_dir:
            on_simulation = fit_three_class(simulated, y_simulated, simulated_split, settings, tuning_dir=tuning_dir)
        every = np.arange(len(y))
        for name, model in on_simulation.items():
            probabilities = model.predict(table)
            for threshold in args.thresholds:
                keep = above_threshold(energy, threshold)
                add(SIMULATION, name, "one model", threshold, every[keep], probabilities[keep])
                above = above_threshold(simulated_energy, threshold)
                retrained = _refit_above(model, simulated, y_simulated, simulated_split, above, settings)
                add(SIMULATION, name, "retrained", threshold, every[keep], retrained.predict(table.iloc[every[keep]]))
        print(f"transfer ({args.train_simulated} simulated events per class): {time.perf_counter() - started:.0f} s")
    results = _pooled_rows(pooled)
    frame = pd.DataFrame(results).sort_values(["trained_on", "mode", "model", "threshold_gev"], ignore_index=True)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.train_simulated:
        pivot = frame.pivot_table(index=["mode", "model", "threshold_gev"], columns="trained_on", values="accuracy")
        pivot["loss"] = pivot[DATA] - pivot[SIMULATION]
        print("three-class accuracy on the data, trained on the data (cross-validated) or on egid's simulation:")
        print(pivot.to_string(float_format=lambda v: f"{v:.4f}"))
    binary = _binary_models(table, y, folds, args.folds, settings)
    egamma = y < 2
    print("electron vs photon AUC on the same held-out electrons and photons (all of them):")
    for kind in TREE_KINDS:
        auc = roc_auc_score(y[egamma], binary[kind][egamma])
        three_auc = three_class_metrics(y, held_out[kind])["electron_vs_photon_auc"]["auc"]
        print(f"  {kind}: binary {auc:.4f}, three-class p_e / (p_e + p_gamma) {three_auc:.4f}", end="")
        print(f", difference {three_auc - auc:+.4f}")
        results.append({"trained_on": DATA, "model": kind, "binary_e_vs_gamma_auc": auc, "three_class": three_auc})
    print(f"threshold rule: events kept when the summed crop energy ({ENERGY_COLUMN}, 32 x 32, GeV) >= T (egid's)")
    published = ", ".join(f"{name} {low:.3f}-{high:.3f}" for name, (low, high) in PUBLISHED_ACCURACY.items())
    print(f"published 3-class accuracy over T = 0-30 GeV (a different simulation): {published}")
    print(f"machine: {_machine(threads)}")
    if args.out:
        args.out.write_text(json.dumps({"machine": _machine(threads), "rows": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
