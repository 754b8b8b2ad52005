"""Stratified, deterministic, disjoint splits, folds and subsamples."""

from __future__ import annotations

import numpy as np
import pytest

from egid.detector import stratified_folds, stratified_split, stratified_subsample

LABELS = np.r_[np.ones(700), np.zeros(300)]


def test_split_is_a_disjoint_partition() -> None:
    split = stratified_split(LABELS, seed=1)
    parts = np.concatenate([split.train, split.validation, split.test])
    np.testing.assert_array_equal(np.sort(parts), np.arange(LABELS.size))
    assert len(split.validation) == 150 and len(split.test) == 150


@pytest.mark.parametrize("part", ["train", "validation", "test"])
def test_split_keeps_the_class_fraction(part: str) -> None:
    indices = getattr(stratified_split(LABELS, seed=2), part)
    assert LABELS[indices].mean() == pytest.approx(0.7, abs=0.005)


def test_split_depends_only_on_the_seed() -> None:
    a, b, c = (stratified_split(LABELS, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_split_rejects_impossible_fractions() -> None:
    with pytest.raises(ValueError, match="sum below 1"):
        stratified_split(LABELS, seed=0, validation=0.6, test=0.5)


def test_folds_are_balanced_per_class_and_seeded() -> None:
    folds = stratified_folds(LABELS, n_folds=4, seed=0)
    for value in (0.0, 1.0):
        counts = np.bincount(folds[value == LABELS], minlength=4)
        assert counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(folds, stratified_folds(LABELS, n_folds=4, seed=0))


@pytest.mark.parametrize("size", [1, 7, 100, 999])
def test_subsample_has_exactly_the_size_asked_for_and_each_class_share(size: int) -> None:
    drawn = stratified_subsample(LABELS, size, seed=3)
    assert drawn.size == size and np.all(np.diff(drawn) > 0)
    assert abs(LABELS[drawn].sum() - 0.7 * size) <= 1


def test_subsample_of_class_sorted_labels_is_not_their_first_rows() -> None:
    drawn = stratified_subsample(LABELS, 100, seed=0)
    assert LABELS[drawn].sum() == 70 and drawn.max() >= 700
    np.testing.assert_array_equal(drawn, stratified_subsample(LABELS, 100, seed=0))
    assert not np.array_equal(drawn, stratified_subsample(LABELS, 100, seed=1))


def test_subsample_keeps_unlabelled_events_as_a_class_and_everything_when_small() -> None:
    labels = np.r_[np.ones(4), np.full(4, np.nan)]
    assert np.isnan(labels[stratified_subsample(labels, 4, seed=0)]).sum() == 2
    np.testing.assert_array_equal(stratified_subsample(labels, None, seed=0), np.arange(8))
    np.testing.assert_array_equal(stratified_subsample(labels, 50, seed=0), np.arange(8))
    with pytest.raises(ValueError, match="size in \\[0, 8\\]"):
        stratified_subsample(labels, -1, seed=0)


@pytest.mark.parametrize("size", [None, 1000, 5000])
def test_subsample_of_at_least_everything_keeps_every_row(size: int | None) -> None:
    np.testing.assert_array_equal(stratified_subsample(LABELS, size, seed=0), np.arange(LABELS.size))
