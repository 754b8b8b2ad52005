"""Boosted-tree electron/photon classifiers (LightGBM and XGBoost) behind one wrapper, :class:`TreeModel`.

Both libraries train a binary classifier (electron = 1, photon = 0) on a table of named numeric feature columns
(NaN means "undefined for this event" and is routed by the trees' learned default direction). Training stops
early on the validation AUC, records logloss, AUC and accuracy on train and validation for every boosting
round, and keeps exactly the trees up to the best round, so every downstream user (export, importances,
scoring) sees one self-consistent booster.

Reproducibility: with the same input, seed and ``n_jobs`` both libraries give bit-identical boosters and
predictions (LightGBM with ``deterministic=True`` and row-wise histograms; XGBoost's ``hist`` method is
deterministic for a fixed thread count). A different ``n_jobs`` may change the last bits.

The library specifics live in :mod:`egid.models.boosters` (one module per library); :class:`TreeModel` delegates
to the module of its ``kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector.schema import FloatArray
from egid.models.boosters import TREE_KINDS, BoosterParams, TreeKind, get_booster_library
from egid.models.boosters.base import HISTORY_COLUMNS, ImportanceType

__all__ = (
    "EARLY_STOPPING_ROUNDS",
    "HISTORY_COLUMNS",
    "MAX_ROUNDS",
    "TREE_KINDS",
    "TreeKind",
    "TreeModel",
    "feature_matrix",
    "fit_tree_model",
)

logger = logging.getLogger(__name__)

MAX_ROUNDS = 2000
"""Default most boosting rounds of a fit."""
EARLY_STOPPING_ROUNDS = 50
"""Default patience of early stopping: rounds without a better validation AUC before training stops."""


@dataclass(frozen=True, eq=False)
class TreeModel:
    """A trained boosted-tree classifier, the same for both libraries to every caller.

    Parameters
    ----------
    kind : {"lightgbm", "xgboost"}
        The library that trained ``booster`` (see :func:`egid.models.boosters.get_booster_library`).
    booster : lightgbm.Booster or xgboost.Booster
        The trees, exactly ``best_iteration`` boosting rounds of them.
    feature_names : tuple of str
        The input columns, in the order the booster reads them.
    best_iteration : int
        Number of boosting rounds kept (1-based: the round with the best validation AUC).
    params : LightGBMParams or XGBoostParams
        The hyperparameters it was trained with (the library's ``PARAMS_TYPE``).
    history : pandas.DataFrame
        One row per boosting round trained (index ``round``, from 1; may extend past ``best_iteration``
        when early stopping waited), columns :data:`HISTORY_COLUMNS`: logloss (nats per event), AUC and
        accuracy (1 - error rate at probability 0.5) on the train and validation samples.
    seed : int
        The seed it was trained with.
    """

    kind: TreeKind
    booster: Any
    feature_names: tuple[str, ...]
    best_iteration: int
    params: BoosterParams
    history: pd.DataFrame = field(repr=False)
    seed: int = 0

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Return the electron probability of each row of ``X``, shape ``(n,)`` float64.

        ``X`` must hold every column of :attr:`feature_names` (extra columns are ignored, the order is free).
        """
        values = feature_matrix(X, self.feature_names)
        return get_booster_library(self.kind).predict(self.booster, values, self.best_iteration)

    def contributions(self, X: pd.DataFrame) -> FloatArray:
        """Return exact TreeSHAP contributions in log-odds, shape ``(n, n_features + 1)``; the last column is the bias.

        Each row sums to the model's log-odds ``ln(p / (1 - p))`` for that event (Lundberg et al., "From local
        explanations to global understanding with explainable AI for trees", Nat. Mach. Intell. 2, 56 (2020)),
        computed by the boosters' own implementation.
        """
        values = feature_matrix(X, self.feature_names)
        return get_booster_library(self.kind).contributions(self.booster, values, self.best_iteration)

    def importance(self, kind: ImportanceType) -> pd.Series:
        """Return the total gain (loss reduction summed over the splits on a feature) or the split count.

        Features never split on get 0. Gain is in the training loss' units (nats summed over events).
        """
        values = get_booster_library(self.kind).importance(self.booster, kind, self.best_iteration)
        return pd.Series(values, index=list(self.feature_names), name=kind)

    def leaf_counts(self) -> npt.NDArray[np.int64]:
        """Leaves of each kept tree, shape ``(n_trees,)``: the size that the cost of TreeSHAP grows with."""
        return get_booster_library(self.kind).leaf_counts(self.booster, self.best_iteration)

    def params_dict(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict (scikit-learn API names), for JSON files and reports."""
        return asdict(self.params)


def feature_matrix(X: pd.DataFrame, feature_names: Sequence[str]) -> npt.NDArray[np.float64]:
    """Return the columns ``feature_names`` of ``X`` as a C-ordered float64 array, in that order.

    Raises
    ------
    ValueError
        When a column is missing, naming the missing ones.
    """
    missing = [name for name in feature_names if name not in X.columns]
    if missing:
        msg = f"Expected the feature table to hold the model's {len(feature_names)} columns; missing {missing}."
        raise ValueError(msg)
    return np.ascontiguousarray(X[list(feature_names)].to_numpy(dtype=np.float64))


def _labels(y: npt.ArrayLike, n_rows: int, name: str) -> npt.NDArray[np.float64]:
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if labels.shape[0] != n_rows:
        msg = f"Expected {name} to have one label per row ({n_rows}); got {labels.shape[0]}."
        raise ValueError(msg)
    classes = set(np.unique(labels).tolist())
    if classes != {0.0, 1.0}:
        msg = f"Expected {name} to hold both classes 0 (photon) and 1 (electron); found {sorted(classes)}."
        raise ValueError(msg)
    return labels


def _checked_inputs(
    X_train: pd.DataFrame, y_train: npt.ArrayLike, X_val: pd.DataFrame, y_val: npt.ArrayLike
) -> tuple[
    tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]:
    names = tuple(str(column) for column in X_train.columns)
    if len(set(names)) != len(names) or not names:
        msg = f"Expected distinct, non-empty feature column names; got {list(names)}."
        raise ValueError(msg)
    train, val = feature_matrix(X_train, names), feature_matrix(X_val, names)
    return names, train, _labels(y_train, len(train), "y_train"), val, _labels(y_val, len(val), "y_val")


def fit_tree_model(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    *,
    params: BoosterParams | None = None,
    max_rounds: int = MAX_ROUNDS,
    early_stopping_rounds: int | None = EARLY_STOPPING_ROUNDS,
    seed: int = 0,
    n_jobs: int = 1,
    callbacks: Sequence[Any] = (),
) -> TreeModel:
    """Train a binary classifier of ``kind``, stopping early on the validation AUC.

    Parameters
    ----------
    kind : {"lightgbm", "xgboost"}
        The library.
    X_train, X_val : pandas.DataFrame
        Numeric feature columns (NaN allowed); ``X_val`` must hold ``X_train``'s columns.
    y_train, y_val : array-like of shape (n,)
        Labels, 1 for electrons and 0 for photons.
    params : LightGBMParams or XGBoostParams, optional
        Hyperparameters of the library's ``PARAMS_TYPE``; None takes its defaults.
    max_rounds : int, default=2000
        Most boosting rounds to train.
    early_stopping_rounds : int or None, default=50
        Stop when the validation AUC has not improved for this many rounds; None trains ``max_rounds``.
    seed : int, default=0
        Seed of bagging, feature sampling and binning.
    n_jobs : int, default=1
        Threads; results are bit-identical for a fixed value.
    callbacks : sequence
        Extra training callbacks of the library, e.g. its Optuna ``pruning_callback(trial)``.

    Returns
    -------
    TreeModel
        With exactly the rounds up to the best validation AUC.

    Raises
    ------
    ValueError
        On an unknown ``kind``, a missing column or labels that do not hold both classes.
    TypeError
        When ``params`` belong to another library.
    """
    library = get_booster_library(kind)
    chosen = library.PARAMS_TYPE() if params is None else params
    if not isinstance(chosen, library.PARAMS_TYPE):
        msg = f"Expected {library.PARAMS_TYPE.__name__} for a {kind} model; got {type(params).__name__}."
        raise TypeError(msg)
    names, train, labels_train, val, labels_val = _checked_inputs(X_train, y_train, X_val, y_val)
    fitted = library.fit(
        train,
        labels_train,
        val,
        labels_val,
        names,
        params=chosen,
        max_rounds=max_rounds,
        early_stopping_rounds=early_stopping_rounds,
        seed=seed,
        n_jobs=n_jobs,
        callbacks=callbacks,
    )
    return TreeModel(
        kind=kind,
        booster=fitted.booster,
        feature_names=names,
        best_iteration=fitted.best_iteration,
        params=chosen,
        history=fitted.history,
        seed=seed,
    )
