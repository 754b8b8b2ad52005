"""Boosted-tree electron/photon classifiers (LightGBM and XGBoost) behind one wrapper, :class:`TreeModel`.

Both libraries train a binary classifier (electron = 1, photon = 0) on a table of named numeric feature columns
(NaN means "undefined for this event" and is routed by the trees' learned default direction). Training stops
early on the validation AUC, records logloss, AUC and accuracy on train and validation for every boosting
round, and keeps exactly the trees up to the best round, so every downstream user (export, importances,
scoring) sees one self-consistent booster.

Reproducibility: with the same input, seed and ``n_jobs`` both libraries give bit-identical boosters and
predictions (LightGBM with ``deterministic=True`` and row-wise histograms; XGBoost's ``hist`` method is
deterministic for a fixed thread count). A different ``n_jobs`` may change the last bits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from egid.detector.schema import FloatArray

__all__ = (
    "HISTORY_COLUMNS",
    "TREE_KINDS",
    "LightGBMParams",
    "Params",
    "TreeKind",
    "TreeModel",
    "XGBoostParams",
    "feature_matrix",
    "fit_lightgbm",
    "fit_tree_model",
    "fit_xgboost",
)

logger = logging.getLogger(__name__)

TreeKind: TypeAlias = Literal["lightgbm", "xgboost"]
TREE_KINDS: tuple[TreeKind, ...] = ("lightgbm", "xgboost")

#: Columns of :attr:`TreeModel.history`, one row per boosting round (index ``round``, 1-based).
HISTORY_COLUMNS = tuple(
    f"{split}_{metric}" for split in ("train", "validation") for metric in ("logloss", "auc", "accuracy")
)

_TRAIN, _VALIDATION = "train", "validation"
# Library metric name -> egid metric name; accuracy is stored as 1 - binary error (threshold 0.5).
_LIGHTGBM_METRICS = {"auc": "auc", "binary_logloss": "logloss", "binary_error": "accuracy"}
_XGBOOST_METRICS = {"auc": "auc", "logloss": "logloss", "error": "accuracy"}


@dataclass(frozen=True)
class LightGBMParams:
    """Hyperparameters of a LightGBM binary classifier (names follow LightGBM's scikit-learn API).

    Parameters
    ----------
    learning_rate : float, default=0.05
        Shrinkage applied to each new tree's output (``eta``); smaller values need more rounds.
    num_leaves : int, default=31
        Maximum number of leaves per tree, LightGBM's main capacity control (trees grow leaf-wise).
    max_depth : int, default=-1
        Maximum tree depth; ``-1`` means no limit (``num_leaves`` still bounds the tree).
    min_child_samples : int, default=20
        Minimum number of training events in a leaf (``min_data_in_leaf``).
    min_child_weight : float, default=1e-3
        Minimum sum of Hessians p(1-p) in a leaf (``min_sum_hessian_in_leaf``); guards against leaves of
        events the model is already sure about.
    reg_alpha : float, default=0.0
        L1 penalty on leaf values (``lambda_l1``).
    reg_lambda : float, default=0.0
        L2 penalty on leaf values (``lambda_l2``).
    colsample_bytree : float, default=1.0
        Fraction of features drawn (without replacement) for each tree (``feature_fraction``), in (0, 1].
    subsample : float, default=1.0
        Fraction of training events drawn for each bagging round (``bagging_fraction``), in (0, 1].
    subsample_freq : int, default=0
        Redraw the bagged events every ``subsample_freq`` rounds (``bagging_freq``); 0 disables bagging.
    min_split_gain : float, default=0.0
        Minimum loss reduction needed to split a leaf (``min_gain_to_split``).
    """

    learning_rate: float = 0.05
    num_leaves: int = 31
    max_depth: int = -1
    min_child_samples: int = 20
    min_child_weight: float = 1e-3
    reg_alpha: float = 0.0
    reg_lambda: float = 0.0
    colsample_bytree: float = 1.0
    subsample: float = 1.0
    subsample_freq: int = 0
    min_split_gain: float = 0.0

    def native(self) -> dict[str, Any]:
        """Return these parameters under LightGBM's native names, as ``lightgbm.train`` expects them."""
        return {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "min_sum_hessian_in_leaf": self.min_child_weight,
            "lambda_l1": self.reg_alpha,
            "lambda_l2": self.reg_lambda,
            "feature_fraction": self.colsample_bytree,
            "bagging_fraction": self.subsample,
            "bagging_freq": self.subsample_freq,
            "min_gain_to_split": self.min_split_gain,
        }


@dataclass(frozen=True)
class XGBoostParams:
    """Hyperparameters of an XGBoost binary classifier (``hist`` tree method; scikit-learn API names).

    Parameters
    ----------
    learning_rate : float, default=0.1
        Shrinkage applied to each new tree's output (``eta``); smaller values need more rounds.
    max_depth : int, default=6
        Maximum tree depth (trees grow depth-wise).
    min_child_weight : float, default=1.0
        Minimum sum of Hessians p(1-p) in a child; larger values make the trees more conservative.
    gamma : float, default=0.0
        Minimum loss reduction needed to split a leaf (``min_split_loss``).
    reg_alpha : float, default=0.0
        L1 penalty on leaf values (``alpha``).
    reg_lambda : float, default=1.0
        L2 penalty on leaf values (``lambda``).
    subsample : float, default=1.0
        Fraction of training events drawn (without replacement) for each tree, in (0, 1].
    colsample_bytree : float, default=1.0
        Fraction of features drawn for each tree, in (0, 1].
    """

    learning_rate: float = 0.1
    max_depth: int = 6
    min_child_weight: float = 1.0
    gamma: float = 0.0
    reg_alpha: float = 0.0
    reg_lambda: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0

    def native(self) -> dict[str, Any]:
        """Return these parameters under XGBoost's native names, as ``xgboost.train`` expects them."""
        return {
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "gamma": self.gamma,
            "alpha": self.reg_alpha,
            "lambda": self.reg_lambda,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
        }


Booster: TypeAlias = "lgb.Booster | xgb.Booster"
Params: TypeAlias = "LightGBMParams | XGBoostParams"


@dataclass(frozen=True, eq=False)
class TreeModel:
    """A trained boosted-tree classifier, the same for both libraries to every caller.

    Parameters
    ----------
    kind : {"lightgbm", "xgboost"}
        The library that trained ``booster``.
    booster : lightgbm.Booster or xgboost.Booster
        The trees, exactly ``best_iteration`` boosting rounds of them.
    feature_names : tuple of str
        The input columns, in the order the booster reads them.
    best_iteration : int
        Number of boosting rounds kept (1-based: the round with the best validation AUC).
    params : LightGBMParams or XGBoostParams
        The hyperparameters it was trained with.
    history : pandas.DataFrame
        One row per boosting round trained (index ``round``, from 1; may extend past ``best_iteration``
        when early stopping waited), columns :data:`HISTORY_COLUMNS`: logloss (nats per event), AUC and
        accuracy (1 - error rate at probability 0.5) on the train and validation samples.
    seed : int
        The seed it was trained with.
    """

    kind: TreeKind
    booster: Booster
    feature_names: tuple[str, ...]
    best_iteration: int
    params: Params
    history: pd.DataFrame = field(repr=False)
    seed: int = 0

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Return the electron probability of each row of ``X``, shape ``(n,)`` float64.

        ``X`` must hold every column of :attr:`feature_names` (extra columns are ignored, the order is free).
        """
        values = feature_matrix(X, self.feature_names)
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(values, num_iteration=self.best_iteration), dtype=np.float64)
        dmatrix = xgb.DMatrix(values, feature_names=list(self.feature_names))
        return np.asarray(self.booster.predict(dmatrix, iteration_range=(0, self.best_iteration)), dtype=np.float64)

    def contributions(self, X: pd.DataFrame) -> FloatArray:
        """Return exact TreeSHAP contributions in log-odds, shape ``(n, n_features + 1)``; the last column is the bias.

        Each row sums to the model's log-odds ``ln(p / (1 - p))`` for that event (Lundberg et al., "From local
        explanations to global understanding with explainable AI for trees", Nat. Mach. Intell. 2, 56 (2020)),
        computed by the boosters' own implementation.
        """
        values = feature_matrix(X, self.feature_names)
        if self.kind == "lightgbm":
            out = self.booster.predict(values, num_iteration=self.best_iteration, pred_contrib=True)
        else:
            dmatrix = xgb.DMatrix(values, feature_names=list(self.feature_names))
            out = self.booster.predict(dmatrix, iteration_range=(0, self.best_iteration), pred_contribs=True)
        return np.asarray(out, dtype=np.float64)

    def importance(self, kind: Literal["gain", "split"]) -> pd.Series:
        """Return the total gain (loss reduction summed over the splits on a feature) or the split count.

        Features never split on get 0. Gain is in the training loss' units (nats summed over events).
        """
        if self.kind == "lightgbm":
            values = self.booster.feature_importance(importance_type=kind, iteration=self.best_iteration)
            return pd.Series(np.asarray(values, dtype=np.float64), index=list(self.feature_names), name=kind)
        scores = self.booster.get_score(importance_type="total_gain" if kind == "gain" else "weight")
        return pd.Series(
            [float(scores.get(name, 0.0)) for name in self.feature_names], index=list(self.feature_names), name=kind
        )

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


def _history(evals: dict[str, dict[str, list[float]]], names: dict[str, str]) -> pd.DataFrame:
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for split in (_TRAIN, _VALIDATION):
        for library_name, metric in names.items():
            values = np.asarray(evals[split][library_name], dtype=np.float64)
            columns[f"{split}_{metric}"] = 1.0 - values if metric == "accuracy" else values
    frame = pd.DataFrame(columns)[list(HISTORY_COLUMNS)]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="round")
    return frame


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


def fit_lightgbm(
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    *,
    params: LightGBMParams = LightGBMParams(),
    max_rounds: int = 2000,
    early_stopping_rounds: int | None = 50,
    seed: int = 0,
    n_jobs: int = 1,
    callbacks: Sequence[Callable[..., Any]] = (),
) -> TreeModel:
    """Train a LightGBM binary classifier, stopping early on the validation AUC.

    Parameters
    ----------
    X_train, X_val : pandas.DataFrame
        Numeric feature columns (NaN allowed); ``X_val`` must hold ``X_train``'s columns.
    y_train, y_val : array-like of shape (n,)
        Labels, 1 for electrons and 0 for photons.
    params : LightGBMParams
        Hyperparameters.
    max_rounds : int, default=2000
        Most boosting rounds to train.
    early_stopping_rounds : int or None, default=50
        Stop when the validation AUC has not improved for this many rounds; None trains ``max_rounds``.
    seed : int, default=0
        Seed of bagging, feature sampling and binning.
    n_jobs : int, default=1
        Threads; results are bit-identical for a fixed value.
    callbacks : sequence of callables
        Extra ``lightgbm.train`` callbacks (e.g. Optuna's pruning callback on ``"validation"``/``"auc"``).

    Returns
    -------
    TreeModel
        With exactly the rounds up to the best validation AUC.
    """
    names, train, labels_train, val, labels_val = _checked_inputs(X_train, y_train, X_val, y_val)
    native = {
        "objective": "binary",
        # AUC first: early stopping with first_metric_only watches it.
        "metric": list(_LIGHTGBM_METRICS),
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": n_jobs,
        "feature_pre_filter": False,
        "verbosity": -1,
        **params.native(),
    }
    train_set = lgb.Dataset(train, labels_train, feature_name=list(names), params=native)
    val_set = lgb.Dataset(val, labels_val, reference=train_set)
    evals: dict[str, Any] = {}
    all_callbacks = [lgb.record_evaluation(evals), *callbacks]
    if early_stopping_rounds is not None:
        all_callbacks.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(
        native,
        train_set,
        num_boost_round=max_rounds,
        valid_sets=[train_set, val_set],
        valid_names=[_TRAIN, _VALIDATION],
        callbacks=all_callbacks,
    )
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    logger.debug("lightgbm: %d rounds trained, kept %d", booster.current_iteration(), best)
    return TreeModel(
        kind="lightgbm",
        booster=kept,
        feature_names=names,
        best_iteration=best,
        params=params,
        history=_history(evals, _LIGHTGBM_METRICS),
        seed=seed,
    )


def fit_xgboost(
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    *,
    params: XGBoostParams = XGBoostParams(),
    max_rounds: int = 2000,
    early_stopping_rounds: int | None = 50,
    seed: int = 0,
    n_jobs: int = 1,
    callbacks: Sequence[xgb.callback.TrainingCallback] = (),
) -> TreeModel:
    """Train an XGBoost binary classifier (``hist`` trees), stopping early on the validation AUC.

    Parameters are those of :func:`fit_lightgbm`, with :class:`XGBoostParams` and XGBoost training callbacks
    (e.g. Optuna's pruning callback on ``"validation-auc"``).
    """
    names, train, labels_train, val, labels_val = _checked_inputs(X_train, y_train, X_val, y_val)
    native = {
        "objective": "binary:logistic",
        "eval_metric": list(_XGBOOST_METRICS),
        "tree_method": "hist",
        "seed": seed,
        "nthread": n_jobs,
        "verbosity": 0,
        **params.native(),
    }
    train_set = xgb.DMatrix(train, labels_train, feature_names=list(names), nthread=n_jobs)
    val_set = xgb.DMatrix(val, labels_val, feature_names=list(names), nthread=n_jobs)
    all_callbacks = list(callbacks)
    if early_stopping_rounds is not None:
        all_callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=early_stopping_rounds, metric_name="auc", data_name=_VALIDATION, maximize=True, save_best=False
            )
        )
    evals: dict[str, Any] = {}
    booster = xgb.train(
        native,
        train_set,
        num_boost_round=max_rounds,
        evals=[(train_set, _TRAIN), (val_set, _VALIDATION)],
        evals_result=evals,
        verbose_eval=False,
        callbacks=all_callbacks,
    )
    rounds = booster.num_boosted_rounds()
    best = booster.best_iteration + 1 if early_stopping_rounds is not None else rounds
    kept = booster[:best]
    logger.debug("xgboost: %d rounds trained, kept %d", rounds, best)
    return TreeModel(
        kind="xgboost",
        booster=kept,
        feature_names=names,
        best_iteration=best,
        params=params,
        history=_history(evals, _XGBOOST_METRICS),
        seed=seed,
    )


def fit_tree_model(
    kind: TreeKind,
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    *,
    params: Params | None = None,
    max_rounds: int = 2000,
    early_stopping_rounds: int | None = 50,
    seed: int = 0,
    n_jobs: int = 1,
    callbacks: Sequence[Any] = (),
) -> TreeModel:
    """Train a model of ``kind`` with :func:`fit_lightgbm` or :func:`fit_xgboost` (``params`` None: defaults)."""
    if kind == "lightgbm":
        lgb_params = LightGBMParams() if params is None else params
        if not isinstance(lgb_params, LightGBMParams):
            msg = f"Expected LightGBMParams for a lightgbm model; got {type(params).__name__}."
            raise TypeError(msg)
        return fit_lightgbm(
            X_train,
            y_train,
            X_val,
            y_val,
            params=lgb_params,
            max_rounds=max_rounds,
            early_stopping_rounds=early_stopping_rounds,
            seed=seed,
            n_jobs=n_jobs,
            callbacks=callbacks,
        )
    if kind == "xgboost":
        xgb_params = XGBoostParams() if params is None else params
        if not isinstance(xgb_params, XGBoostParams):
            msg = f"Expected XGBoostParams for an xgboost model; got {type(params).__name__}."
            raise TypeError(msg)
        return fit_xgboost(
            X_train,
            y_train,
            X_val,
            y_val,
            params=xgb_params,
            max_rounds=max_rounds,
            early_stopping_rounds=early_stopping_rounds,
            seed=seed,
            n_jobs=n_jobs,
            callbacks=callbacks,
        )
    msg = f"Expected a tree kind among {TREE_KINDS}; got {kind!r}."
    raise ValueError(msg)
