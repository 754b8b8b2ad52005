"""Refitting tuned boosters on other events: the tuned parameters kept, the rows given learnt from, the whole
parts reused, and the refits side by side giving what they give one after the other, stopping together."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from egid.detector import stratified_split
from egid.models.refit import Refit, refit_balanced, refit_side_by_side, refit_subset
from egid.models.three_class import fit_three_class
from egid.models.trees import TreeModel
from egid.models.tuning import TuningSettings
from tests.three_class_fixtures import three_class_table

FAST = {"max_rounds": 60, "early_stopping_rounds": 5, "n_jobs": 1}


@pytest.fixture(scope="module")
def events() -> tuple[pd.DataFrame, np.ndarray]:
    return three_class_table(60, seed=0)


@pytest.fixture(scope="module")
def models(events: tuple, tmp_path_factory: pytest.TempPathFactory) -> dict[str, TreeModel]:
    table, y = events
    split = stratified_split(y, seed=0)
    return fit_three_class(
        table, y, split, TuningSettings(n_trials=1, **FAST), tuning_dir=tmp_path_factory.mktemp("tuning")
    )


def test_a_refit_keeps_the_tuned_parameters_and_learns_from_the_rows_given(events: tuple, models: dict) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    settings = TuningSettings(n_trials=1, **FAST)
    test = table.iloc[split.test]
    for model in models.values():
        again = refit_balanced(model, table, y, split.train, split.validation, settings)
        assert (again.kind, again.params, again.n_classes) == (model.kind, model.params, 3)
        np.testing.assert_array_equal(
            again.predict(test),
            refit_balanced(model, table, y, split.train, split.validation, settings).predict(test),
        )  # deterministic
        # on the rows it was trained on, a refit is the model itself: the threshold study reuses it
        np.testing.assert_array_equal(again.predict(test), model.predict(test))
        accuracy = np.mean(again.predict(test).argmax(axis=1) == y[split.test])
        assert accuracy > 0.8
        fewer = refit_balanced(model, table, y, split.train[::3], split.validation, settings)
        assert not np.array_equal(fewer.predict(test), again.predict(test))
        # refit_subset skips the refit on the whole parts and refits on a subset of them
        assert refit_subset(model, table, y, split, split.train, split.validation, settings) is model
        subset = refit_subset(model, table, y, split, split.train[::3], split.validation, settings)
        np.testing.assert_array_equal(subset.predict(test), fewer.predict(test))


def _refit_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("egid-refit")}


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_refits_side_by_side_give_each_refit_with_its_share_of_the_threads(
    events: tuple, models: dict, threads: int
) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    lightgbm, xgboost = models["lightgbm"], models["xgboost"]
    refits = [
        Refit(xgboost, split.train[::2], split.validation),
        Refit(lightgbm, split.train, split.validation),  # the whole parts: the model itself
        Refit(lightgbm, split.train[1::2], split.validation[::2]),
    ]
    settings = TuningSettings(n_trials=1, **(FAST | {"n_jobs": threads}))
    fitted = refit_side_by_side(refits, table, y, split, settings)
    assert fitted[1] is lightgbm
    share = threads if threads == 1 else threads // 2  # two refits train: two workers
    test = table.iloc[split.test]
    for refit, model in zip(refits[::2], fitted[::2], strict=True):
        alone = refit_balanced(refit.model, table, y, refit.train, refit.validation, settings, n_jobs=share)
        assert (model.kind, model.params, model.best_iteration) == (alone.kind, alone.params, alone.best_iteration)
        np.testing.assert_array_equal(model.predict(test), alone.predict(test))
    assert not _refit_threads()


def test_a_failing_refit_stops_the_others_and_its_error_comes_back(
    events: tuple, models: dict, caplog: pytest.LogCaptureFixture
) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    no_pions = split.train[y[split.train] != 2]
    refits = [
        Refit(models["xgboost"], split.train[::2], split.validation),
        Refit(models["lightgbm"], no_pions, split.validation),  # a class missing: the fit refuses
    ]
    settings = TuningSettings(
        n_trials=1, **(FAST | {"n_jobs": 2, "max_rounds": 100_000, "early_stopping_rounds": 100_000})
    )
    with (
        caplog.at_level(logging.DEBUG, logger="egid.models.refit"),
        pytest.raises(ValueError, match=r"to hold each of the classes 0 \.\. 2"),
    ):
        refit_side_by_side(refits, table, y, split, settings)
    # the 100 000-round fit beside it was stopped (or never started), not waited for, and no thread is left
    assert "refits side by side stopped: 0 of 2 had finished" in caplog.messages
    assert not _refit_threads()


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt) for the test, whatever the runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_every_refit_side_by_side(
    events: tuple, models: dict, caplog: pytest.LogCaptureFixture, ctrl_c: None
) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    refits = [Refit(model, split.train[::2], split.validation) for model in models.values()]
    settings = TuningSettings(
        n_trials=1, **(FAST | {"n_jobs": 2, "max_rounds": 100_000, "early_stopping_rounds": 100_000})
    )

    def press_ctrl_c_once_fitting() -> None:
        while not _refit_threads():
            time.sleep(0.01)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_once_fitting)
    presser.start()
    with caplog.at_level(logging.DEBUG, logger="egid.models.refit"), pytest.raises(KeyboardInterrupt):
        refit_side_by_side(refits, table, y, split, settings)
    presser.join()
    assert "refits side by side stopped: 0 of 2 had finished" in caplog.messages
    assert not _refit_threads()


def test_refits_that_do_not_record_the_training_set_predict_the_same(events: tuple, models: dict) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    refits = [Refit(model, split.train[::2], split.validation) for model in models.values()]
    settings = TuningSettings(n_trials=1, **(FAST | {"n_jobs": 2}))
    recorded = refit_side_by_side(refits, table, y, split, settings)
    unrecorded = refit_side_by_side(refits, table, y, split, settings, record_training=False)
    test = table.iloc[split.test]
    for full, lean in zip(recorded, unrecorded, strict=True):
        np.testing.assert_array_equal(lean.predict(test), full.predict(test))
        assert lean.history.filter(like="train_").isna().all(axis=None)
        assert full.history[["train_logloss", "train_accuracy"]].notna().all(axis=None)
