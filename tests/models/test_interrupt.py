"""Ctrl-C during a study stops it cleanly wherever it lands, and no recorded trial is lost."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import optuna
import pytest
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

from egid.models.interrupt import TrialBoundaryInterrupt


@pytest.fixture(autouse=True)
def _python_sigint_handler() -> Iterator[None]:
    """Each test starts from Python's own Ctrl-C handler, whatever an earlier test in this worker process left
    (an xdist worker runs many tests in one process; a handler that is not callable is not held by design)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _InterruptedWhileRecording(InMemoryStorage):
    """Storage that receives SIGINT while Optuna writes a trial's final state (inside ``study.tell``)."""

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
        done = super().set_trial_state_values(trial_id, state, values)
        if state.is_finished():
            os.kill(os.getpid(), signal.SIGINT)
        return done


def _optimize(study: optuna.Study, objective: Any, n_trials: int = 5) -> None:
    with TrialBoundaryInterrupt() as interrupt:
        study.optimize(interrupt.objective(objective), n_trials=n_trials, callbacks=[interrupt.after_trial])


def test_interrupt_while_a_trial_is_recorded_stops_after_recording_it() -> None:
    study = optuna.create_study(storage=_InterruptedWhileRecording(), direction="maximize")
    with pytest.raises(KeyboardInterrupt):
        _optimize(study, lambda trial: trial.suggest_float("x", 0.0, 1.0))
    assert [t.state for t in study.get_trials(deepcopy=False)] == [TrialState.COMPLETE]


def test_interrupt_while_training_stops_the_trial_at_once() -> None:
    finished_training = []

    def objective(trial: optuna.Trial) -> float:
        os.kill(os.getpid(), signal.SIGINT)
        finished_training.append(trial.number)
        return 1.0

    study = optuna.create_study(direction="maximize")
    with pytest.raises(KeyboardInterrupt):
        _optimize(study, objective)
    assert finished_training == []
    assert [t.state for t in study.get_trials(deepcopy=False)] == [TrialState.FAIL]


def test_uninterrupted_study_runs_every_trial_and_restores_the_handler() -> None:
    before = signal.getsignal(signal.SIGINT)
    study = optuna.create_study(direction="maximize")
    _optimize(study, lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=4)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", ["training", "recording"])
def test_each_signal_stops_the_study_with_its_own_exception(signum: int, where: str) -> None:
    """SIGTERM, turned into an exception by the command line, is held and raised like Ctrl-C, as ``Terminated``."""
    from egid.pipelines import signals

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    try:

        class _Storage(InMemoryStorage):
            def set_trial_state_values(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
                done = super().set_trial_state_values(trial_id, state, values)
                if where == "recording" and state.is_finished():
                    os.kill(os.getpid(), signum)
                return done

        def objective(trial: optuna.Trial) -> float:
            if where == "training":
                os.kill(os.getpid(), signum)
            return trial.suggest_float("x", 0.0, 1.0)

        study = optuna.create_study(storage=_Storage(), direction="maximize")
        expected = signals.Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        with pytest.raises(expected) as caught:
            _optimize(study, objective)
        assert isinstance(caught.value, signals.Terminated) == (signum == signal.SIGTERM)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        assert states == ([TrialState.FAIL] if where == "training" else [TrialState.COMPLETE])
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
