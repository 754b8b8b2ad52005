"""Optuna tuning: resumable persisted studies, pruning, timeout, and a refit that reproduces the best trial."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FixedTrial, TrialState

from egid.detector import InputError
from egid.models import LightGBMParams, TuningSettings, tuning
from egid.models.boosters import lightgbm
from egid.models.trees import TREE_KINDS, fit_tree_model
from egid.models.tuning import JOURNAL_NAME, best_params_path, open_study, trials_path, tune, tune_and_fit

FAST = {"max_rounds": 60, "early_stopping_rounds": 10}


def run_tune(table, out_dir, *, kind="lightgbm", n_trials, warm_start=None, **settings):
    t = table
    return tune(
        kind,
        t.X_train,
        t.y_train,
        t.X_val,
        t.y_val,
        TuningSettings(n_trials=n_trials, seed=3, **FAST, **settings),
        out_dir=out_dir,
        warm_start=warm_start,
    )


def summary(study: optuna.Study) -> list[tuple[int, TrialState, float | None, dict]]:
    return [(t.number, t.state, t.value, t.params) for t in study.trials]


def test_resume_keeps_finished_trials_and_runs_only_the_missing_ones(tree_table, tmp_path):
    first = summary(run_tune(tree_table, tmp_path, n_trials=2))
    assert (tmp_path / JOURNAL_NAME).is_file()
    resumed = run_tune(tree_table, tmp_path, n_trials=4, resume=True)
    assert len(resumed.trials) == 4
    assert summary(resumed)[:2] == first
    assert summary(run_tune(tree_table, tmp_path, n_trials=3, resume=True)) == summary(resumed)


def test_an_existing_study_is_not_reused_without_resume(tree_table, tmp_path):
    run_tune(tree_table, tmp_path, n_trials=1)
    with pytest.raises(InputError, match=rf"{JOURNAL_NAME}: study 'egid-lightgbm' already has 1 trials"):
        run_tune(tree_table, tmp_path, n_trials=2)


def test_a_trial_left_running_by_a_killed_process_is_failed_and_replaced(tree_table, tmp_path):
    killed = open_study("lightgbm", out_dir=tmp_path)
    killed.ask()  # a trial that started and never reported back
    study = run_tune(tree_table, tmp_path, n_trials=1, resume=True)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]


@pytest.mark.slow
def test_a_shared_rdb_storage_accumulates_trials_from_separate_runs(tree_table, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    run_tune(tree_table, tmp_path / "machine_a", n_trials=1, storage=url, study_name="shared")
    study = run_tune(tree_table, tmp_path / "machine_b", n_trials=2, storage=url, study_name="shared", resume=True)
    assert len(study.trials) == 2
    assert not (tmp_path / "machine_a" / JOURNAL_NAME).exists()


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_the_median_pruner_stops_bad_trials_early(kind, tree_table, tmp_path):
    study = run_tune(tree_table, tmp_path, kind=kind, n_trials=8, pruner_startup_trials=2, pruner_warmup_rounds=3)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned, "no trial was pruned"
    assert all(max(t.intermediate_values) < FAST["max_rounds"] - 1 for t in pruned)


def test_timeout_stops_starting_new_trials(tree_table, tmp_path):
    study = run_tune(tree_table, tmp_path, n_trials=50, timeout=1e-3)
    assert len(study.trials) == 1


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_the_best_trial_model_is_kept_without_a_refit_and_equals_one(kind, tree_table, tmp_path, monkeypatch):
    t = tree_table
    refits = []
    real_refit = tuning._refit
    monkeypatch.setattr(tuning, "_refit", lambda *args: refits.append(args) or real_refit(*args))
    settings = TuningSettings(n_trials=3, seed=3, **FAST)
    model = tune_and_fit(kind, t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=tmp_path)
    best = json.loads(best_params_path(tmp_path, kind).read_text())
    trials = pd.read_csv(trials_path(tmp_path, kind))
    assert not refits
    assert len(trials) == 3 and trials["value"].max() == pytest.approx(best["validation_auc"], abs=1e-12)
    assert model.best_iteration == best["best_iteration"] <= len(model.history)
    assert model.history["validation_auc"].iloc[model.best_iteration - 1] == best["validation_auc"]
    assert model.history.filter(like="train_").notna().all(axis=None)  # a kept trial records its training set
    assert model.params_dict() == best["params"]
    exact = {"max_rounds": model.best_iteration, "early_stopping_rounds": None}
    refit = fit_tree_model(kind, t.X_train, t.y_train, t.X_val, t.y_val, params=model.params, seed=3, **exact)
    np.testing.assert_array_equal(model.predict(t.X_test), refit.predict(t.X_test))


def test_a_resumed_study_refits_the_best_trial_of_an_earlier_process(tree_table, tmp_path):
    t = tree_table
    first = tune_and_fit(
        "lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, TuningSettings(n_trials=3, seed=3, **FAST), out_dir=tmp_path
    )
    settings = TuningSettings(n_trials=3, seed=3, resume=True, **FAST)  # nothing left to run: the refit trains
    resumed = tune_and_fit("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=tmp_path)
    assert resumed is not first and len(resumed.history) == resumed.best_iteration == first.best_iteration
    np.testing.assert_array_equal(resumed.predict(t.X_test), first.predict(t.X_test))


def test_fixed_parameters_round_trip_through_the_search_space():
    values = {
        "learning_rate": 0.05,
        "num_leaves": 40,
        "max_depth": 6,
        "min_child_samples": 30,
        "min_child_weight": 0.1,
        "reg_alpha": 1e-3,
        "reg_lambda": 1.0,
        "colsample_bytree": 0.8,
        "subsample": 0.9,
        "subsample_freq": 2,
        "min_split_gain": 1e-4,
    }
    assert lightgbm.space(FixedTrial(values)) == LightGBMParams(**values)


KILLED_RUN = """
import sys
from egid.models.tuning import TuningSettings, tune
from tests.tree_fixtures import make_tree_table
t = make_tree_table()
settings = TuningSettings(n_trials=1000, seed=3, max_rounds=60, early_stopping_rounds=10)
tune("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=sys.argv[1])
"""


@pytest.mark.slow
def test_sigkill_loses_at_most_the_running_trial(tree_table, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path)], cwd=repo)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / JOURNAL_NAME)))
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            if (
                (tmp_path / JOURNAL_NAME).is_file()
                and optuna.get_all_study_names(storage)
                and (
                    len(
                        optuna.load_study(study_name="egid-lightgbm", storage=storage).get_trials(
                            states=(TrialState.COMPLETE, TrialState.PRUNED)
                        )
                    )
                    >= 2
                )
            ):
                break
    finally:
        process.kill()
        process.wait()
    # The journal lock died with its holder: a resumed run need not wait for a stale lock to expire.
    with open(tmp_path / f"{JOURNAL_NAME}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(lock, fcntl.LOCK_UN)
    before = summary(optuna.load_study(study_name="egid-lightgbm", storage=storage))
    finished = [trial for trial in before if trial[1] in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) >= 2, "the killed run should have finished two trials first"
    resumed = run_tune(tree_table, tmp_path, n_trials=len(finished) + 1, resume=True)
    after = summary(resumed)
    assert [trial for trial in after if trial[0] < len(before) and trial[1] != TrialState.FAIL] == finished
    assert len(resumed.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == len(finished) + 1
    assert not resumed.get_trials(states=(TrialState.RUNNING,))


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_warm_start_is_the_first_trial_of_a_new_study_only(kind, tree_table, tmp_path):
    # The related study's first trial: not what the new study's sampler draws after one finished trial.
    start = run_tune(tree_table, tmp_path / "related", kind=kind, n_trials=2).trials[0].params
    study = run_tune(tree_table, tmp_path / "new", kind=kind, n_trials=2, warm_start=start)
    assert study.trials[0].params == start
    assert study.trials[1].params != start
    before = summary(study)
    resumed = run_tune(tree_table, tmp_path / "new", kind=kind, n_trials=3, resume=True, warm_start=start)
    assert summary(resumed)[:2] == before and len(resumed.trials) == 3


def test_tuning_rows_tunes_on_a_stratified_subsample_and_refits_on_everything(tree_table, tmp_path, monkeypatch):
    t = tree_table
    seen = []
    real_optimize = tuning._optimize

    def spy(kind, X_train, y_train, *args, **kwargs):
        seen.append(np.asarray(y_train))
        return real_optimize(kind, X_train, y_train, *args, **kwargs)

    monkeypatch.setattr(tuning, "_optimize", spy)
    recorded = []
    real_fit = tuning.fit_tree_model

    def recording_fit(*args, **kwargs):
        recorded.append(kwargs.get("record_training", True))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(tuning, "fit_tree_model", recording_fit)
    settings = TuningSettings(n_trials=2, seed=3, tuning_rows=400, **FAST)
    model = tune_and_fit("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=tmp_path)
    # no trial's model is kept, so no trial evaluates its training set; the refit on every event does
    assert recorded == [False, False, True]
    assert model.history.filter(like="train_").notna().all(axis=None)
    (tuned_labels,) = seen
    assert abs(len(tuned_labels) - 400) <= 1
    assert tuned_labels.mean() == pytest.approx(np.mean(t.y_train), abs=0.01)
    refit = fit_tree_model("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, params=model.params, seed=3, **FAST)
    np.testing.assert_array_equal(model.predict(t.X_test), refit.predict(t.X_test))


def test_a_single_trial_trains_on_every_event_and_its_model_is_kept(tree_table, tmp_path, monkeypatch):
    """One trial chooses nothing: a tuning subsample would only cost a refit on every event."""
    t = tree_table
    monkeypatch.setattr(tuning, "_refit", lambda *args, **kwargs: pytest.fail("a one-trial study refitted"))
    settings = TuningSettings(n_trials=1, seed=3, tuning_rows=400, **FAST)
    model = tune_and_fit("lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, settings, out_dir=tmp_path)
    on_everything = fit_tree_model(
        "lightgbm", t.X_train, t.y_train, t.X_val, t.y_val, params=model.params, seed=3, **FAST
    )
    np.testing.assert_array_equal(model.predict(t.X_test), on_everything.predict(t.X_test))


def _interrupted_at(trial_number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make trial ``trial_number`` of the next study end as Ctrl-C does (failed, then the study stops)."""
    real = tuning.fit_tree_model
    calls = []

    def fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == trial_number + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tuning, "fit_tree_model", fit)


@pytest.mark.parametrize("failed", [0, 1, 3])
def test_a_study_interrupted_and_resumed_proposes_what_the_uninterrupted_one_did(
    failed: int, tree_table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever trial a Ctrl-C failed (0: the warm start), the finished trials match trial for trial."""
    start = run_tune(tree_table, tmp_path / "related", n_trials=1).trials[0].params
    whole = run_tune(tree_table, tmp_path / "whole", n_trials=5, warm_start=start)
    with monkeypatch.context() as patch:
        _interrupted_at(failed, patch)
        with pytest.raises(KeyboardInterrupt):
            run_tune(tree_table, tmp_path / "cut", n_trials=5, warm_start=start)
    resumed = run_tune(tree_table, tmp_path / "cut", n_trials=5, warm_start=start, resume=True)
    finished = [(t.params, t.value) for t in resumed.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert finished == [(t.params, t.value) for t in whole.trials]
    assert [t.state for t in resumed.trials].count(TrialState.FAIL) == 1
