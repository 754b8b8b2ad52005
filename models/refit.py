"""Refitting tuned boosters on other events: class-balanced, early-stopped, and side by side.

The three-class threshold study retrains its chosen models above each energy threshold with the hyperparameters
tuned on every event (:mod:`egid.pipelines.three_class`); benchmarks refit a tuned model per fold. Such refits are
independent of each other. A multiclass fit on tens of thousands of events keeps a second thread only partly
busy (part of each round is serial), so on a machine with more threads than refits need one each,
:func:`refit_side_by_side` trains the refits in worker threads with a share of the threads each rather than one
after the other with all of them (figures in ``docs/benchmarks.md``).

A refit is deterministic for a given number of threads (:func:`egid.models.trees.fit_tree_model`); side by side,
a refit gets ``threads // workers`` of them, so its trees can differ in the last bits from a refit with all the
threads, as they already do between machines with different idle cores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector import Split
from egid.detector.schema import IndexArray
from egid.models.boosters import get_booster_library
from egid.models.trees import TreeModel, class_balance_weights, fit_tree_model
from egid.models.tuning_settings import TuningSettings

__all__ = ("Refit", "refit_balanced", "refit_side_by_side", "refit_subset")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refit:
    """One refit of :func:`refit_side_by_side`: ``model``'s hyperparameters trained on the ``train`` rows and
    early-stopped on the ``validation`` rows (positions in the feature table)."""

    model: TreeModel
    train: IndexArray
    validation: IndexArray


def refit_balanced(
    model: TreeModel,
    table: pd.DataFrame,
    labels: npt.ArrayLike,
    train: npt.NDArray[np.integer],
    validation: npt.NDArray[np.integer],
    settings: TuningSettings,
    *,
    n_jobs: int | None = None,
    stop: threading.Event | None = None,
    record_training: bool = True,
) -> TreeModel:
    """``model``'s tuned hyperparameters refitted on the ``train`` rows of ``table`` (positions), class-balanced
    (:func:`egid.models.trees.class_balance_weights`) and early-stopped on the ``validation`` rows: how the
    three-class threshold study retrains above each threshold, and how benchmarks refit per fold.

    ``settings`` give the rounds, the patience and the threads (``n_jobs`` overrides the threads), as they did to
    the study that made ``model``: on the rows a class-balanced ``model`` was trained on, with the same threads,
    the refit is ``model`` again, bit for bit. Setting ``stop`` (from another thread) ends the fit after its
    current round with :class:`egid.models.boosters.base.FitStopped`; ``record_training=False`` leaves the
    training-set figures out of the history (:func:`egid.models.trees.fit_tree_model`).
    """
    columns = list(model.feature_names)
    y = np.asarray(labels, dtype=np.float64)
    callbacks = [] if stop is None else [get_booster_library(model.kind).stop_callback(stop)]
    return fit_tree_model(
        model.kind,
        table.iloc[train][columns],
        y[train],
        table.iloc[validation][columns],
        y[validation],
        params=model.params,
        max_rounds=settings.max_rounds,
        early_stopping_rounds=settings.early_stopping_rounds,
        seed=model.seed,
        n_jobs=settings.threads() if n_jobs is None else n_jobs,
        callbacks=callbacks,
        n_classes=model.n_classes,
        train_weights=class_balance_weights(y[train]),
        validation_weights=class_balance_weights(y[validation]),
        record_training=record_training,
    )


def _is_whole(train: npt.NDArray[np.integer], validation: npt.NDArray[np.integer], split: Split) -> bool:
    return train.size == split.train.size and validation.size == split.validation.size


def refit_subset(
    model: TreeModel,
    table: pd.DataFrame,
    labels: npt.ArrayLike,
    split: Split,
    train: npt.NDArray[np.integer],
    validation: npt.NDArray[np.integer],
    settings: TuningSettings,
) -> TreeModel:
    """``model``, fitted on ``split``'s training and validation rows, refitted by :func:`refit_balanced` on the
    subsets ``train`` and ``validation`` of them (a threshold's events); ``model`` itself when they are the whole
    parts, since a refit on the same rows would give it again (bit for bit with the same threads)."""
    if _is_whole(train, validation, split):
        return model
    return refit_balanced(model, table, labels, train, validation, settings)


def refit_side_by_side(
    refits: Sequence[Refit],
    table: pd.DataFrame,
    labels: npt.ArrayLike,
    split: Split,
    settings: TuningSettings,
    *,
    record_training: bool = True,
) -> list[TreeModel]:
    """:func:`refit_subset` of each refit, in the order given, the ones that train running side by side.

    With ``n`` threads (``settings.threads()``, read once) and ``k`` refits that train (a refit on the whole parts
    of ``split`` returns its model untrained), ``min(k, n)`` worker threads take ``n // workers`` threads each;
    with one thread, or one refit, they train one after the other with all of them. The largest refits
    (training rows times the model's rounds) start first, so the workers end at about the same time.

    When one refit raises, or the caller's thread is interrupted (Ctrl-C), the others stop after their current
    round and the exception propagates once they have: no fit outlives the call. ``record_training`` is
    :func:`refit_balanced`'s.
    """
    whole = {i for i, refit in enumerate(refits) if _is_whole(refit.train, refit.validation, split)}
    todo = sorted(
        (i for i in range(len(refits)) if i not in whole),
        key=lambda i: refits[i].train.size * refits[i].model.best_iteration,
        reverse=True,
    )
    threads = settings.threads()
    workers = min(len(todo), threads)
    stop = threading.Event()

    def train(i: int, n_jobs: int) -> TreeModel:
        refit = refits[i]
        return refit_balanced(
            refit.model,
            table,
            labels,
            refit.train,
            refit.validation,
            settings,
            n_jobs=n_jobs,
            stop=stop,
            record_training=record_training,
        )

    if workers <= 1:
        fitted = {i: train(i, threads) for i in todo}
    else:
        logger.debug(
            "refitting %d models side by side: %d workers of %d threads", len(todo), workers, threads // workers
        )
        futures: dict[int, Future[TreeModel]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="egid-refit") as pool:
            try:
                for i in todo:
                    futures[i] = pool.submit(train, i, threads // workers)
                fitted = _results(futures)
            except BaseException:
                stop.set()  # the running fits end after their round; cancel() drops those not started
                for future in futures.values():
                    future.cancel()
                wait(futures.values())
                finished = sum(not future.cancelled() and future.exception() is None for future in futures.values())
                logger.debug("refits side by side stopped: %d of %d had finished", finished, len(futures))
                raise
    return [refit.model if i in whole else fitted[i] for i, refit in enumerate(refits)]


def _results(futures: dict[int, Future[TreeModel]]) -> dict[int, TreeModel]:
    """Each future's model once all have finished, or the first failure as soon as one fails (a wait that Ctrl-C
    interrupts)."""
    done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)
    for future in done:
        error = future.exception()
        if error is not None:
            raise error
    return {i: future.result() for i, future in futures.items()}
