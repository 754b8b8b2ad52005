"""Deterministic stratified splits and folds of a labelled dataset.

The same seed always gives the same train/validation/test split and the same K folds, so the boosted trees
and the CNN's cross-fitting agree on which events each model may see; and the same seeded subsample, whether
a single file is cut to ``--max-events`` or the tuning trials train on a part of the training split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from egid.detector.schema import IndexArray

__all__ = ("Split", "stratified_folds", "stratified_split", "stratified_subsample")


@dataclass(frozen=True)
class Split:
    """Sorted, disjoint event indices of the three parts of a dataset."""

    train: IndexArray
    validation: IndexArray
    test: IndexArray


def stratified_split(labels: npt.ArrayLike, *, seed: int, validation: float = 0.15, test: float = 0.15) -> Split:
    """Split event indices into train/validation/test, keeping each class's share in every part.

    Parameters
    ----------
    labels : array-like of shape (n_events,)
        Class labels.
    seed : int
        Seed of the permutation; the same seed and labels give the same split.
    validation, test : float
        Fractions of each class assigned to the validation and test parts; the rest is training.
    """
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        msg = f"validation and test fractions must be in (0, 1) and sum below 1, got {validation}, {test}"
        raise ValueError(msg)
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: tuple[list[IndexArray], list[IndexArray], list[IndexArray]] = ([], [], [])
    for value in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == value))
        n_val = round(validation * members.size)
        n_test = round(test * members.size)
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val : n_val + n_test])
        parts[0].append(members[n_val + n_test :])
    train, val, tst = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    return Split(train=train, validation=val, test=tst)


def stratified_folds(labels: npt.ArrayLike, *, n_folds: int, seed: int) -> npt.NDArray[np.int64]:
    """Assign each event a fold number in ``[0, n_folds)``, balanced per class.

    Returns
    -------
    folds : ndarray of shape (n_events,), int64
    """
    if n_folds < 2:
        msg = f"n_folds must be at least 2, got {n_folds}"
        raise ValueError(msg)
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds = np.empty(y.size, dtype=np.int64)
    for value in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == value))
        folds[members] = np.arange(members.size) % n_folds
    return folds


def stratified_subsample(labels: npt.ArrayLike, size: int | None, *, seed: int) -> IndexArray:
    """Sorted positions of a seeded random subsample of about ``size`` events, keeping each class's share.

    Each class contributes ``round(size * n_class / n_events)`` events drawn without replacement (classes in
    ascending label order, one generator), so the total may differ from ``size`` by rounding.

    Parameters
    ----------
    labels : array-like of shape (n_events,)
        Class labels.
    size : int or None
        Events wanted; None, or at least ``n_events``, keeps every position.
    seed : int
        Seed of the draw; the same seed and labels give the same positions.

    Returns
    -------
    positions : ndarray of shape (n_kept,), int64
    """
    y = np.asarray(labels)
    if size is None or size >= y.size:
        return np.arange(y.size, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts = [
        rng.choice(members, size=round(size * members.size / y.size), replace=False)
        for members in (np.flatnonzero(y == value) for value in np.unique(y))
    ]
    return np.sort(np.concatenate(parts)).astype(np.int64)
