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

Three classes (electron / photon / charged pion): ``fit_tree_model(..., n_classes=3)`` trains a multiclass model
(LightGBM ``multiclass``, XGBoost ``multi:softprob``) on labels 0 (photon), 1 (electron), 2 (pion), early-stopped
on the validation multiclass log-loss; its :meth:`TreeModel.predict` returns ``(n, 3)`` probabilities whose
column ``k`` is the class of label ``k``. Binary models are trained exactly as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector.schema import FloatArray, class_name
from egid.models.boosters import TREE_KINDS, BoosterParams, TreeKind, get_booster_library
from egid.models.boosters.base import BINARY, HISTORY_COLUMNS, ImportanceType

__all__ = (
    "EARLY_STOPPING_ROUNDS",
    "HISTORY_COLUMNS",
    "MAX_ROUNDS",
    "TREE_KINDS",
    "TreeKind",
    "TreeModel",
    "class_balance_weights",
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
    n_classes : int
        2 for an electron/photon model; 3 for an electron/photon/charged-pion model.
    """

    kind: TreeKind
    booster: Any
    feature_names: tuple[str, ...]
    best_iteration: int
    params: BoosterParams
    history: pd.DataFrame = field(repr=False)
    seed: int = 0
    n_classes: int = BINARY

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Return the electron probability of each row of ``X``, shape ``(n,)`` float64; a multiclass model's
        class probabilities, shape ``(n, n_classes)``, column ``k`` the class of label ``k``, rows summing to 1.

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

    def class_importance(self) -> pd.DataFrame:
        """Return the total gain per feature and class: one row per feature, one column per class name.

        The gain of the splits in the trees that raise each class's score (a multiclass model grows one tree per
        class and round), in the training loss' units (nats summed over weighted events); each row sums to
        :meth:`importance` ``"gain"``. A binary model has one column, ``"electron"`` (its trees raise the
        electron log-odds).
        """
        values = get_booster_library(self.kind).class_gain(self.booster, self.best_iteration)
        names = [class_name(1.0)] if self.n_classes == BINARY else [class_name(k) for k in range(self.n_classes)]
        return pd.DataFrame(values, index=list(self.feature_names), columns=names)

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


def _labels(y: npt.ArrayLike, n_rows: int, name: str, n_classes: int) -> npt.NDArray[np.float64]:
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if labels.shape[0] != n_rows:
        msg = f"Expected {name} to have one label per row ({n_rows}); got {labels.shape[0]}."
        raise ValueError(msg)
    classes = set(np.unique(labels).tolist())
    if n_classes == BINARY and classes != {0.0, 1.0}:
        msg = f"Expected {name} to hold both classes 0 (photon) and 1 (electron); found {sorted(classes)}."
        raise ValueError(msg)
    if classes != set(map(float, range(n_classes))):
        msg = f"Expected {name} to hold each of the classes 0 .. {n_classes - 1}; found {sorted(classes)}."
        raise ValueError(msg)
    return labels


def class_balance_weights(labels: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per-event weights inversely proportional to the count of the event's class, averaging 1.

    .. math:: w_i = \\frac{N}{K \\, N_{c(i)}}

    for ``N`` events in ``K`` classes, ``N_c`` of class ``c``: every class carries the same total weight ``N / K``
    in the training loss, so a class with fewer events (the pion files are smaller) is not neglected, and the
    weighted log-loss is the mean of the per-class log-losses (what ``sklearn``'s ``class_weight="balanced"``
    does). On balanced samples every weight is 1.

    Parameters
    ----------
    labels : array-like of shape (n_events,)
        Class labels.

    Returns
    -------
    weights : ndarray of shape (n_events,), float64
    """
    y = np.asarray(labels).reshape(-1)
    values, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return np.asarray(y.size / (values.size * counts[codes.reshape(-1)]), dtype=np.float64)


def _weights(w: npt.ArrayLike | None, n_rows: int, name: str) -> npt.NDArray[np.float64] | None:
    if w is None:
        return None
    weights = np.asarray(w, dtype=np.float64).reshape(-1)
    if weights.shape[0] != n_rows or not (np.isfinite(weights) & (weights > 0)).all():
        msg = f"Expected {name} to hold one finite weight > 0 per row ({n_rows}); got {weights.shape[0]} values."
        raise ValueError(msg)
    return weights


def _checked_inputs(
    X_train: pd.DataFrame, y_train: npt.ArrayLike, X_val: pd.DataFrame, y_val: npt.ArrayLike, n_classes: int
) -> tuple[
    tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]:
    if n_classes < BINARY:
        msg = f"Expected n_classes >= 2; got {n_classes}."
        raise ValueError(msg)
    names = tuple(str(column) for column in X_train.columns)
    if len(set(names)) != len(names) or not names:
        msg = f"Expected distinct, non-empty feature column names; got {list(names)}."
        raise ValueError(msg)
    train, val = feature_matrix(X_train, names), feature_matrix(X_val, names)
    return (
        names,
        train,
        _labels(y_train, len(train), "y_train", n_classes),
        val,
        _labels(y_val, len(val), "y_val", n_classes),
    )


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
    n_classes: int = BINARY,
    train_weights: npt.ArrayLike | None = None,
    validation_weights: npt.ArrayLike | None = None,
    record_training: bool = True,
) -> TreeModel:
    """Train a binary classifier of ``kind``, stopping early on the validation AUC (or a multiclass one).

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
    n_classes : int, default=2
        2: the electron/photon classifier above. More: a multiclass model of labels ``0 .. n_classes - 1``
        (three classes: 0 photon, 1 electron, 2 pion), early-stopped on the validation multiclass log-loss.
    train_weights, validation_weights : array-like of shape (n,), optional
        Per-event weights (finite, > 0) of the training loss and of the validation metrics that early stopping
        watches; None weighs every event 1. Class-balancing weights keep a rarer class from being neglected.
    record_training : bool, default=True
        False evaluates the validation set alone each round: the history's training columns are NaN, the trees
        the same. For fits whose history nobody reads (tuning trials whose model is not kept, the threshold
        study's refits): evaluating the training set costs a share of every round.

    Returns
    -------
    TreeModel
        With exactly the rounds up to the best validation AUC (multiclass: log-loss).

    Raises
    ------
    ValueError
        On an unknown ``kind``, a missing column, labels that do not hold every class, or bad weights.
    TypeError
        When ``params`` belong to another library.
    """
    library = get_booster_library(kind)
    chosen = library.PARAMS_TYPE() if params is None else params
    if not isinstance(chosen, library.PARAMS_TYPE):
        msg = f"Expected {library.PARAMS_TYPE.__name__} for a {kind} model; got {type(params).__name__}."
        raise TypeError(msg)
    names, train, labels_train, val, labels_val = _checked_inputs(X_train, y_train, X_val, y_val, n_classes)
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
        n_classes=n_classes,
        train_weights=_weights(train_weights, len(train), "train_weights"),
        validation_weights=_weights(validation_weights, len(val), "validation_weights"),
        record_training=record_training,
    )
    return TreeModel(
        kind=kind,
        booster=fitted.booster,
        feature_names=names,
        best_iteration=fitted.best_iteration,
        params=chosen,
        history=fitted.history,
        seed=seed,
        n_classes=n_classes,
    )
