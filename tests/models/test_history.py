"""TrainingHistory: the plain, frozen form of a model's learning curves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from egid.models.history import TrainingHistory


def test_curves_are_frozen_copies() -> None:
    losses = [0.6, 0.5, 0.45]
    curves = {"train": {"logloss": losses}, "validation": {"logloss": [0.62, 0.55, 0.5]}}
    history = TrainingHistory("boosting round", curves, best=2)
    losses[0] = 99.0
    assert history.steps == 3
    np.testing.assert_array_equal(history.curve("train", "logloss"), [0.6, 0.5, 0.45])
    assert history.curve("validation", "accuracy") is None
    with pytest.raises(TypeError):
        history.curves["train"]["logloss"] = (1.0,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        history.best = 3


@pytest.mark.parametrize(
    ("curves", "best", "match"),
    [
        ({"test": {"logloss": [0.5]}}, None, r"history splits among \('train', 'validation'\); got 'test'"),
        ({"train": {"f1": [0.5]}}, None, r"history metrics among \('logloss', 'accuracy', 'auc'\); got \['f1'\]"),
        ({"train": {"logloss": [0.5, 0.4]}, "validation": {"logloss": [0.5]}}, None, r"got lengths \[1, 2\]"),
        ({"train": {"logloss": []}}, None, r"non-empty curves"),
        ({"train": {"logloss": [0.5, 0.4]}}, 3, r"best between 1 and 2 \(the number of steps\); got 3"),
    ],
)
def test_rejects_inconsistent_histories(curves: dict, best: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainingHistory("epoch", curves, best=best)
