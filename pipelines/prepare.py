"""The data and settings shared by ``egid run`` and its tuning workers ``egid tune``.

Both resolve the same options the same way (defaults, then ``--config``, then the command line), load the same
events, compute (or read from the cache) the same feature table and draw the same seeded split, so that every
worker of a shared Optuna study trains and validates on exactly the events of the run that refits.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from egid.detector import EventDataset, Split, load_dataset, require_classes, stratified_split
from egid.features import cached_table
from egid.models import TuningSettings
from egid.models.storage import open_journal, open_rdb
from egid.models.trigger import TRIGGER_LIMITS
from egid.pipelines.config import THREE_CLASS_TUNING_ROWS, RunConfig
from egid.pipelines.inputs import add_extraction_arguments, add_input_arguments, input_files
from egid.pipelines.options import option_type
from egid.pipelines.progress import progress_bars
from egid.pipelines.timing import StepTimer
from egid.pipelines.training import FitSettings

DEFAULTS = RunConfig()
"""The defaults that the options' help texts quote (one source: :class:`RunConfig`)."""

__all__ = (
    "CNN_PROBE_EVENTS",
    "PreparedData",
    "add_data_options",
    "add_tuning_options",
    "command_line_options",
    "feature_table",
    "fit_settings",
    "load_events",
    "prepare_data",
    "resolved",
)


CNN_PROBE_EVENTS = 256
"""Test crops, drawn seeded and stratified by class, on which each CNN fold's ONNX graph must match torch."""


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose the events and their features (the parser must use ``argument_default=SUPPRESS``)."""
    add_input_arguments(parser, required=False)
    add_extraction_arguments(parser)
    add = parser.add_argument
    add("--config", metavar="FILE.yaml", help="settings file; keys are the option names with '_'")
    add(
        "--events-per-class",
        type=option_type("events_per_class"),
        metavar="N",
        help=f"events per class of the embedded simulation (default {DEFAULTS.events_per_class})",
    )
    add(
        "--cache-dir",
        metavar="DIR",
        help=f"cache of simulated samples and feature tables (default {DEFAULTS.cache_dir})",
    )


def add_tuning_options(parser: argparse.ArgumentParser, *, shared: bool) -> None:
    """The Optuna options; ``shared`` (``egid tune``) makes ``--storage`` and ``--study-name`` required."""
    add = parser.add_argument
    add(
        "--trials",
        type=option_type("trials"),
        metavar="N",
        help=f"finished Optuna trials per tree model and study (default {DEFAULTS.trials})",
    )
    add("--timeout", type=option_type("timeout"), metavar="SECONDS", help="tuning time limit per tree model")
    add(
        "--no-trigger",
        dest="trigger",
        action="store_false",
        help=f"skip the trigger-sized model and its study ({TRIGGER_LIMITS.describe()})",
    )
    add(
        "--tuning-rows",
        type=option_type("tuning_rows"),
        metavar="N",
        help=f"tune on at most N training events (default {DEFAULTS.tuning_rows}"
        + ("" if shared else f"; three-class runs {THREE_CLASS_TUNING_ROWS}")  # egid tune tunes binary studies only
        + ")",
    )
    add(
        "--threads",
        type=option_type("threads"),
        metavar="N",
        help="threads of each tree fit (default: before each fit, the cores other jobs leave idle)",
    )
    add("--storage", metavar="URL", required=shared, help="shared Optuna storage, e.g. postgresql://user@host/db")
    add("--study-name", metavar="NAME", required=shared, help="prefix of the shared study names in --storage")
    add(
        "--heartbeat",
        type=option_type("heartbeat"),
        metavar="SECONDS",
        help=f"heartbeat of running trials in --storage (default {DEFAULTS.heartbeat})",
    )


def command_line_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line, as :func:`egid.pipelines.config.load_config` overrides.

    One file given to ``--electrons``/``--photons`` stays a plain string (as in a config file); several stay a list.
    """
    skip = ("command", "handler", "verbose", "config")
    options = {key: value for key, value in vars(args).items() if key not in skip}
    return {key: v[0] if isinstance(v, list) and len(v) == 1 else v for key, v in options.items()}


def resolved(config: RunConfig) -> RunConfig:
    """The settings with every default decided: the embedded simulation's files (pions too with ``with_pions``),
    the data label, simulated."""
    if not config.uses_embedded_simulation:
        label = config.data_label or "CMS Open Data"
        return dataclasses.replace(config, data_label=label, simulated=bool(config.simulated))
    from egid.simulation import default_sample

    particles = ("electron", "photon", "pion") if config.with_pions else ("electron", "photon")
    files = default_sample(config.events_per_class, seed=config.seed, cache_dir=config.cache_dir, particles=particles)
    return dataclasses.replace(
        config,
        electrons=str(files[0]),
        photons=str(files[1]),
        pions=str(files[2]) if config.with_pions else None,
        data_label=config.data_label or "egid simulation",
        simulated=True if config.simulated is None else config.simulated,
    )


@dataclass(frozen=True)
class PreparedData:
    """The events of a run, their feature table (rows in dataset order) and the train/validation/test split."""

    dataset: EventDataset
    table: pd.DataFrame
    split: Split


def load_events(config: RunConfig) -> EventDataset:
    """Open and validate the events of the resolved ``config`` (files and globs expanded, every class of the task
    present: electrons and photons, and pions when there are any)."""
    dataset = load_dataset(
        electrons=input_files(config.electrons, option="--electrons"),
        photons=input_files(config.photons, option="--photons"),
        pions=input_files(config.pions, option="--pions") if config.pions is not None else None,
        data=config.data,
        max_events=config.max_events,
        seed=config.seed,
    )
    require_classes(dataset.labels, name=dataset.source)
    return dataset


def feature_table(
    dataset: EventDataset, config: RunConfig, timer: StepTimer, *, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The feature table of ``dataset`` (columns ``names``, default the e/gamma set) from the cache under
    ``cache_dir/features``.

    Computed in this process or, with ``scheduler``/``workers``, on a Dask cluster one file per task
    (:mod:`egid.features.distributed`).
    """
    cache = Path(config.cache_dir) / "features"
    with timer.step("features"):
        if config.scheduler is None and config.workers is None:
            return cached_table(dataset, cache_dir=cache, names=names)
        from egid.features.distributed import dask_client, extract_distributed

        with dask_client(scheduler=config.scheduler, workers=config.workers) as client:
            return extract_distributed(dataset, client=client, cache_dir=cache, names=names)


def prepare_data(config: RunConfig, timer: StepTimer) -> PreparedData:
    """:func:`load_events`, :func:`feature_table` and the seeded train/validation/test split of ``config``."""
    dataset = load_events(config)
    table = feature_table(dataset, config, timer)
    return PreparedData(dataset=dataset, table=table, split=stratified_split(dataset.labels, seed=config.seed))


def fit_settings(config: RunConfig) -> FitSettings:
    """How to fit the models of ``config``. A database ``storage`` is opened here, with the chosen heartbeat."""
    shared = config.storage is not None and config.study_name is not None
    storage = config.storage
    if storage and "://" not in storage:
        open_journal(storage)  # a journal path that cannot hold a file is refused before any work
    tuning = TuningSettings(
        n_trials=config.trials,
        timeout=config.timeout,
        tuning_rows=config.tuning_rows,
        storage=open_rdb(storage, heartbeat=config.heartbeat) if storage and "://" in storage else storage,
        study_name=config.study_name,
        # A study named on the command line in a shared storage is joined, not refused: workers fill it.
        resume=config.resume or shared,
        seed=config.seed,
        n_jobs=config.threads,
        progress=progress_bars(),
    )
    return FitSettings(
        tuning=tuning,
        cnn=config.cnn,
        stacked_trials=config.stacked_trials,
        cnn_folds=config.cnn_folds,
        cnn_epochs=config.cnn_epochs,
        cnn_init=config.cnn_init,
        trigger=config.trigger,
    )
