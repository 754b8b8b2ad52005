"""Deterministic stratified splits and folds of a labelled dataset.

The same seed always gives the same train/validation/test split and the same K folds, so the boosted trees
and the CNN's cross-fitting agree on which events each model may see; and the same seeded subsample, whether
a single file is cut to ``--max-events`` or the tuning trials train on a part of the training split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from egid.detector.schema import IndexArray

__all__ = ("Split", "stratified_folds", "stratified_ranks", "stratified_split", "stratified_subsample")


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
    """Sorted positions of a seeded random subsample of ``size`` events with each class's share of ``labels``.

    Datasets keep the classes in blocks (all electrons, then all photons), so the first ``size`` rows are no
    sample: every subset egid draws for SHAP, for figures or for parity checks comes from here.

    Parameters
    ----------
    labels : array-like of shape (n_events,)
        Class labels (any values; NaN, the label of unlabelled events, counts as one class).
    size : int or None
        Events wanted; None or at least ``n_events`` returns every position.
    seed : int
        Seed of the draw; the same seed and labels give the same subsample.

    Returns
    -------
    positions : ndarray of shape (min(size, n_events),), int64
        Sorted, distinct positions into ``labels``. Each class gets ``round(size * share)`` events, the
        largest remainders taking what rounding leaves, so the total is exactly ``size``.
    """
    y = np.asarray(labels)
    if size is None or size >= y.size:
        return np.arange(y.size, dtype=np.int64)
    codes = np.unique(y, return_inverse=True)[1].ravel()  # NaN, the unlabelled events, is one class
    members = [np.flatnonzero(codes == code) for code in range(int(codes.max()) + 1)]
    ranks = stratified_ranks([m.size for m in members], size, seed=seed)
    return np.sort(np.concatenate([m[r] for m, r in zip(members, ranks, strict=True)])).astype(np.int64)


def stratified_ranks(class_sizes: Sequence[int], size: int, *, seed: int) -> list[IndexArray]:
    """For each class, the sorted ranks (positions within that class) of a seeded stratified subsample.

    The one rule behind :func:`stratified_subsample` and the streamed ``--max-events`` subset of a file too large
    to hold its labels in memory (:func:`egid.detector.load_dataset`): only the class sizes are needed, so a
    caller can count the classes in one pass and map ranks to rows in a second.

    Parameters
    ----------
    class_sizes : sequence of int
        Events of each class (each at least 1), in a fixed class order.
    size : int
        Events wanted in all, ``0 <= size <= sum(class_sizes)``.
    seed : int
        Seed of the draw.

    Returns
    -------
    ranks : list of ndarray, int64
        One sorted array per class; class i gets ``round(size * share_i)`` ranks, the largest remainders taking
        what rounding leaves, so the counts sum to exactly ``size``.
    """
    sizes = np.asarray(class_sizes, dtype=np.int64)
    if not 0 <= size <= sizes.sum():
        msg = f"Expected a subsample size in [0, {int(sizes.sum())}]; got {size}."
        raise ValueError(msg)
    exact = size * sizes / sizes.sum()
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact, kind="stable")[: size - int(counts.sum())]] += 1
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(int(n), size=int(k), replace=False)) for n, k in zip(sizes, counts, strict=True)]
