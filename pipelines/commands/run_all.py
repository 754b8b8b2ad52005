"""``egid run`` (the default): simulate if needed, features, tuned trees, CNN stacking, report and exports."""

from __future__ import annotations

import argparse
import dataclasses
import logging

import numpy as np
import optuna
import pandas as pd

from egid.detector import Split, atomic_path
from egid.evaluation.metrics import format_summary, working_point_thresholds
from egid.evaluation.publish import DataDescription, cnn_history, publish, shap_on_test_events, tree_history
from egid.pipelines.bundle import export_models
from egid.pipelines.config import load_config, save_config
from egid.pipelines.prepare import (
    add_data_options,
    add_tuning_options,
    command_line_options,
    fit_settings,
    prepare_data,
    resolved,
)
from egid.pipelines.rundir import new_run_dir, point_latest_to
from egid.pipelines.timing import StepTimer
from egid.pipelines.training import CNN_MODEL, fit_models, score_table

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "test")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the whole job. Options override --config, which overrides the defaults."
    parser.argument_default = argparse.SUPPRESS  # unset options must not override the config file
    add_data_options(parser)
    add_tuning_options(parser, shared=False)
    add = parser.add_argument
    add("--no-cnn", dest="cnn", action="store_false", help="skip the CNN head and the stacked trees")
    add("--cnn-folds", type=int, metavar="K", help="folds of the CNN cross-fitting (default 3)")
    add("--cnn-epochs", type=int, metavar="N", help="maximum CNN epochs per fold (default 6)")
    add("--out", metavar="DIR", help="run directory (default reports/runs/<name>)")
    add("--name", help="run name (default: UTC time stamp)")
    add("--resume", action="store_true", help="continue the Optuna studies of an existing run directory --out")
    add("--data-label", metavar="TEXT", help="name of the data on the plots (default: 'CMS Open Data')")
    add("--simulated", action="store_true", help="the input files are simulated (the plots say so)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Optuna reports an interrupted trial as a warning with a traceback; egid says "interrupted" itself.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    options = command_line_options(args)
    timer = StepTimer()
    with timer.step("simulate or find inputs"):
        config = resolved(load_config(getattr(args, "config", None), options))
    run_dir = new_run_dir(config.out, config.name, resume=config.resume)
    save_config(config, run_dir / "config.yaml")
    data = DataDescription(label=str(config.data_label), simulated=bool(config.simulated))
    prepared = prepare_data(config, timer)
    dataset, split = prepared.dataset, prepared.split
    fitted, table = fit_models(
        prepared.table, dataset, split, settings=fit_settings(config), tuning_dir=run_dir / "tuning", timer=timer
    )

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


def _score_frame(table: pd.DataFrame, split: Split, model_scores: pd.DataFrame) -> pd.DataFrame:
    """``label``, ``split``, ``eta`` (when known) and one column per model, one row per event."""
    part = np.empty(len(table), dtype=object)
    for name in SPLIT_NAMES:
        part[getattr(split, name)] = name
    frame = pd.DataFrame({"label": table["label"].to_numpy(), "split": part})
    if "eta" in table:
        frame["eta"] = table["eta"].to_numpy()
    return pd.concat([frame, model_scores.reset_index(drop=True)], axis=1)
