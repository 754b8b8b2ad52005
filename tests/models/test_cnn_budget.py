"""The CNN's training budget: the planned images against a direct transcription of the docstring's formula, the
steps and evaluation points that follow from it, and the refused settings; and that the module needs no torch."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egid.models import cnn_budget
from egid.models.cnn_budget import (
    CNN_INIT_PRETRAINED,
    CNN_INIT_SCRATCH,
    DEFAULT_FOLDS,
    FINE_TUNING_BUDGET,
    SCRATCH_BUDGET,
    TrainingBudget,
)


def planned_images_reference(budget: TrainingBudget, n: int) -> int:
    """N_plan = min(clip(e n, N_min, N_max), e_cap n), at least one image, spelled out case by case."""
    wanted = budget.epochs * n
    if wanted < budget.min_images:
        wanted = budget.min_images
    if wanted > budget.max_images:
        wanted = budget.max_images
    if budget.max_epochs is not None and budget.max_epochs * n < wanted:
        wanted = budget.max_epochs * n
    return max(1, round(wanted))


budgets = st.builds(
    lambda epochs, low, span, cap, evaluations: TrainingBudget(
        epochs=epochs, min_images=low, max_images=low + span, max_epochs=cap, evaluations=evaluations
    ),
    epochs=st.floats(0.1, 50),
    low=st.integers(1, 10**6),
    span=st.integers(0, 10**6),
    cap=st.none() | st.floats(0.01, 20),
    evaluations=st.integers(1, 30),
)


@given(budget=budgets, n=st.integers(0, 10**6))
def test_planned_images_follow_the_formula(budget: TrainingBudget, n: int) -> None:
    assert budget.planned_images(n) == planned_images_reference(budget, n)


@given(budget=budgets, n=st.integers(0, 10**6), batch=st.integers(1, 1024))
def test_planned_steps_are_the_batches_that_cover_the_plan(budget: TrainingBudget, n: int, batch: int) -> None:
    steps = budget.planned_steps(n, batch)
    assert (steps - 1) * batch < budget.planned_images(n) <= steps * batch


@given(budget=budgets, n=st.integers(0, 10**5))
def test_the_plan_grows_with_the_sample_and_stays_within_its_bounds(budget: TrainingBudget, n: int) -> None:
    assert 1 <= budget.planned_images(n) <= budget.planned_images(n + 1000)
    assert budget.planned_images(n) <= budget.max_images


@given(evaluations=st.integers(1, 50), n_steps=st.integers(1, 10**5))
def test_evaluations_are_evenly_spread_and_end_on_the_last_step(evaluations: int, n_steps: int) -> None:
    steps = TrainingBudget(evaluations=evaluations).evaluation_steps(n_steps)
    count = min(evaluations, n_steps)
    assert len(steps) == count and steps[-1] == n_steps and steps[0] >= 1
    gaps = [b - a for a, b in itertools.pairwise([0, *steps])]  # positive gaps: strictly increasing steps
    assert min(gaps) >= 1
    assert max(gaps) - min(gaps) <= 1 and min(gaps) == n_steps // count


def test_fine_tuning_never_plans_more_than_training_from_scratch() -> None:
    for n in (100, 1_867, 12_000, 100_000, 348_000, 10**7):
        assert FINE_TUNING_BUDGET.planned_images(n) <= SCRATCH_BUDGET.planned_images(n)
    assert FINE_TUNING_BUDGET.evaluations < SCRATCH_BUDGET.evaluations
    assert FINE_TUNING_BUDGET.patience is not None and SCRATCH_BUDGET.patience is not None
    assert FINE_TUNING_BUDGET.patience < SCRATCH_BUDGET.patience


def test_a_budget_is_frozen_and_patience_none_trains_the_whole_plan() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCRATCH_BUDGET.epochs = 1.0  # type: ignore[misc]
    assert TrainingBudget(patience=None).patience is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"epochs": -1.0},
            "TrainingBudget: expected epochs > 0 and 1 <= min_images <= max_images, got epochs=-1.0, "
            "min_images=400000, max_images=1000000",
        ),
        ({"min_images": 0, "max_images": 5}, "got epochs=12.0, min_images=0, max_images=5"),
        ({"max_epochs": -2.0}, "TrainingBudget: expected max_epochs > 0 or None, got -2.0"),
        (
            {"evaluations": 0},
            "TrainingBudget: expected evaluations >= 1 and patience >= 1 or None, got 0, 4",
        ),
        ({"evaluations": 3, "patience": -1}, "got 3, -1"),
        ({"warmup": 0.0}, "TrainingBudget: expected 0 < warmup < 1, got 0.0"),
        ({"warmup": 1.5}, "TrainingBudget: expected 0 < warmup < 1, got 1.5"),
    ],
)
def test_each_impossible_setting_is_named_with_its_value(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingBudget(**settings)


def test_the_cross_fitting_and_init_constants() -> None:
    assert DEFAULT_FOLDS >= 2  # the out-of-fold score needs K >= 2
    assert DEFAULT_FOLDS == 3
    assert {CNN_INIT_PRETRAINED, CNN_INIT_SCRATCH} == {"pretrained", "scratch"}


def test_the_module_imports_only_the_standard_library() -> None:
    """No torch (nor numpy): the command line and the run's settings read the budget without the training code."""
    tree = ast.parse(Path(cnn_budget.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "math", "dataclasses", "typing"}
