"""``egid run`` (the default): simulate if needed, features, tuned trees, CNN stacking, report and exports."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from egid.detector import atomic_path, load_dataset, require_both_classes, stratified_split
from egid.evaluation.metrics import format_summary, working_point_thresholds
from egid.evaluation.publish import DataDescription, cnn_history, publish, shap_on_test_events, tree_history
from egid.features import cached_table
from egid.models import TuningSettings
from egid.pipelines.bundle import export_models
from egid.pipelines.config import RunConfig, load_config, save_config
from egid.pipelines.inputs import add_input_arguments
from egid.pipelines.rundir import new_run_dir, point_latest_to
from egid.pipelines.timing import StepTimer
from egid.pipelines.training import CNN_MODEL, FitSettings, fit_models, score_table

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "test")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the whole job. Options override --config, which overrides the defaults."
    parser.argument_default = argparse.SUPPRESS  # unset options must not override the config file
    add_input_arguments(parser, required=False)
    parser.add_argument("--config", metavar="FILE.yaml", help="settings file; keys are the option names with '_'")
    add = parser.add_argument
    add("--n-per-class", type=int, metavar="N", help="events per class of the embedded simulation (default 30000)")
    add("--trials", type=int, metavar="N", help="Optuna trials per tree model (default 12)")
    add("--timeout", type=float, metavar="SECONDS", help="tuning time limit per tree model")
    add("--tuning-rows", type=int, metavar="N", help="tune on at most N training events (default 60000)")
    add("--no-cnn", dest="cnn", action="store_false", help="skip the CNN head and the stacked trees")
    add("--cnn-folds", type=int, metavar="K", help="folds of the CNN cross-fitting (default 3)")
    add("--cnn-epochs", type=int, metavar="N", help="maximum CNN epochs per fold (default 6)")
    add("--out", metavar="DIR", help="run directory (default reports/runs/<name>)")
    add("--name", help="run name (default: UTC time stamp)")
    add("--resume", action="store_true", help="continue the Optuna studies of an existing run directory --out")
    add("--storage", metavar="URL", help="shared Optuna storage, e.g. postgresql://... (default: a journal file)")
    add("--study-name", metavar="NAME", help="prefix of the study names in --storage")
    add("--data-label", metavar="TEXT", help="name of the data on the plots (default: 'CMS Open Data')")
    add("--simulated", action="store_true", help="the input files are simulated (the plots say so)")
    add("--cache-dir", metavar="DIR", help="cache of simulated samples and feature tables (default .egid-cache)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Optuna reports an interrupted trial as a warning with a traceback; egid says "interrupted" itself.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    options = {k: v for k, v in vars(args).items() if k not in ("command", "handler", "verbose", "config")}
    timer = StepTimer()
    with timer.step("simulate or find inputs"):
        config = _resolved(load_config(getattr(args, "config", None), options))
    settings = _fit_settings(config)  # validated before the run directory exists
    run_dir = new_run_dir(config.out, config.name, resume=config.resume)
    save_config(config, run_dir / "config.yaml")
    data = DataDescription(label=str(config.data_label), simulated=bool(config.simulated))
    dataset = load_dataset(
        electrons=config.electrons,
        photons=config.photons,
        data=config.data,
        max_events=config.max_events,
        seed=config.seed,
    )
    require_both_classes(dataset.labels, name=", ".join(dataset.paths))
    with timer.step("features"):
        table = cached_table(dataset, cache_dir=Path(config.cache_dir) / "features")
    split = stratified_split(dataset.labels, seed=config.seed)
    fitted, table = fit_models(table, dataset, split, settings=settings, tuning_dir=run_dir / "tuning", timer=timer)

    with timer.step("report"):
        scores = _score_frame(table, split, score_table(fitted.trees, table, with_cnn=fitted.cnn is not None))
        with atomic_path(run_dir / "scores.parquet") as tmp:
            scores.to_parquet(tmp, index=False)
        histories = {name: [tree_history(model)] for name, model in fitted.trees.items()}
        if fitted.cnn is not None:
            histories[CNN_MODEL] = [cnn_history(h) for h in fitted.cnn.histories]
        shap = shap_on_test_events(fitted.trees, table, scores["split"])
        metrics = publish(
            run_dir,
            title=f"egid run {run_dir.name}",
            scores=scores,
            models=fitted.names,
            table=table,
            trees=fitted.trees,
            data=data,
            config=dataclasses.asdict(config),
            histories=histories,
            shap=shap,
        )
    with timer.step("export"):
        probe = dataset.read_images(split.test[:256]) if fitted.cnn is not None else None
        export_models(
            fitted,
            table,
            split,
            run_dir / "models",
            thresholds=working_point_thresholds(metrics),
            seed=config.seed,
            shap=shap,
            probe_images=probe,
        )
    timer.write(run_dir / "timings.json")
    point_latest_to(run_dir)
    print(format_summary(metrics))
    print(
        f"run directory: {run_dir} ({sum(timer.seconds.values()):.0f} s, peak memory {timer.peak_memory_gib():.2f} GiB)"
    )
    return 0


def _resolved(config: RunConfig) -> RunConfig:
    """The settings with every default decided: the embedded simulation's files, the data label, simulated."""
    if not config.uses_embedded_simulation:
        label = config.data_label or "CMS Open Data"
        return dataclasses.replace(config, data_label=label, simulated=bool(config.simulated))
    from egid.simulation import default_sample

    electrons, photons = default_sample(config.n_per_class, seed=config.seed, cache_dir=config.cache_dir)
    return dataclasses.replace(
        config,
        electrons=str(electrons),
        photons=str(photons),
        data_label=config.data_label or "egid simulation",
        simulated=True if config.simulated is None else config.simulated,
    )


def _fit_settings(config: RunConfig) -> FitSettings:
    tuning = TuningSettings(
        n_trials=config.trials,
        timeout=config.timeout,
        tuning_rows=config.tuning_rows,
        storage=config.storage,
        study_name=config.study_name,
        resume=config.resume,
        seed=config.seed,
        # Every core: results depend on the thread count only through summation order, reproducibly.
        n_jobs=len(os.sched_getaffinity(0)),
        progress=True,
    )
    return FitSettings(
        tuning=tuning,
        cnn=config.cnn,
        cnn_folds=config.cnn_folds,
        cnn_epochs=config.cnn_epochs,
    )


def _score_frame(table: pd.DataFrame, split, model_scores: pd.DataFrame) -> pd.DataFrame:
    """``label``, ``split``, ``eta`` (when known) and one column per model, one row per event."""
    part = np.empty(len(table), dtype=object)
    for name in SPLIT_NAMES:
        part[getattr(split, name)] = name
    frame = pd.DataFrame({"label": table["label"].to_numpy(), "split": part})
    if "eta" in table:
        frame["eta"] = table["eta"].to_numpy()
    return pd.concat([frame, model_scores.reset_index(drop=True)], axis=1)
