#!/usr/bin/env python
"""Train the published e/gamma/pi networks and egid on the same folds and print the 3-class accuracy per threshold.

Usage::

    python benchmarks/published_three_class.py (--electrons E --photons P --pions PI | --geant4 DIR
        | --simulated N) [--per-class N] [--folds K] [--thresholds 0,10,20,30]
        [--models shallow,cnn,egid-lightgbm,egid-stacked] [--steps N] [--cnn-steps N] [--egid-trials N]
        [--cnn-init pretrained|scratch] [--cnn-epochs N] [--threads N] [--device cpu|cuda] [--seed S]
        [--out table.json]

Data: per-class HDF5 files (the first ``--per-class`` events of each), the Geant4 reference folder
(``DIR/{electron,photon,pion}.hdf5``, default 2000 per class), or ``--simulated N`` events per class from egid's
own simulation (:func:`egid.simulation.write_sample`, into a temporary folder removed afterwards).

Method, as the published study did it, but with egid's threshold rule: for each threshold T (GeV), only the events
whose summed crop energy reaches T are kept, for training and test events alike and for every model, so the
networks and egid's trees train and test on exactly the same events. The energy is egid's feature ``e_sum``
(:data:`egid.evaluation.threshold_study.ENERGY_COLUMN`: channel 0 summed over the whole 32 x 32 crop, in GeV, from
:func:`egid.features.build_table`) and the cut is :func:`egid.evaluation.threshold_study.above_threshold`
(``E >= T``, as the published study kept them), the rule of egid's own threshold study. The published study cut on
the sum over its 28 x 28 window instead; the crop also holds the 2-crystal ring around the
window, so the events kept here differ a little from the study's. Then, in a stratified K-fold cross-validation
(folds drawn once, on all events, so a threshold only removes events from them), each model trains on K - 1 folds
and predicts the held-out one. The folds depend on the events and ``--seed`` alone, so columns trained in separate
runs (``--models``) are measured on the same splits. The published networks (``benchmarks/seed_networks.py``:
shallow 784-10-10-3 and the CNN, Adam 1e-3, batches of 128, ``--steps`` optimiser steps, the study's 10,000 by
default; ``--cnn-steps`` sets the CNN's alone) read the window's energy in GeV, unweighted, as in the study: the
window is their input, not the threshold variable. egid's column (``egid-lightgbm``) is egid's three-class LightGBM
as an egid run trains it (:func:`egid.models.three_class.fit_three_class`: class-balanced, tuned by Optuna on the
validation multiclass log-loss, ``--egid-trials`` trials, egid's default 12) on ``egid.features.build_table(images,
names=THREE_CLASS_FEATURES)`` of the full 32 x 32 crops. Its validation events are a stratified
:data:`VALIDATION_SHARE` of each fold's training events (the networks train on all of them, having no early
stopping). It is tuned once per fold, on the first threshold's events, and refitted (early-stopped) with those
hyperparameters at every threshold, as egid's own threshold study retrains
(:mod:`egid.evaluation.threshold_study`); no stacked CNN.

egid's stacked column (``egid-stacked``) is egid's ``lightgbm+cnn``, built per fold as an egid three-class run
builds it (:mod:`egid.pipelines.three_class`), through the same library calls: on the first threshold's events,
the three-class CNN (:func:`egid.models.pretrained.cnn_start` with ``--cnn-init``, egid's default ``pretrained``,
and ``--cnn-epochs``, egid's cap, none by default) is cross-fitted by :func:`egid.models.stacking.cross_fit_cnn`
(egid's :data:`CNN_FOLDS` fold networks) on the split egid's trees use -- the fold's training events less the
validation events (train), those validation events (early stopping), the held-out fold (test) -- reading the
images from the benchmark's own :class:`egid.detector.EventDataset`; its class probabilities
(:data:`egid.models.three_class.CNN_COLUMNS`: out of fold for the training events, the mean of the fold networks
for the others, the held-out fold included) are added to the features
(:func:`egid.models.three_class.class_columns`), and :func:`egid.models.three_class.fit_three_class` with
``stacked=True`` tunes the stacked LightGBM (egid's :data:`STACKED_TRIALS` trial(s), warm-started from the plain
model's tuned parameters, which it therefore needs whether or not ``egid-lightgbm`` is a column). At every
threshold the stacked trees are refitted (early-stopped, tuned hyperparameters) on the train and validation events
of that split above the threshold, with the same CNN columns: as in egid's threshold study (``_retrain`` in
:mod:`egid.pipelines.three_class`), the CNN is trained once, not retrained per threshold, and the split is cut, not
drawn again (``egid-lightgbm``'s refits draw their validation events afresh from each threshold's training events,
which would move events the CNN scored out of fold and events it early-stopped on between the two parts). As in
:func:`validation_rows`, a class left without a validation event above a threshold gets one of its train events.

Printed: the threshold rule, then per threshold the events kept per class, and for each model the accuracy of the
pooled held-out predictions with the standard deviation over folds, the balanced accuracy (mean of the per-class
efficiencies), training seconds (``egid-lightgbm``'s: its tuning and refits; ``egid-stacked``'s: the plain
model's tuning it starts from, the CNN's cross-fitting, the stacked tuning and the refits); beside them the published
accuracy ranges over T = 0-30 GeV, which come from the study's own simulation, not these events. The machine (CPU,
usable cores, torch threads, device, load) is printed before and after: the timings depend on it and on what else
runs there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score

# benchmarks/ is not a package: its sibling modules are found when this file runs as a script (its folder is
# sys.path[0]) and when a test puts the folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_models import machine_line
from seed_networks import PUBLISHED, predict_class_proba, published_input, train_steps

from egid.detector import (
    EventDataset,
    InputError,
    Split,
    atomic_path,
    load_dataset,
    stratified_folds,
    stratified_subsample,
)
from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, Images
from egid.evaluation.threshold_study import DEFAULT_THRESHOLDS_GEV, ENERGY_COLUMN, above_threshold, check_thresholds
from egid.features import THREE_CLASS_FEATURES, build_table
from egid.models.catalogue import CNN_MODEL, stacked_name
from egid.models.cnn import CNNConfig, configure_threads, resolve_device
from egid.models.cnn_budget import CNN_INIT_PRETRAINED, CNN_INIT_SCRATCH
from egid.models.cpu import threads_for_next_fit
from egid.models.pretrained import cnn_start
from egid.models.refit import refit_balanced
from egid.models.stacking import cross_fit_cnn
from egid.models.three_class import CNN_COLUMNS, N_CLASSES, class_columns, fit_three_class
from egid.models.trees import TreeModel
from egid.models.tuning_settings import TuningSettings
from egid.pipelines.config import RunConfig
from egid.simulation import write_sample

THRESHOLD_RULE: Final = (
    f"events kept when the summed crop energy ({ENERGY_COLUMN}, 32 x 32, GeV) >= T, egid's threshold-study rule, "
    "for every model"
)
"""The threshold rule, as printed and written to ``--out``."""
PUBLISHED_ACCURACY: Final = {"shallow": (0.895, 0.904), "cnn": (0.914, 0.933)}
"""The study's 3-class accuracy range over its thresholds, on its own simulation (not egid's events)."""
DEFAULT_FOLDS: Final = 5
DEFAULT_PER_CLASS: Final = 2000
"""Events per class read from files: the Geant4 reference holds 2000 of each."""
EGID_MODEL: Final = "egid-lightgbm"
"""Name of egid's column: its tuned, class-balanced three-class LightGBM."""
EGID_KIND: Final = "lightgbm"
DEFAULT_EGID_TRIALS: Final = 12
"""Optuna trials of egid's model per fold: egid's default (``RunConfig.trials``)."""
STACKED_MODEL: Final = "egid-stacked"
"""Name of egid's stacked column: its three-class LightGBM on the features plus the three-class CNN's out-of-fold
class probabilities (egid's ``lightgbm+cnn``)."""
STACKED_TRIALS: Final = RunConfig.stacked_trials
"""Optuna trials of the stacked LightGBM per fold, the first the plain model's best: egid's default."""
CNN_FOLDS: Final = RunConfig.cnn_folds
"""Fold networks of the CNN's cross-fitting inside each benchmark fold: egid's default (``--cnn-folds``)."""
CNN_INITS: Final = (CNN_INIT_PRETRAINED, CNN_INIT_SCRATCH)
"""``--cnn-init`` choices: egid's shipped pretrained weights (egid's default) or random weights."""
VALIDATION_SHARE: Final = 0.15
"""Share of each fold's training events egid holds out for early stopping and tuning (egid's split uses 0.15)."""
MODELS: Final = (*PUBLISHED, EGID_MODEL, STACKED_MODEL)
"""Every column of the table, in its order."""
PARTICLES: Final = ("electron", "photon", "pion")
_CLASS_OF_LABEL: Final = np.array([CLASS_LABELS.index(float(label)) for label in range(len(CLASS_LABELS))])
"""Class index (0 electron, 1 photon, 2 pion) of file label 0, 1, 2: egid's probability columns are file labels."""


@dataclass(frozen=True)
class Events:
    """The crops of a benchmark and their class indices (0 electron, 1 photon, 2 pion: :data:`CLASS_LABELS`).

    ``dataset`` is the :class:`EventDataset` they were read from, in the same order (``images`` is its
    ``read_images()``): egid's CNN cross-fitting reads its images from it.
    """

    images: Images
    classes: npt.NDArray[np.int64]
    description: str
    dataset: EventDataset


@dataclass(frozen=True)
class Tuned:
    """egid's three-class LightGBM of one fold, tuned on the first threshold's events, and its tuning seconds."""

    model: TreeModel
    seconds: float


@dataclass(frozen=True)
class Stacked:
    """egid's stacked LightGBM of one fold, made on the first threshold's events, and what its refits need.

    Attributes
    ----------
    model : TreeModel
        ``lightgbm+cnn`` as :func:`fit_three_class` tuned it (``stacked=True``).
    table : DataFrame
        The features and :data:`CNN_COLUMNS` of every event (out of fold on ``split.train``).
    split : Split
        The first threshold's split: train (the CNN's and the trees' training events), validation, test.
    seconds : float
        The plain model's tuning, the CNN's cross-fitting and the stacked tuning.
    """

    model: TreeModel
    table: pd.DataFrame
    split: Split
    seconds: float


CNNStart = tuple[CNNConfig, Mapping[str, torch.Tensor] | None]
"""What :func:`egid.models.pretrained.cnn_start` returns: the CNN settings and the initial weights (None: random)."""


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
        description = f"{origin}: {len(classes)} events (e/gamma/pi {counts})"
        yield Events(dataset.read_images(), classes, description, dataset)


def validation_rows(
    labels: npt.NDArray[np.floating], train: npt.NDArray[np.int64], *, seed: int
) -> npt.NDArray[np.int64]:
    """egid's validation events among ``train``: a seeded :data:`VALIDATION_SHARE` of them, stratified by label.

    A class left without a validation event while it has at least 2 training events gives its first one (egid's
    multiclass boosters need every class in both parts; at a high threshold a small sample keeps few pions).
    """
    y = labels[train]
    chosen = stratified_subsample(y, round(VALIDATION_SHARE * len(train)), seed=seed)
    absent = [value for value in CLASS_LABELS if np.sum(y == value) >= 2 and not np.any(y[chosen] == value)]
    extra = [np.flatnonzero(y == value)[0] for value in absent]
    return train[np.union1d(chosen, extra).astype(np.int64)]


def egid_split(
    labels: npt.NDArray[np.floating], train: npt.NDArray[np.int64], test: npt.NDArray[np.int64], *, seed: int
) -> Split:
    """egid's split of one fold: ``train`` less its :func:`validation_rows` (train), those (validation), ``test``."""
    validation = validation_rows(labels, train, seed=seed)
    return Split(train=np.setdiff1d(train, validation), validation=validation, test=test)


def rows_above(
    labels: npt.NDArray[np.floating], split: Split, keep: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The train and validation events of ``split`` that ``keep`` keeps, as egid's threshold study cuts its split.

    A class left without a validation event while it keeps at least 2 train events gives its first train event to
    the validation events (as in :func:`validation_rows`: egid's multiclass boosters need every class in both).
    """
    train, validation = split.train[keep[split.train]], split.validation[keep[split.validation]]
    absent = [
        value
        for value in CLASS_LABELS
        if np.sum(labels[train] == value) >= 2 and not np.any(labels[validation] == value)
    ]
    moved = np.array([train[labels[train] == value][0] for value in absent], dtype=np.int64)
    return np.setdiff1d(train, moved), np.union1d(validation, moved)


def tune_egid(
    features: pd.DataFrame,
    labels: npt.NDArray[np.floating],
    split: Split,
    tuned: dict[int, Tuned],
    *,
    fold: int,
    settings: TuningSettings,
) -> Tuned:
    """egid's three-class LightGBM of ``fold``, tuned by :func:`fit_three_class` on ``split`` at the fold's first
    call (kept in ``tuned[fold]``, returned as it is after)."""
    if fold not in tuned:
        clock = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="published_three_class_tuning_") as folder:
            models = fit_three_class(features, labels, split, settings, tuning_dir=folder, kinds=(EGID_KIND,))
        tuned[fold] = Tuned(models[EGID_KIND], time.perf_counter() - clock)
    return tuned[fold]


def stack_egid(
    dataset: EventDataset,
    features: pd.DataFrame,
    labels: npt.NDArray[np.floating],
    split: Split,
    tuned: dict[int, Tuned],
    *,
    fold: int,
    settings: TuningSettings,
    cnn: CNNStart,
    device: torch.device,
) -> Stacked:
    """egid's stacked LightGBM of ``fold``, as an egid three-class run builds it, on ``split`` of ``dataset``.

    :func:`cross_fit_cnn` trains :data:`CNN_FOLDS` networks from ``cnn`` on ``split.train`` (early-stopped on
    ``split.validation``) and scores every event (out of fold on ``split.train``); :func:`class_columns` adds the
    scores to ``features`` as :data:`CNN_COLUMNS`; :func:`fit_three_class` (``stacked=True``) tunes the stacked
    model, warm-started from the plain model's tuned parameters (:func:`tune_egid`, tuned here if not yet).
    ``labels`` are the file labels of ``dataset`` (its ``labels``).
    """
    plain = tune_egid(features, labels, split, tuned, fold=fold, settings=settings)
    clock = time.perf_counter()
    config, initial_state = cnn
    scores = cross_fit_cnn(
        dataset,
        split,
        n_folds=CNN_FOLDS,
        config=config,
        seed=settings.seed,
        device=device,
        threads=settings.n_jobs,
        initial_state=initial_state,
        progress=False,
    ).scores
    table = features.assign(**class_columns(CNN_MODEL, scores.astype(np.float64)))
    with tempfile.TemporaryDirectory(prefix="published_three_class_stacked_") as folder:
        models = fit_three_class(
            table,
            labels,
            split,
            dataclasses.replace(settings, n_trials=STACKED_TRIALS),
            tuning_dir=folder,
            kinds=(EGID_KIND,),
            stacked=True,
            warm_starts={EGID_KIND: plain.model.params_dict()},
        )
    seconds = plain.seconds + time.perf_counter() - clock
    return Stacked(models[stacked_name(EGID_KIND)], table, split, seconds)


def refit_predict(
    model: TreeModel,
    table: pd.DataFrame,
    labels: npt.NDArray[np.floating],
    train: npt.NDArray[np.int64],
    validation: npt.NDArray[np.int64],
    test: npt.NDArray[np.int64],
    settings: TuningSettings,
) -> npt.NDArray[np.int64]:
    """``model``'s hyperparameters refitted on ``train`` rows, class-balanced and early-stopped on ``validation``,
    as egid's threshold study retrains; the predicted class index of each ``test`` row."""
    refit = refit_balanced(model, table, labels, train, validation, settings)
    label_columns = np.asarray(refit.predict(table.iloc[test])).argmax(axis=1)  # column k: file label k
    classes: npt.NDArray[np.int64] = _CLASS_OF_LABEL[label_columns]
    return classes


def run_threshold(
    events: Events,
    features: pd.DataFrame,
    energy_gev: npt.NDArray[np.float64],
    folds: npt.NDArray[np.int64],
    threshold_gev: float,
    *,
    models: list[str],
    steps: dict[str, int],
    tuned: dict[int, Tuned],
    stacked: dict[int, Stacked],
    settings: TuningSettings,
    cnn: CNNStart | None,
    device: torch.device,
) -> Row:
    """Cross-validate every model on the events kept at ``threshold_gev``; one :class:`Row`.

    ``energy_gev`` is every event's summed crop energy (``features[ENERGY_COLUMN]``); the events kept
    (:func:`above_threshold`) are the same for every model. ``models`` are names among :data:`MODELS`; ``tuned``
    and ``stacked`` hold egid's tuned and stacked models per fold (made at the first threshold, reused after it);
    ``cnn`` is the start of egid's CNN (needed for :data:`STACKED_MODEL`).
    """
    keep = above_threshold(energy_gev, threshold_gev)
    labels = np.asarray(CLASS_LABELS, dtype=np.float64)[events.classes]  # egid's boosters learn the file labels
    names = [name for name in MODELS if name in models]
    predicted = {name: np.full(len(keep), -1, dtype=np.int64) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    fold_accuracy: dict[str, list[float]] = {name: [] for name in names}
    for fold in np.unique(folds):
        train, test = np.flatnonzero(keep & (folds != fold)), np.flatnonzero(keep & (folds == fold))
        if len(test) == 0:
            continue
        x_train, x_test = published_input(events.images[train]), published_input(events.images[test])
        for name in (n for n in names if n in PUBLISHED):
            result = train_steps(
                PUBLISHED[name],
                x_train,
                events.classes[train],
                steps=steps[name],
                seed=settings.seed + int(fold),
                device=device,
            )
            predicted[name][test] = predict_class_proba(result.model, x_test).argmax(axis=1)
            seconds[name] += result.seconds
        fold_settings = dataclasses.replace(settings, seed=settings.seed + int(fold))
        split = egid_split(labels, train, test, seed=fold_settings.seed)
        if EGID_MODEL in names:
            clock = time.perf_counter()
            plain = tune_egid(features, labels, split, tuned, fold=int(fold), settings=fold_settings)
            predicted[EGID_MODEL][test] = refit_predict(
                plain.model, features, labels, split.train, split.validation, test, settings
            )
            seconds[EGID_MODEL] += time.perf_counter() - clock
        if STACKED_MODEL in names:
            if cnn is None:
                raise ValueError(f"{STACKED_MODEL} needs the start of egid's CNN (cnn_start)")
            if int(fold) not in stacked:
                stacked[int(fold)] = stack_egid(
                    events.dataset,
                    features,
                    labels,
                    split,
                    tuned,
                    fold=int(fold),
                    settings=fold_settings,
                    cnn=cnn,
                    device=device,
                )
                seconds[STACKED_MODEL] += stacked[int(fold)].seconds
            clock = time.perf_counter()
            fold_stack = stacked[int(fold)]
            refit_train, refit_validation = rows_above(labels, fold_stack.split, keep)
            predicted[STACKED_MODEL][test] = refit_predict(
                fold_stack.model, fold_stack.table, labels, refit_train, refit_validation, test, settings
            )
            seconds[STACKED_MODEL] += time.perf_counter() - clock
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
        "--thresholds",
        default=",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS_GEV),
        help="summed crop energy thresholds in GeV, events kept when E > T (default egid's)",
    )
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"comma-separated columns to train (default {','.join(MODELS)})"
    )
    parser.add_argument(
        "--egid-trials",
        type=int,
        default=DEFAULT_EGID_TRIALS,
        help=f"Optuna trials of egid's model per fold (default {DEFAULT_EGID_TRIALS})",
    )
    parser.add_argument(
        "--cnn-init",
        choices=CNN_INITS,
        default=RunConfig.cnn_init,
        help=f"{STACKED_MODEL}: where egid's CNN fold networks start (default egid's {RunConfig.cnn_init})",
    )
    parser.add_argument(
        "--cnn-epochs",
        type=int,
        help=f"{STACKED_MODEL}: cap on the passes each egid CNN fold network makes over its training images "
        "(default egid's: none, the training budget decides)",
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
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown or not args.models:
        parser.error(f"--models: unknown {unknown or 'none given'}; choose from {', '.join(MODELS)}")
    if args.electrons is not None and (args.photons is None or args.pions is None):
        parser.error("--electrons needs --photons and --pions")
    if args.electrons is None and (args.photons is not None or args.pions is not None):
        parser.error("--photons and --pions go with --electrons")
    try:
        thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--thresholds: expected comma-separated numbers in GeV, got {args.thresholds!r}")
    try:
        args.thresholds = sorted(check_thresholds(thresholds))  # egid's study refuses the same thresholds
    except InputError as err:
        parser.error(str(err))
    numbers = {"--per-class": args.per_class, "--simulated": args.simulated, "--steps": args.steps}
    numbers |= {"--cnn-steps": args.cnn_steps, "--threads": args.threads, "--egid-trials": args.egid_trials}
    numbers |= {"--cnn-epochs": args.cnn_epochs}
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
    egid_description = (
        f"egid.models.three_class.fit_three_class ({EGID_KIND}, class-balanced, {args.egid_trials} Optuna trials "
        f"per fold on the first threshold's events, refitted per threshold) on {len(THREE_CLASS_FEATURES)} "
        "egid features; no stacked CNN"
    )
    cnn_epochs = "no epoch cap" if args.cnn_epochs is None else f"at most {args.cnn_epochs} epochs"
    stacked_description = (
        f"egid's {stacked_name(EGID_KIND)}: per fold, on the first threshold's events, the three-class CNN "
        f"(--cnn-init {args.cnn_init}, {cnn_epochs}) cross-fitted by egid.models.stacking.cross_fit_cnn "
        f"({CNN_FOLDS} fold networks) on the training events less egid's validation events, its class "
        f"probabilities ({', '.join(CNN_COLUMNS)}; out of fold for those training events) added to the "
        f"{len(THREE_CLASS_FEATURES)} egid features, fit_three_class(stacked=True) warm-started from the plain "
        f"{EGID_KIND}'s tuned parameters ({STACKED_TRIALS} Optuna trial(s)); refitted per threshold on that split's "
        "events above it, with the same CNN columns (the CNN is not retrained)"
    )
    descriptions = {EGID_MODEL: egid_description, STACKED_MODEL: stacked_description}
    print(machine, flush=True)
    start = time.perf_counter()
    try:
        # Before any training, as egid run does: the pretrained weights are read once and shared by every fold.
        stacking = STACKED_MODEL in args.models
        cnn = cnn_start(args.cnn_init, max_epochs=args.cnn_epochs, n_classes=N_CLASSES) if stacking else None
        with open_events(args) as events:
            print(events.description, flush=True)
            clock = time.perf_counter()
            features = build_table(events.images, names=THREE_CLASS_FEATURES)
            print(f"egid features: {features.shape[1]} columns in {time.perf_counter() - clock:.1f} s", flush=True)
            energy = features[ENERGY_COLUMN].to_numpy(dtype=np.float64)
            print(f"threshold rule: {THRESHOLD_RULE}", flush=True)
            folds = stratified_folds(events.classes, n_folds=args.folds, seed=args.seed)
            networks = ", ".join(f"{name} {steps[name]}" for name in PUBLISHED if name in args.models)
            print(
                f"{args.folds}-fold stratified cross-validation; optimiser steps: {networks or 'no network'} "
                f"(published: {PUBLISHED['cnn'].steps}), batch {PUBLISHED['cnn'].batch_size}",
                flush=True,
            )
            settings = TuningSettings(n_trials=args.egid_trials, n_jobs=threads, seed=args.seed)
            tuned: dict[int, Tuned] = {}
            stacked: dict[int, Stacked] = {}
            rows = [
                run_threshold(
                    events,
                    features,
                    energy,
                    folds,
                    t,
                    models=args.models,
                    steps=steps,
                    tuned=tuned,
                    stacked=stacked,
                    settings=settings,
                    cnn=cnn,
                    device=device,
                )
                for t in args.thresholds
            ]
    except InputError as err:
        print(f"published_three_class: error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    print(f"threshold rule: {THRESHOLD_RULE}")
    for name, description in descriptions.items():
        if name in args.models:
            print(f"{name}: {description}")
    print("training seconds, all folds:")
    print(format_timings(rows))
    print(f"total {time.perf_counter() - start:.0f} s")
    print(machine_line(device, threads).replace("machine:", "after:", 1))
    if args.out is not None:
        table = {
            "machine": machine,
            "events": events.description,
            "folds": args.folds,
            "threshold_rule": THRESHOLD_RULE,
            "steps": steps,
            "egid_model": egid_description,
            "egid_stacked_model": stacked_description,
            "cnn": {"init": args.cnn_init, "epochs": args.cnn_epochs, "folds": CNN_FOLDS},
            "published_accuracy_other_simulation": PUBLISHED_ACCURACY,
            "rows": [asdict(r) for r in rows],
        }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
