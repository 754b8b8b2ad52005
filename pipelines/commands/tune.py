"""``egid tune``: a tuning worker that adds trials to shared Optuna studies; many run at once on many hosts.

Every worker takes the data options of ``egid run`` (same files, ``--max-events``, ``--seed``, ``--config``), so
all of them train on the events the run will refit on, and the same ``--storage URL --study-name NAME``. Each
joins the studies ``NAME-lightgbm``, ``NAME-xgboost`` and ``NAME-trigger`` (not with ``--no-trigger``) and runs
trials until each study holds ``--trials`` finished trials in total. ``egid run --storage URL --study-name NAME``
afterwards refits the best trials, then stacks, reports and exports. A killed worker's trial is found by its
stale heartbeat, marked failed and run again by another worker (see :mod:`egid.models.storage`).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

from egid.detector import InputError
from egid.pipelines.config import load_config
from egid.pipelines.prepare import (
    add_data_options,
    add_tuning_options,
    command_line_options,
    fit_settings,
    prepare_data,
    resolved,
)
from egid.pipelines.timing import StepTimer
from egid.pipelines.training import tune_shared_trees

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``tune`` the data options of ``run`` and the tuning options, ``--storage``/``--study-name`` required."""
    parser.description = "Add Optuna trials to shared studies (start many at once); `egid run` with the same "
    parser.description += "--storage and --study-name refits the best ones."
    parser.argument_default = argparse.SUPPRESS  # unset options must not override the config file
    add_data_options(parser)
    add_tuning_options(parser, shared=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the run's data, then run trials of the shared studies until each holds ``--trials``."""
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    options = command_line_options(args)
    config = load_config(getattr(args, "config", None), options)
    if config.pions is not None or config.with_pions:
        msg = "--pions: only egid run trains the three-class models (egid tune's workers tune binary studies)"
        raise InputError(msg)
    settings = fit_settings(config)  # the storage is checked before the embedded simulation may run
    config = resolved(config)
    storage = settings.tuning.storage
    if storage is None:  # argparse requires --storage; a config file cannot unset it
        msg = "--storage: egid tune needs a shared storage"
        raise InputError(msg)
    timer = StepTimer()
    timer.start()  # every input and the storage passed their checks
    prepared = prepare_data(config, timer)
    # A shared storage holds the studies; the tuning folder would only hold a private journal, never opened here.
    with tempfile.TemporaryDirectory(prefix="egid-tune-") as scratch:
        try:
            studies = tune_shared_trees(prepared.table, prepared.split, settings=settings, tuning_dir=Path(scratch))
        except KeyboardInterrupt as err:
            err.add_note(f"the finished trials stay in {config.storage}; start the worker again to add more")
            raise
        for study in studies:  # read from the shared storage: every worker's trials so far
            states = [t.state for t in study.trials]
            counts = ", ".join(f"{states.count(state)} {state.name.lower()}" for state in TrialState)
            logger.info("%s: %s", study.study_name, counts)
    return 0
