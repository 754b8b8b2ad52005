"""Tests for egid.pipelines.training: study names, FitSettings, and the fitting step on a tiny table (1 trial)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from egid.detector import EventDataset, load_dataset, stratified_split
from egid.features import FEATURE_NAMES, build_table
from egid.models import TuningSettings
from egid.models.storage import JOURNAL_NAME, open_journal
from egid.pipelines.timing import StepTimer
from egid.pipelines.training import FitSettings, fit_models, study_name, tune_shared_trees
from tests.conftest import write_crops

TINY_TUNING = TuningSettings(n_trials=1, max_rounds=5, early_stopping_rounds=2, n_jobs=1, seed=3)


def settings(**changes: object) -> FitSettings:
    values: dict[str, object] = {
        "tuning": TINY_TUNING,
        "cnn": False,
        "stacked_trials": 1,
        "cnn_folds": 2,
        "cnn_epochs": None,
        "trigger": False,
    }
    return FitSettings(**(values | changes))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventDataset, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("events")
    dataset = load_dataset(
        electrons=[str(write_crops(folder / "e.h5", 40, label=1.0, seed=1))],
        photons=[str(write_crops(folder / "p.h5", 40, label=0.0, seed=2))],
    )
    table = build_table(dataset.read_images(np.arange(len(dataset)))).assign(label=dataset.labels)
    return dataset, table


def _journal_studies(path: Path) -> dict[str, int]:
    storage = open_journal(str(path))
    return {
        s.study_name: len([t for t in s.get_trials() if t.state.is_finished()])
        for s in (optuna.load_study(study_name=name, storage=storage) for name in optuna.get_all_study_names(storage))
    }


@pytest.mark.parametrize(
    ("prefix", "model", "expected"),
    [
        (None, "lightgbm", "egid-lightgbm"),
        (None, "xgboost+cnn", "egid-xgboost+cnn"),
        ("shared", "trigger", "shared-trigger"),
    ],
)
def test_study_name(prefix: str | None, model: str, expected: str) -> None:
    assert study_name(dataclasses.replace(TINY_TUNING, study_name=prefix), model) == expected


def test_fit_settings_defaults_and_seed() -> None:
    fit = settings()
    assert fit.cnn_init == "pretrained"
    assert fit.seed == 3
    assert settings(tuning=dataclasses.replace(TINY_TUNING, seed=11)).seed == 11
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.cnn = True  # type: ignore[misc]


def test_fit_models_without_cnn_tunes_one_tree_of_each_kind(
    events: tuple[EventDataset, pd.DataFrame], tmp_path: Path
) -> None:
    dataset, table = events
    split = stratified_split(dataset.labels, seed=3)
    timer = StepTimer()
    fitted, out = fit_models(table, dataset, split, settings=settings(), tuning_dir=tmp_path, timer=timer)
    assert out is table  # no cnn_score column without the CNN
    assert fitted.cnn is None
    assert sorted(fitted.trees) == ["lightgbm", "xgboost"]
    assert list(timer.seconds) == ["tune trees"]
    assert _journal_studies(tmp_path / "features_only" / JOURNAL_NAME) == {"egid-lightgbm": 1, "egid-xgboost": 1}
    # The trees read exactly the registry's features and score the events as probabilities.
    for tree in fitted.trees.values():
        assert tree.feature_names == tuple(FEATURE_NAMES)
        p = tree.predict(table.iloc[split.test])
        assert p.shape == (len(split.test),)
        assert np.all((p >= 0) & (p <= 1))


def test_fit_models_with_the_trigger_model(events: tuple[EventDataset, pd.DataFrame], tmp_path: Path) -> None:
    dataset, table = events
    split = stratified_split(dataset.labels, seed=3)
    timer = StepTimer()
    tuning = dataclasses.replace(TINY_TUNING, study_name="t")
    fitted, _ = fit_models(
        table, dataset, split, settings=settings(trigger=True, tuning=tuning), tuning_dir=tmp_path, timer=timer
    )
    assert sorted(fitted.trees) == ["lightgbm", "trigger", "xgboost"]
    assert list(timer.seconds) == ["tune trees", "tune trigger"]
    assert _journal_studies(tmp_path / "features_only" / JOURNAL_NAME) == {"t-lightgbm": 1, "t-xgboost": 1}
    assert _journal_studies(tmp_path / "trigger" / JOURNAL_NAME) == {"t-trigger": 1}


def test_tune_shared_trees_runs_the_trials_without_fitting(
    events: tuple[EventDataset, pd.DataFrame], tmp_path: Path
) -> None:
    dataset, table = events
    split = stratified_split(dataset.labels, seed=3)
    journal = tmp_path / "shared.journal"
    tuning = dataclasses.replace(TINY_TUNING, storage=str(journal), study_name="w")
    studies = tune_shared_trees(table, split, settings=settings(tuning=tuning), tuning_dir=tmp_path / "tuning")
    assert sorted(s.study_name for s in studies) == ["w-lightgbm", "w-xgboost"]
    assert _journal_studies(journal) == {"w-lightgbm": 1, "w-xgboost": 1}
    # A second worker finds the studies full and runs nothing more.
    tune_shared_trees(table, split, settings=settings(tuning=tuning), tuning_dir=tmp_path / "tuning")
    assert _journal_studies(journal) == {"w-lightgbm": 1, "w-xgboost": 1}
