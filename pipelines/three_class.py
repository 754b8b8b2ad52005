"""The three-class (electron / photon / charged pion) job behind ``egid run``, ``egid evaluate`` and ``egid predict``.

``egid run`` validates the settings and the events as for a binary run (:func:`check_settings` adds the three-class
rules), claims the run directory, then hands over to :func:`run_job` when pions are in the input: ``--pions FILE``
beside ``--electrons`` and ``--photons``, a ``--data`` file holding label 2, or ``--with-pions`` on the embedded
simulation (which then simulates ``--events-per-class`` pions too). The job: the three-class feature table
(:data:`egid.features.THREE_CLASS_FEATURES`, cached), the seeded stratified split, a class-balanced LightGBM and
XGBoost model each tuned by Optuna on the validation multiclass log-loss (:mod:`egid.models.three_class`); unless
``--no-cnn``, the three-class CNN cross-fitted on the training split (``--cnn-folds``, ``--cnn-init``,
``--cnn-epochs`` as in binary runs) and the stacked models ``lightgbm+cnn`` and ``xgboost+cnn`` on the features plus
its out-of-fold class probabilities (``--stacked-trials``); then in the run directory:

* ``metrics.json`` -- ``task: "three_class"`` and, per model, the test metrics of
  :func:`egid.evaluation.three_class_metrics.three_class_metrics`, and the threshold study's rows;
* ``scores.parquet`` -- ``label``, ``split`` and every model's ``<model>_<class>`` probabilities;
* ``threshold_study.{csv,json,png}`` -- :mod:`egid.evaluation.threshold_study`, one model and retrained;
* ``models/three_class/`` (and ``models/three_class_stacked/`` with the CNN) -- the model sets :func:`egid.load`
  and ``egid predict`` read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from egid.detector import (
    EventDataset,
    InputError,
    Split,
    is_three_class,
    load_dataset,
    require_classes,
    stratified_split,
    stratified_subsample,
)
from egid.detector.atomic import atomic_path, staged_dir
from egid.detector.paths import check_output_dir, check_outside, check_replaceable, writing
from egid.detector.schema import CLASS_LABELS, class_name
from egid.evaluation.three_class_metrics import format_three_class_summary, three_class_metrics
from egid.evaluation.threshold_study import (
    DEFAULT_THRESHOLDS_GEV,
    ENERGY_COLUMN,
    Cut,
    Retrain,
    threshold_study,
    write_threshold_study,
)
from egid.models.catalogue import CNN_MODEL, model_names
from egid.models.refit import Refit, refit_side_by_side
from egid.models.three_class import (
    N_CLASSES,
    TASK,
    ThreeClassBundle,
    best_models,
    class_columns,
    fit_three_class,
    model_probabilities,
    probability_frame,
    save_three_class_set,
    three_class_features,
)
from egid.models.three_class import (
    run_root as three_class_run_root,
)
from egid.models.trees import TreeModel
from egid.models.tuning import TuningSettings
from egid.pipelines.config import RunConfig
from egid.pipelines.inputs import dataset_from_args
from egid.pipelines.prepare import CNN_PROBE_EVENTS, feature_table
from egid.pipelines.rundir import (
    TUNING_NAME,
    point_latest_to,
)
from egid.pipelines.timing import TIMINGS_FILE, StepTimer
from egid.pipelines.training import cross_fit

if TYPE_CHECKING:  # torch is imported only when the CNN runs
    from egid.models.stacking import CrossFitResult

__all__ = ("add_three_class_options", "check_settings", "evaluate", "run_job", "wants_three_class")

logger = logging.getLogger(__name__)


def add_three_class_options(parser: argparse.ArgumentParser) -> None:
    """``--with-pions`` and ``--thresholds`` (``--pions`` comes with the input options)."""
    add = parser.add_argument
    add(
        "--with-pions",
        action="store_true",
        help="embedded simulation: simulate charged pions too (--events-per-class of them, y = 2) and train the "
        "three-class electron/photon/pion models",
    )
    add(
        "--thresholds",
        type=float,
        nargs="+",
        metavar="GEV",
        help="three-class runs: summed crop energy thresholds of the threshold study, in GeV (default "
        f"{' '.join(f'{t:g}' for t in DEFAULT_THRESHOLDS_GEV)})",
    )


def wants_three_class(config: RunConfig) -> bool:
    """Whether the settings of ``egid run`` ask for the three-class job: pions given or simulated, or a ``--data``
    file holding label 2."""
    if config.pions is not None or config.with_pions:
        return True
    return config.data is not None and is_three_class(load_dataset(data=config.data).labels)


def check_settings(config: RunConfig) -> None:
    """Refuse the settings a three-class run cannot take: ``--with-pions`` beside input files, ``--pions`` beside
    ``--data``."""
    if config.with_pions and not config.uses_embedded_simulation:
        msg = "--with-pions: adds simulated pions to the embedded simulation only; give --pions FILE with input files"
        raise InputError(msg)
    if config.pions is not None and config.data is not None:
        msg = "--pions: give either --data (with labels 0, 1 and 2) or --electrons/--photons/--pions, not both"
        raise InputError(msg)


def _retrain(
    models: dict[str, TreeModel], table: pd.DataFrame, labels: np.ndarray, split: Split, settings: TuningSettings
) -> Retrain:
    """The threshold study's ``retrain``: the best features-only model and the best stacked one
    (:func:`egid.models.three_class.best_models`, on the validation events) refitted, class-balanced and
    early-stopped, on the rows above each threshold, side by side (:func:`egid.models.refit.refit_side_by_side`).

    The hyperparameters stay those tuned on every event (one tuning per threshold would multiply the tuning time
    by the number of thresholds), and a threshold that removes no training or validation event refits nothing:
    the model trained on every event is then the retrained one (same parameters, seed and events).
    """
    chosen = best_models(models, table, labels, split.validation)

    def trainable(cut: Cut) -> bool:
        missing = [
            f"{class_name(value)}s in {part}"
            for part, rows in (("train", cut[0]), ("validation", cut[1]))
            for value in CLASS_LABELS
            if not (labels[rows] == value).any()
        ]
        if missing:  # nothing to learn a class from above this threshold: NaN rows, not a crash
            logger.warning("threshold study: no %s above the threshold; not retrained", ", ".join(missing))
        return not missing

    def retrain(cuts: Sequence[Cut]) -> list[dict[str, np.ndarray]]:
        usable = [trainable(cut) for cut in cuts]
        refits = [
            Refit(model, train, validation)
            for (train, validation, _), ok in zip(cuts, usable, strict=True)
            if ok
            for model in chosen.values()
        ]
        # only their predictions are used: no training-set figures for a history nobody reads
        fitted = iter(refit_side_by_side(refits, table, labels, split, settings, record_training=False))
        return [
            {
                name: next(fitted).predict(table.iloc[test]) if ok else np.full((test.size, len(CLASS_LABELS)), np.nan)
                for name in chosen
            }
            for (_, _, test), ok in zip(cuts, usable, strict=True)
        ]

    return retrain


def run_job(config: RunConfig, settings: Any, run_dir: Path, dataset: EventDataset, timer: StepTimer) -> int:
    """Features, fitting, threshold study, report and exports of a validated three-class run in its claimed
    directory (``egid run`` has checked the settings and the events, as for a binary run)."""
    table = feature_table(dataset, config, timer, names=three_class_features())
    labels = dataset.labels.astype(np.float64)
    split = stratified_split(labels, seed=config.seed)
    with timer.step("tune and fit"):
        models = fit_three_class(table, labels, split, settings, tuning_dir=run_dir / TUNING_NAME)
    cnn = None
    if config.cnn:
        cnn = _cross_fit_cnn(config, dataset, split, settings, timer)
        table = table.assign(**class_columns(CNN_MODEL, cnn.scores.astype(np.float64)))
        with timer.step("tune stacked trees"):
            models |= fit_three_class(
                table,
                labels,
                split,
                dataclasses.replace(settings, n_trials=config.stacked_trials),
                tuning_dir=run_dir / TUNING_NAME / "stacked",
                stacked=True,
                warm_starts={kind: model.params_dict() for kind, model in models.items()},
            )
    thresholds = tuple(config.thresholds or DEFAULT_THRESHOLDS_GEV)
    with timer.step("threshold study"):
        frame = probability_frame(models, table)
        test = _by_model(frame.iloc[split.test], model_names(models, with_cnn=cnn is not None))
        study = threshold_study(
            table[ENERGY_COLUMN].to_numpy(),
            labels,
            train=split.train,
            validation=split.validation,
            test=split.test,
            test_probabilities=test,
            retrain=_retrain(models, table, labels, split, settings),
            thresholds=thresholds,
        )
    with staged_dir(run_dir) as staging:
        with timer.step("report"):
            part = np.empty(len(table), dtype=object)
            for name in ("train", "validation", "test"):
                part[getattr(split, name)] = name
            scores = pd.concat([pd.DataFrame({"label": labels, "split": part}), frame.reset_index(drop=True)], axis=1)
            scores.to_parquet(staging / "scores.parquet", index=False)
            metrics = _write_results(
                staging,
                labels[split.test],
                test,
                study,
                inputs=dataset.paths,
                data=str(config.data_label),
                simulated=bool(config.simulated),
            )
        with timer.step("export"):
            probe = None
            if cnn is not None:
                drawn = stratified_subsample(labels[split.test], CNN_PROBE_EVENTS, seed=config.seed)
                probe = dataset.read_images(split.test[drawn])
            save_three_class_set(
                models,
                table,
                split,
                staging / "models",
                seed=config.seed,
                thresholds=thresholds,
                cnn=None if cnn is None else cnn.ensemble,
                probe_images=probe,
            )
        timer.write(staging / TIMINGS_FILE)
    point_latest_to(run_dir)
    _print_summary(metrics, study)
    print(f"run directory: {run_dir} ({sum(timer.seconds.values()):.0f} s)")
    return 0


def _cross_fit_cnn(
    config: RunConfig, dataset: EventDataset, split: Any, settings: Any, timer: StepTimer
) -> CrossFitResult:
    """The three-class CNN's fold networks and out-of-fold class probabilities (as in binary runs)."""
    with timer.step("CNN cross-fitting"):
        return cross_fit(
            dataset,
            split,
            init=config.cnn_init,
            epochs=config.cnn_epochs,
            folds=config.cnn_folds,
            seed=config.seed,
            progress=settings.progress,
            n_classes=N_CLASSES,
        )


def _by_model(frame: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """Each model's ``(n, 3)`` class probabilities from a :func:`probability_frame`, in display order."""
    return {name: model_probabilities(frame, name) for name in names}


def _write_results(
    folder: Path,
    labels: np.ndarray,
    probabilities: dict[str, np.ndarray],
    study: pd.DataFrame,
    *,
    inputs: list[str],
    data: str,
    simulated: bool,
) -> dict[str, Any]:
    """Every model's test metrics, ``metrics.json``, the threshold study's files and the report; the metrics."""
    from egid.evaluation.three_class_report import write_three_class_report

    metrics = {name: three_class_metrics(labels, values) for name, values in probabilities.items()}
    _write_metrics(folder, metrics, study, inputs=inputs)
    write_threshold_study(study, folder, data=data, simulated=simulated)
    write_three_class_report(
        folder, metrics=metrics, study=study, labels=labels, probabilities=probabilities, data=data, simulated=simulated
    )
    return metrics


def _write_metrics(folder: Path, metrics: dict[str, Any], study: pd.DataFrame, *, inputs: list[str]) -> None:
    document = {
        "task": TASK,
        "inputs": inputs,
        "class_weights": "inverse class frequency in each split part (every class weighs a third)",
        "models": metrics,
        "threshold_study": json.loads(study.to_json(orient="records")),
    }
    with atomic_path(folder / "metrics.json") as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")


def _print_summary(metrics: dict[str, Any], study: pd.DataFrame) -> None:
    for name, values in metrics.items():
        print(format_three_class_summary(values, model=name))
    if not study.empty:
        # unstacked rather than pivoted: a threshold that leaves no events (or a refit without one of the classes)
        # stays a row of n/a, as in the study's files, instead of vanishing from the table
        shown = study.set_index(["threshold_gev", "mode", "model"])["accuracy"].unstack(["mode", "model"])
        print("three-class accuracy above each summed crop energy threshold (GeV):")
        print(shown.to_string(float_format=lambda v: f"{v:.4f}", na_rep="n/a"))


def evaluate(args: argparse.Namespace) -> int:
    """``egid evaluate`` of a three-class run: the same metrics and the run's threshold study (its thresholds, one
    model) on new files."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    bundle = ThreeClassBundle.load(args.run_dir)
    run_root = three_class_run_root(args.run_dir)
    out_dir = check_output_dir(args.out_dir or run_root / "evaluations" / stamp)
    check_outside(out_dir, run_root, option="--out-dir", allowed=("evaluations",))
    check_replaceable(out_dir, overwrite=args.overwrite, option="--out-dir")
    dataset = dataset_from_args(args)
    require_classes(dataset.labels, name=dataset.source)
    if not is_three_class(dataset.labels):
        msg = f"{dataset.source}: holds no pions; a three-class run is evaluated on electrons, photons and pions"
        raise InputError(msg)
    table, frame = bundle.score(dataset)
    labels = dataset.labels.astype(np.float64)
    probabilities = _by_model(frame, bundle.names)
    study = threshold_study(
        table[ENERGY_COLUMN].to_numpy(),
        labels,
        train=np.empty(0, np.int64),
        validation=np.empty(0, np.int64),
        test=np.arange(len(labels)),
        test_probabilities=probabilities,
        thresholds=bundle.thresholds,
    )
    with writing(out_dir), staged_dir(out_dir) as staging:
        scores = pd.concat([pd.DataFrame({"label": labels, "split": "test"}), frame], axis=1)
        scores.to_parquet(staging / "scores.parquet", index=False)
        metrics = _write_results(
            staging,
            labels,
            probabilities,
            study,
            inputs=dataset.paths,
            data=args.data_label,
            simulated=args.simulated,
        )
    _print_summary(metrics, study)
    print(f"evaluation directory: {out_dir}")
    return 0
