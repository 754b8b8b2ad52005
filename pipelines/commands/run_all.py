"""``egid run`` (the default): simulate if needed, features, tuned trees, CNN stacking, report and exports."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd

from egid.detector import EventDataset, InputError, Split, stratified_split, stratified_subsample
from egid.detector.atomic import staged_dir
from egid.detector.paths import check_output_dir, writing
from egid.detector.schema import CLASS_LABELS, ELECTRON, PHOTON, class_name
from egid.evaluation.metrics import format_summary, working_point_thresholds
from egid.evaluation.metrics_schema import SPLITS
from egid.evaluation.plots import MIN_EVENTS_PER_CLASS
from egid.evaluation.publish import DataDescription, publish, shap_on_test_events, tree_history
from egid.models.bundle import save_model_sets
from egid.models.catalogue import CNN_MODEL, score_table, trigger_costs
from egid.models.cnn_budget import CNN_INIT_PRETRAINED, CNN_INIT_SCRATCH
from egid.pipelines.config import RunConfig, given_settings, job_settings, restore_config, save_config
from egid.pipelines.options import option_type
from egid.pipelines.prepare import (
    CNN_PROBE_EVENTS,
    DEFAULTS,
    add_data_options,
    add_tuning_options,
    command_line_options,
    feature_table,
    fit_settings,
    load_events,
    resolved,
)
from egid.pipelines.rundir import (
    CONFIG_NAME,
    TUNING_NAME,
    check_data_record,
    check_new_run_dir,
    check_resumable,
    claim_run_dir,
    point_latest_to,
    run_dir_path,
    write_data_record,
)
from egid.pipelines.three_class import add_three_class_options, wants_three_class
from egid.pipelines.three_class import check_settings as check_three_class_settings
from egid.pipelines.three_class import run_job as run_three_class_job
from egid.pipelines.timing import TIMINGS_FILE, StepTimer
from egid.pipelines.training import FitSettings, fit_models

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the whole job. Options override --config, which overrides the defaults."
    parser.argument_default = argparse.SUPPRESS  # unset options must not override the config file
    add_data_options(parser)
    add_tuning_options(parser, shared=False)
    add = parser.add_argument
    add("--no-cnn", dest="cnn", action="store_false", help="skip the CNN head and the stacked trees")
    add(
        "--stacked-trials",
        type=option_type("stacked_trials"),
        metavar="N",
        help="Optuna trials of each stacked tree, the first at the features-only best parameters "
        f"(default {DEFAULTS.stacked_trials})",
    )
    add(
        "--cnn-folds",
        type=option_type("cnn_folds"),
        metavar="K",
        help=f"folds of the CNN cross-fitting (default {DEFAULTS.cnn_folds})",
    )
    add(
        "--cnn-epochs",
        type=option_type("cnn_epochs"),
        metavar="N",
        help="cap on each CNN fold network's passes over its training images (default: none, the training "
        "budget adapts to the sample size)",
    )
    add(
        "--cnn-init",
        metavar="WEIGHTS",
        help=f"where the CNN fold networks start: '{CNN_INIT_PRETRAINED}' (egid's weights pretrained on its "
        f"simulation, fine-tuned per fold), '{CNN_INIT_SCRATCH}' (random weights) or a file of egid pretrain "
        f"(default {DEFAULTS.cnn_init})",
    )
    add("--out-dir", metavar="DIR", help="run directory (default reports/runs/<name>)")
    add("--name", help="run name (default: UTC time stamp)")
    add("--resume", action="store_true", help="continue the Optuna studies of an existing run directory --out-dir")
    add("--data-label", metavar="TEXT", help="name of the data on the plots (default: 'CMS Open Data')")
    add("--simulated", action="store_true", help="the input files are simulated (the plots say so)")
    add_three_class_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate every option and input, then claim the run directory and run the whole job in it.

    Nothing is created (no run directory, no log line) before the settings, the output paths and the input
    data have passed their checks, so a refused command leaves nothing that would block the corrected one.
    """
    # Optuna reports an interrupted trial as a warning with a traceback; egid says "interrupted" itself.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    given = given_settings(getattr(args, "config", None), command_line_options(args))
    run_dir = run_dir_path(given.get("out_dir"), given.get("name"))
    resume = bool(given.get("resume"))
    saved = check_resumable(run_dir) if resume else None
    # pions given, simulated or in the --data file: the electron/photon/pion job (egid.pipelines.three_class)
    three_class = wants_three_class(restore_config(saved, given) if saved is not None else RunConfig(**given))
    if not three_class and given.get("thresholds") is not None:
        msg = "--thresholds: only for three-class runs (--pions, --with-pions or a --data file holding label 2)"
        raise InputError(msg)
    classes = CLASS_LABELS if three_class else (ELECTRON, PHOTON)
    if not resume:
        check_new_run_dir(run_dir)
    with contextlib.ExitStack() as claims:
        if saved is not None:
            claims.enter_context(claim_run_dir(run_dir, new=False))
            config = restore_config(saved, given)
        else:
            config = dataclasses.replace(RunConfig(**given), out_dir=str(run_dir), name=run_dir.name)
            config = job_settings(config, given, three_class=three_class)
        if three_class:
            check_three_class_settings(config)
        check_output_dir(config.cache_dir)
        if config.uses_embedded_simulation:  # know the simulated sample is big enough before simulating it
            n = len(classes)
            k = min(config.events_per_class, (config.max_events or n * config.events_per_class) // n)
            _check_enough_events(np.repeat(classes, k), config, classes, name="--events-per-class")
        timer = StepTimer()
        with timer.step("simulate or find inputs"):
            config = resolved(config)
            dataset = load_events(config)
            _check_enough_events(dataset.labels, config, classes, name=dataset.source)
            if saved is not None:
                check_data_record(run_dir, dataset)
        if config.cnn:  # an unreadable weights file is refused before the run directory exists
            from egid.models.pretrained import cnn_start

            cnn_start(config.cnn_init, n_classes=len(classes))
        settings = fit_settings(config)  # opens a database storage: a bad URL is refused before the directory
        if saved is None:
            claims.enter_context(claim_run_dir(run_dir, new=True))
            write_data_record(run_dir, dataset)
        timer.start()
        with writing(run_dir):
            save_config(config, run_dir / CONFIG_NAME)
            if three_class:
                return run_three_class_job(config, settings.tuning, run_dir, dataset, timer)
            return _run_job(config, settings, run_dir, dataset, timer)


def _check_enough_events(
    labels: npt.NDArray[np.floating], config: RunConfig, classes: tuple[float, ...], *, name: str
) -> None:
    """Refuse data too small to train and report on: every split part needs each of the task's ``classes`` (the
    report's curves :data:`~egid.evaluation.plots.MIN_EVENTS_PER_CLASS` of each), CNN training one per fold."""
    split = stratified_split(labels, seed=config.seed)
    least = MIN_EVENTS_PER_CLASS
    needs = {"train": max(config.cnn_folds if config.cnn else 1, least), "validation": least, "test": least}
    for part, need in needs.items():
        part_labels = labels[getattr(split, part)]
        for value in classes:
            count = int(np.count_nonzero(part_labels == value))
            if count < need:
                msg = (
                    f"{name}: too few events, the {part} split holds {count} {class_name(value)}s and needs at "
                    f"least {need}; use more events (--max-events, --events-per-class)"
                )
                raise InputError(msg)


def _run_job(config: RunConfig, settings: FitSettings, run_dir: Path, dataset: EventDataset, timer: StepTimer) -> int:
    """Features, fitting, report and exports of a validated run in its claimed directory."""
    data = DataDescription(label=str(config.data_label), simulated=bool(config.simulated))
    table = feature_table(dataset, config, timer)
    split = stratified_split(dataset.labels, seed=config.seed)
    fitted, table = fit_models(table, dataset, split, settings=settings, tuning_dir=run_dir / TUNING_NAME, timer=timer)

    # The report and the models appear together or not at all: a failure or signal leaves the previous ones.
    with staged_dir(run_dir) as staging:
        with timer.step("report"):
            scores = _score_frame(table, split, score_table(fitted.trees, table, with_cnn=fitted.cnn is not None))
            scores.to_parquet(staging / "scores.parquet", index=False)
            histories = {name: [tree_history(model)] for name, model in fitted.trees.items()}
            if fitted.cnn is not None:
                histories[CNN_MODEL] = list(fitted.cnn.histories)
            shap = shap_on_test_events(fitted.trees, table, scores, seed=config.seed)
            metrics = publish(
                staging,
                title=f"egid run {run_dir.name}",
                scores=scores,
                models=fitted.names,
                table=table,
                trees=fitted.trees,
                data=data,
                config=dataclasses.asdict(config),
                histories=histories,
                shap=shap,
                costs=trigger_costs(fitted.names),
            )
        with timer.step("export"):
            probe = None
            if fitted.cnn is not None:
                drawn = stratified_subsample(dataset.labels[split.test], CNN_PROBE_EVENTS, seed=config.seed)
                probe = dataset.read_images(split.test[drawn])
            save_model_sets(
                fitted,
                table,
                split,
                staging / "models",
                thresholds=working_point_thresholds(metrics),
                seed=config.seed,
                shap=shap,
                probe_images=probe,
            )
        timer.write(staging / TIMINGS_FILE)
    point_latest_to(run_dir)
    print(format_summary(metrics))
    print(
        f"run directory: {run_dir} ({sum(timer.seconds.values()):.0f} s, peak memory {timer.peak_memory_gib():.2f} GiB)"
    )
    return 0


def _score_frame(table: pd.DataFrame, split: Split, model_scores: pd.DataFrame) -> pd.DataFrame:
    """``label``, ``split``, ``eta`` (when known) and one column per model, one row per event."""
    part = np.empty(len(table), dtype=object)
    for name in SPLITS:
        part[getattr(split, name)] = name
    frame = pd.DataFrame({"label": table["label"].to_numpy(), "split": part})
    if "eta" in table:
        frame["eta"] = table["eta"].to_numpy()
    return pd.concat([frame, model_scores.reset_index(drop=True)], axis=1)
