#!/usr/bin/env python
"""Train the published e/gamma/pi networks and egid on the same folds and print the 3-class accuracy per threshold.

Usage::

    python benchmarks/published_three_class.py (--electrons E --photons P --pions PI | --geant4 DIR
        | --simulated N) [--per-class N] [--folds K] [--thresholds 0,10,20,30] [--steps N] [--cnn-steps N]
        [--threads N] [--device cpu|cuda] [--seed S] [--out table.json]

Data: per-class HDF5 files (the first ``--per-class`` events of each), the Geant4 reference folder
(``DIR/{electron,photon,pion}.hdf5``, default 2000 per class), or ``--simulated N`` events per class from egid's
own simulation (:func:`egid.simulation.write_sample`, into a temporary folder removed afterwards).

Method, as the published study did it: for each threshold T (GeV), the events whose summed energy in the 28 x 28
window around the seed is below T are removed from training and test events alike (an event at exactly T is kept);
then, in a stratified K-fold cross-validation (folds drawn once, on all events, so a threshold only removes events
from them), each model trains on K - 1 folds and predicts the held-out one. The published networks
(``benchmarks/seed_networks.py``: shallow 784-10-10-3 and the CNN, Adam 1e-3, batches of 128, ``--steps``
optimiser steps, the study's 10,000 by default; ``--cnn-steps`` sets the CNN's alone) read the window's energy in
GeV. egid's column is a stand-in until egid's three-class models land: LightGBM multiclass with fixed settings
(:data:`STAND_IN_PARAMS`, no tuning, no stacked CNN) on ``egid.features.build_table(images,
names=THREE_CLASS_FEATURES)`` of the full 32 x 32 crops; it is labelled so in the table. No model weights the
classes: all are scored on accuracy, as the study was.

Printed per threshold: the events kept per class, and for each model the accuracy of the pooled held-out
predictions with the standard deviation over folds, the balanced accuracy (mean of the per-class
efficiencies), training seconds; beside them the published accuracy ranges over T = 0-30 GeV, which come from
the study's own simulation, not these events. The machine (CPU, usable cores, torch threads, device, load) is
printed before and after: the timings depend on it and on what else runs there.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score

# benchmarks/ is not a package: its sibling modules are found when this file runs as a script (its folder is
# sys.path[0]) and when a test puts the folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_models import machine_line
from seed_networks import PUBLISHED, predict_class_proba, published_input, train_steps, window_energy_gev

from egid.detector import InputError, atomic_path, load_dataset, stratified_folds
from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, Images
from egid.features import THREE_CLASS_FEATURES, build_table
from egid.models.cnn import configure_threads, resolve_device
from egid.models.cpu import threads_for_next_fit
from egid.simulation import write_sample

THRESHOLDS_GEV: Final = (0.0, 10.0, 20.0, 30.0)
"""The study's thresholds on the window energy sum, in GeV."""
PUBLISHED_ACCURACY: Final = {"shallow": (0.895, 0.904), "cnn": (0.914, 0.933)}
"""The study's 3-class accuracy range over its thresholds, on its own simulation (not egid's events)."""
DEFAULT_FOLDS: Final = 5
DEFAULT_PER_CLASS: Final = 2000
"""Events per class read from files: the Geant4 reference holds 2000 of each."""
EGID_STAND_IN: Final = "egid-lgbm*"
"""Name of egid's column while it is the stand-in (the asterisk is explained under the table)."""
STAND_IN_PARAMS: Final = {"n_estimators": 400, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20}
"""LightGBM settings of the stand-in: fixed, not tuned (egid's own runs tune them with Optuna)."""
PARTICLES: Final = ("electron", "photon", "pion")


@dataclass(frozen=True)
class Events:
    """The crops of a benchmark and their class indices (0 electron, 1 photon, 2 pion: :data:`CLASS_LABELS`)."""

    images: Images
    classes: npt.NDArray[np.int64]
    description: str


@dataclass(frozen=True)
class Cell:
    """One model at one threshold: pooled held-out accuracy, its spread over folds, balanced accuracy, time."""

    accuracy: float
    fold_std: float
    balanced_accuracy: float
    seconds: float


@dataclass(frozen=True)
class Row:
    """One threshold: the events kept per class (electron, photon, pion) and each model's cell."""

    threshold_gev: float
    kept: tuple[int, int, int]
    cells: dict[str, Cell]


def class_indices(labels: npt.NDArray[np.floating], *, name: str) -> npt.NDArray[np.int64]:
    """Map file labels (1.0 electron, 0.0 photon, 2.0 pion) to class indices 0, 1, 2; every class must be present.

    Raises
    ------
    InputError
        A class has no event.
    """
    classes = np.full(labels.shape, -1, dtype=np.int64)
    for k, value in enumerate(CLASS_LABELS):
        classes[labels == value] = k
    missing = [CLASS_NAMES[k] for k in range(len(CLASS_LABELS)) if not np.any(classes == k)]
    if missing:
        msg = f"{name}: no {', '.join(missing)} events; the three-class benchmark needs all three classes"
        raise InputError(msg)
    return classes


def above_threshold(energy_gev: npt.NDArray[np.floating], threshold_gev: float) -> npt.NDArray[np.bool_]:
    """Events the study keeps at ``threshold_gev``: window energy sum at least T (it removed those below T)."""
    return np.asarray(energy_gev) >= threshold_gev


@contextmanager
def open_events(args: argparse.Namespace) -> Iterator[Events]:
    """The benchmark's events from the files, the Geant4 folder or a fresh simulation (removed on exit)."""
    with tempfile.TemporaryDirectory(prefix="published_three_class_") as scratch:
        if args.simulated is not None:
            files = write_sample(Path(scratch), args.simulated, seed=args.seed, particles=PARTICLES)
            per_class, origin = args.simulated, f"egid simulation (seed {args.seed})"
        else:
            folder: Path | None = args.geant4
            files = (
                tuple(folder / f"{p}.hdf5" for p in PARTICLES) if folder else (args.electrons, args.photons, args.pions)
            )
            per_class, origin = args.per_class, (f"Geant4 reference {folder}" if folder else "files")
        electrons, photons, pions = files
        dataset = load_dataset(electrons=electrons, photons=photons, pions=pions, max_events=3 * per_class)
        classes = class_indices(dataset.labels, name=", ".join(map(str, files)))
        counts = "/".join(str(int(np.sum(classes == k))) for k in range(len(CLASS_LABELS)))
        yield Events(dataset.read_images(), classes, f"{origin}: {len(classes)} events (e/gamma/pi {counts})")


def fit_stand_in(features: pd.DataFrame, classes: npt.NDArray[np.int64], *, seed: int, threads: int) -> Any:
    """egid's stand-in: a LightGBM multiclass booster with :data:`STAND_IN_PARAMS` on the three-class features."""
    model = lgb.LGBMClassifier(
        objective="multiclass", random_state=seed, n_jobs=threads, verbose=-1, deterministic=True, **STAND_IN_PARAMS
    )
    return model.fit(features, classes)


def run_threshold(
    events: Events,
    features: pd.DataFrame,
    energy_gev: npt.NDArray[np.float64],
    folds: npt.NDArray[np.int64],
    threshold_gev: float,
    *,
    steps: dict[str, int],
    seed: int,
    threads: int,
    device: torch.device,
) -> Row:
    """Cross-validate every model on the events kept at ``threshold_gev``; one :class:`Row`."""
    keep = above_threshold(energy_gev, threshold_gev)
    names = [*PUBLISHED, EGID_STAND_IN]
    predicted = {name: np.full(len(keep), -1, dtype=np.int64) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    fold_accuracy: dict[str, list[float]] = {name: [] for name in names}
    for fold in np.unique(folds):
        train, test = np.flatnonzero(keep & (folds != fold)), np.flatnonzero(keep & (folds == fold))
        if len(test) == 0:
            continue
        x_train, x_test = published_input(events.images[train]), published_input(events.images[test])
        for name, recipe in PUBLISHED.items():
            result = train_steps(
                recipe, x_train, events.classes[train], steps=steps[name], seed=seed + int(fold), device=device
            )
            predicted[name][test] = predict_class_proba(result.model, x_test).argmax(axis=1)
            seconds[name] += result.seconds
        clock = time.perf_counter()
        booster = fit_stand_in(features.iloc[train], events.classes[train], seed=seed + int(fold), threads=threads)
        predicted[EGID_STAND_IN][test] = booster.predict(features.iloc[test])
        seconds[EGID_STAND_IN] += time.perf_counter() - clock
        for name in names:
            fold_accuracy[name].append(accuracy_score(events.classes[test], predicted[name][test]))
        print(
            f"  T = {threshold_gev:g} GeV, fold {fold + 1}: {len(train)} train, {len(test)} test; "
            + ", ".join(f"{n} {fold_accuracy[n][-1]:.4f}" for n in names),
            flush=True,
        )
    truth = events.classes[keep]
    cells = {
        name: Cell(
            accuracy=float(accuracy_score(truth, predicted[name][keep])),
            fold_std=float(np.std(fold_accuracy[name], ddof=1)) if len(fold_accuracy[name]) > 1 else float("nan"),
            balanced_accuracy=float(balanced_accuracy_score(truth, predicted[name][keep])),
            seconds=seconds[name],
        )
        for name in names
    }
    electrons, photons, pions = (int(n) for n in np.bincount(truth, minlength=len(CLASS_LABELS)))
    return Row(threshold_gev=threshold_gev, kept=(electrons, photons, pions), cells=cells)


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table: per model accuracy ± fold std, balanced accuracy; published beside."""
    names = list(rows[0].cells)
    head = f"{'T/GeV':>5} {'kept e/gamma/pi':>16} " + " ".join(f"{n + ' acc ± sd':>21} {'bal':>6}" for n in names)
    published = ", ".join(f"{n} {lo:.3f}-{hi:.3f}" for n, (lo, hi) in PUBLISHED_ACCURACY.items())
    lines = [head + "  published (other simulation)"]
    for row in rows:
        kept = "/".join(map(str, row.kept))
        cells = " ".join(
            f"{f'{c.accuracy:.4f} ± {c.fold_std:.4f}':>21} {c.balanced_accuracy:>6.4f}" for c in row.cells.values()
        )
        lines.append(f"{row.threshold_gev:>5g} {kept:>16} {cells}  {published}")
    return "\n".join(lines)


def format_timings(rows: list[Row]) -> str:
    """Training seconds per model and threshold, all folds together."""
    names = list(rows[0].cells)
    lines = [f"{'T/GeV':>5} " + " ".join(f"{n + ' s':>12}" for n in names)]
    lines += [f"{r.threshold_gev:>5g} " + " ".join(f"{r.cells[n].seconds:>12.1f}" for n in names) for r in rows]
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--electrons", type=Path, help="electron file (with --photons and --pions)")
    source.add_argument("--geant4", type=Path, help="folder holding electron.hdf5, photon.hdf5 and pion.hdf5")
    source.add_argument("--simulated", type=int, metavar="N", help="simulate N events per class with egid")
    parser.add_argument("--photons", type=Path, help="photon file (with --electrons)")
    parser.add_argument("--pions", type=Path, help="charged-pion file (with --electrons)")
    parser.add_argument(
        "--per-class",
        type=int,
        default=DEFAULT_PER_CLASS,
        help=f"events per class from files (default {DEFAULT_PER_CLASS})",
    )
    parser.add_argument(
        "--folds", type=int, default=DEFAULT_FOLDS, help=f"cross-validation folds (default {DEFAULT_FOLDS})"
    )
    parser.add_argument(
        "--thresholds", default=",".join(f"{t:g}" for t in THRESHOLDS_GEV), help="window energy thresholds in GeV"
    )
    parser.add_argument("--steps", type=int, help="optimiser steps of both networks (default the study's 10000)")
    parser.add_argument("--cnn-steps", type=int, help="optimiser steps of the CNN alone (default --steps)")
    parser.add_argument(
        "--threads", type=int, help="torch and LightGBM threads (default: the cores other jobs leave idle)"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when a GPU is present, else cpu")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds, the networks and the simulation")
    parser.add_argument("--out", type=Path, help="also write the table as JSON to this file")
    args = parser.parse_args(argv)
    if args.electrons is not None and (args.photons is None or args.pions is None):
        parser.error("--electrons needs --photons and --pions")
    if args.electrons is None and (args.photons is not None or args.pions is not None):
        parser.error("--photons and --pions go with --electrons")
    try:
        args.thresholds = sorted({float(t) for t in args.thresholds.split(",") if t.strip()})
    except ValueError:
        parser.error(f"--thresholds: expected comma-separated numbers in GeV, got {args.thresholds!r}")
    numbers = {"--per-class": args.per_class, "--simulated": args.simulated, "--steps": args.steps}
    numbers |= {"--cnn-steps": args.cnn_steps, "--threads": args.threads}
    small = [f"{k} {v}" for k, v in numbers.items() if v is not None and v < 1]
    if small or args.folds < 2 or not args.thresholds:
        parser.error(f"need --folds >= 2, at least one threshold and positive counts; got {small or args.folds}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    threads = configure_threads(args.threads or threads_for_next_fit())
    device = resolve_device(args.device)
    shallow_steps = args.steps or PUBLISHED["shallow"].steps
    steps = {"shallow": shallow_steps, "cnn": args.cnn_steps or args.steps or PUBLISHED["cnn"].steps}
    machine = machine_line(device, threads)
    print(machine, flush=True)
    start = time.perf_counter()
    try:
        with open_events(args) as events:
            print(events.description, flush=True)
            clock = time.perf_counter()
            features = build_table(events.images, names=THREE_CLASS_FEATURES)
            print(f"egid features: {features.shape[1]} columns in {time.perf_counter() - clock:.1f} s", flush=True)
            energy = window_energy_gev(events.images)
            folds = stratified_folds(events.classes, n_folds=args.folds, seed=args.seed)
            print(
                f"{args.folds}-fold stratified cross-validation; steps: shallow {steps['shallow']}, cnn "
                f"{steps['cnn']} (published: {PUBLISHED['cnn'].steps}), batch {PUBLISHED['cnn'].batch_size}",
                flush=True,
            )
            rows = [
                run_threshold(
                    events, features, energy, folds, t, steps=steps, seed=args.seed, threads=threads, device=device
                )
                for t in args.thresholds
            ]
    except InputError as err:
        print(f"published_three_class: error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    print(
        f"* {EGID_STAND_IN}: stand-in for egid's three-class model (not landed yet): LightGBM multiclass, "
        f"{STAND_IN_PARAMS}, on {len(THREE_CLASS_FEATURES)} egid features, untuned, no stacked CNN"
    )
    print("training seconds, all folds:")
    print(format_timings(rows))
    print(f"total {time.perf_counter() - start:.0f} s")
    print(machine_line(device, threads).replace("machine:", "after:", 1))
    if args.out is not None:
        table = {
            "machine": machine,
            "events": events.description,
            "folds": args.folds,
            "steps": steps,
            "egid_model": f"stand-in: LightGBM multiclass {STAND_IN_PARAMS}",
            "published_accuracy_other_simulation": PUBLISHED_ACCURACY,
            "rows": [asdict(r) for r in rows],
        }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
