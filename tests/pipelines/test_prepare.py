"""Tests for egid.pipelines.prepare: the options shared by egid run and egid tune, how settings are resolved, the
events, their (cached) feature table, the split, and the fit settings built from a RunConfig."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egid.detector import InputError, stratified_split
from egid.features import FEATURE_NAMES, build_table
from egid.pipelines.config import RunConfig
from egid.pipelines.prepare import (
    DEFAULTS,
    add_data_options,
    add_tuning_options,
    command_line_options,
    feature_table,
    fit_settings,
    load_events,
    prepare_data,
    resolved,
)
from egid.pipelines.run import OneLineParser
from egid.pipelines.timing import StepTimer
from tests.conftest import write_crops, write_datasets


def parser(*, shared: bool = False) -> argparse.ArgumentParser:
    p = OneLineParser(argument_default=argparse.SUPPRESS)
    add_data_options(p)
    add_tuning_options(p, shared=shared)
    return p


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write_crops(tmp_path / "in" / "e.h5", 30, label=1.0, seed=1),
        write_crops(tmp_path / "in" / "p.h5", 30, label=0.0, seed=2),
    )


def test_defaults_are_the_run_configs() -> None:
    assert RunConfig() == DEFAULTS


def test_unset_options_are_absent() -> None:
    assert vars(parser().parse_args([])) == {}


def test_options_are_parsed() -> None:
    argv = ["--electrons", "a.h5", "b.h5", "--photons", "p.h5", "--events-per-class", "50", "--cache-dir", "c"]
    argv += ["--trials", "3", "--timeout", "2.5", "--no-trigger", "--tuning-rows", "100", "--heartbeat", "30"]
    args = vars(parser().parse_args(argv))
    assert args == {
        "electrons": ["a.h5", "b.h5"],
        "photons": ["p.h5"],
        "events_per_class": 50,
        "cache_dir": "c",
        "trials": 3,
        "timeout": 2.5,
        "trigger": False,
        "tuning_rows": 100,
        "heartbeat": 30,
    }


def test_shared_tuning_needs_storage_and_study_name() -> None:
    with pytest.raises(InputError, match=r"^the following arguments are required: --storage, --study-name$"):
        parser(shared=True).parse_args([])
    args = parser(shared=True).parse_args(["--storage", "j.log", "--study-name", "s"])
    assert (args.storage, args.study_name) == ("j.log", "s")


def test_workers_and_scheduler_exclude_each_other() -> None:
    with pytest.raises(InputError, match="not allowed with argument"):
        parser().parse_args(["--workers", "2", "--scheduler", "tcp://h:1"])


def test_command_line_options_keep_only_settings() -> None:
    args = argparse.Namespace(
        command="run", handler=print, verbose=True, config="c.yaml", electrons=["e.h5"], photons=["p1", "p2"], trials=2
    )
    assert command_line_options(args) == {"electrons": "e.h5", "photons": ["p1", "p2"], "trials": 2}


def test_command_line_options_carry_the_three_class_settings() -> None:
    args = argparse.Namespace(pions=["pi.h5"], with_pions=True, thresholds=[0.0, 15.0])
    assert command_line_options(args) == {"pions": "pi.h5", "with_pions": True, "thresholds": [0.0, 15.0]}


def test_resolved_files_keep_their_label_or_get_the_open_data_one(files: tuple[Path, Path]) -> None:
    config = RunConfig(electrons=str(files[0]), photons=str(files[1]))
    plain = resolved(config)
    assert (plain.data_label, plain.simulated) == ("CMS Open Data", False)
    assert plain.electrons == config.electrons
    labelled = resolved(dataclasses.replace(config, data_label="Geant4 sample", simulated=True))
    assert (labelled.data_label, labelled.simulated) == ("Geant4 sample", True)


def test_resolved_embedded_simulation_names_its_cached_files(tmp_path: Path) -> None:
    config = RunConfig(events_per_class=3, cache_dir=str(tmp_path / "cache"), seed=5)
    assert config.uses_embedded_simulation
    sample = resolved(config)
    assert not sample.uses_embedded_simulation
    assert Path(sample.electrons).is_file()
    assert Path(sample.photons).is_file()
    assert Path(sample.electrons).is_relative_to(tmp_path / "cache")
    assert (sample.data_label, sample.simulated) == ("egid simulation", True)
    # The same settings find the same cached files; an explicit simulated=False is kept.
    again = resolved(dataclasses.replace(config, simulated=False, data_label="mine"))
    assert (again.electrons, again.photons) == (sample.electrons, sample.photons)
    assert (again.data_label, again.simulated) == ("mine", False)


def test_load_events_expands_globs_and_checks_both_classes(files: tuple[Path, Path], tmp_path: Path) -> None:
    dataset = load_events(RunConfig(electrons=str(files[0].parent / "e*.h5"), photons=str(files[1])))
    assert dataset.paths == [str(files[0]), str(files[1])]
    np.testing.assert_array_equal(dataset.labels, np.r_[np.ones(30), np.zeros(30)])
    limited = load_events(RunConfig(electrons=str(files[0]), photons=str(files[1]), max_events=10))
    assert len(limited) == 10
    only_electrons = write_datasets(
        tmp_path / "only.h5", X=np.zeros((4, 32, 32, 2), np.float32), y=np.ones(4, np.float32)
    )
    with pytest.raises(InputError, match=rf"^{only_electrons}: holds no photons; training and evaluation need both"):
        load_events(RunConfig(data=str(only_electrons)))
    with pytest.raises(InputError, match=r"^--electrons: pattern '.*nothing\*\.h5' matches no file$"):
        load_events(RunConfig(electrons=str(tmp_path / "nothing*.h5"), photons=str(files[1])))


def test_feature_table_is_the_registry_table_and_is_cached(files: tuple[Path, Path], tmp_path: Path) -> None:
    config = RunConfig(electrons=str(files[0]), photons=str(files[1]), cache_dir=str(tmp_path / "cache"))
    dataset = load_events(config)
    timer = StepTimer()
    table = feature_table(dataset, config, timer)
    assert list(timer.seconds) == ["features"]
    expected = build_table(dataset.read_images(np.arange(len(dataset))))
    pd.testing.assert_frame_equal(table[list(FEATURE_NAMES)].reset_index(drop=True), expected.reset_index(drop=True))
    np.testing.assert_array_equal(table["label"], dataset.labels)
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "features").iterdir()}
    assert len([p for p in cached if p.suffix == ".parquet"]) == 1
    again = feature_table(load_events(config), config, timer)
    pd.testing.assert_frame_equal(again, table)
    # Read back, not recomputed: the cache files are the same, untouched.
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "features").iterdir()} == cached


def test_prepare_data_draws_the_seeded_split(files: tuple[Path, Path], tmp_path: Path) -> None:
    config = RunConfig(electrons=str(files[0]), photons=str(files[1]), cache_dir=str(tmp_path / "c"), seed=4)
    prepared = prepare_data(config, StepTimer())
    want = stratified_split(prepared.dataset.labels, seed=4)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(prepared.split, part), getattr(want, part))
    assert len(prepared.table) == len(prepared.dataset) == 60


def test_fit_settings_carry_the_config() -> None:
    config = RunConfig(
        trials=7, timeout=9.0, tuning_rows=500, seed=3, threads=2, cnn=False, stacked_trials=2, cnn_folds=4,
        cnn_epochs=5, cnn_init="scratch", trigger=False,
    )  # fmt: skip
    fit = fit_settings(config)
    t = fit.tuning
    assert (t.n_trials, t.timeout, t.tuning_rows, t.seed, t.n_jobs) == (7, 9.0, 500, 3, 2)
    assert (t.storage, t.study_name, t.resume) == (None, None, False)
    assert t.progress is False  # pytest captures stderr: no terminal
    assert (fit.cnn, fit.stacked_trials, fit.cnn_folds, fit.cnn_epochs, fit.cnn_init, fit.trigger) == (
        False,
        2,
        4,
        5,
        "scratch",
        False,
    )
    assert fit.seed == 3


def test_a_named_shared_study_is_joined_not_refused(tmp_path: Path) -> None:
    journal = tmp_path / "deep" / "journal.log"
    fit = fit_settings(RunConfig(storage=str(journal), study_name="s"))
    assert (fit.tuning.storage, fit.tuning.study_name, fit.tuning.resume) == (str(journal), "s", True)
    assert fit_settings(RunConfig(storage=str(journal))).tuning.resume is False
    assert fit_settings(RunConfig(resume=True)).tuning.resume is True


def test_a_journal_that_cannot_be_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match=rf"^{blocker / 'journal.log'}: cannot open the Optuna journal \("):
        fit_settings(RunConfig(storage=str(blocker / "journal.log")))
