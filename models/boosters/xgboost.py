"""XGBoost behind :class:`~egid.models.boosters.base.BoosterLibrary`: the only module that imports ``xgboost``.

Trees grow depth-wise with the ``hist`` method, which is deterministic for a fixed input, seed and thread
count. The native file is XGBoost's JSON model, which carries the feature names in order.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import optuna
import xgboost as xgb
from optuna.trial import BaseTrial
from optuna_integration import XGBoostPruningCallback

from egid.detector.schema import FloatArray
from egid.models.artifacts import reading
from egid.models.boosters.base import (
    BINARY,
    LEARNING_RATE_MIN,
    TRAIN,
    VALIDATION,
    BoosterParams,
    FitStopped,
    FittedBooster,
    ImportanceType,
    Matrix,
    SplittingConvention,
    history_frame,
)

__all__ = (
    "NAME",
    "NATIVE_FILE",
    "PARAMS_TYPE",
    "SPLITTING_CONVENTION",
    "XGBoostParams",
    "class_gain",
    "contributions",
    "depth_capped_space",
    "feature_names",
    "fit",
    "importance",
    "leaf_counts",
    "load_native",
    "n_classes",
    "native_bytes",
    "onnx_graph",
    "onnx_input_names",
    "predict",
    "pruning_callback",
    "space",
    "stop_callback",
)

logger = logging.getLogger(__name__)

NAME: Final = "xgboost"
NATIVE_FILE: Final = "xgboost.json"
# A split sends x < split_condition to the left child (x >= split_condition to the right): GetNextNode in
# https://github.com/dmlc/xgboost/blob/master/src/predictor/predict_fn.h (``!(fvalue < tree.SplitCond(nid))``);
# onnxmltools converts it to BRANCH_LT nodes.
SPLITTING_CONVENTION: Final[SplittingConvention] = "<"

# Library metric name -> egid metric name; the early-stopping callback watches "auc" by name.
_METRICS = {"auc": "auc", "logloss": "logloss", "error": "accuracy"}
# Multiclass (multi:softprob): the log-loss, which early stopping watches by name, and the error of the argmax.
_MULTI_METRICS = {"mlogloss": "logloss", "merror": "accuracy"}
_IMPORTANCE = {"gain": "total_gain", "split": "weight"}


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


PARAMS_TYPE: Final = XGBoostParams


_DEPTHS = (2, 10)
"""Smallest and largest tree depth of the search space."""


def space(trial: BaseTrial) -> XGBoostParams:
    """The XGBoost search space: depth 2-10, minimum child weight, split penalty, L1/L2 and sampling."""
    return _space(trial, max_depth=_DEPTHS[1])


def depth_capped_space(max_depth: int) -> Callable[[BaseTrial], XGBoostParams]:
    """:func:`space` with the tree depth drawn from ``[min(2, max_depth), max_depth]``, every other range unchanged.

    Depth-wise trees of depth at most ``max_depth`` have at most ``2**max_depth`` leaves: the limit a trigger's
    firmware budget sets (each tree is a ``max_depth``-deep comparator cascade in conifer's HLS).

    Raises
    ------
    ValueError
        ``max_depth`` is below 1.
    """
    if max_depth < 1:
        msg = f"Expected a maximum tree depth >= 1; got {max_depth}."
        raise ValueError(msg)
    return functools.partial(_space, max_depth=max_depth)


def _space(trial: BaseTrial, *, max_depth: int) -> XGBoostParams:
    return XGBoostParams(
        learning_rate=trial.suggest_float("learning_rate", LEARNING_RATE_MIN, 0.3, log=True),
        max_depth=trial.suggest_int("max_depth", min(_DEPTHS[0], max_depth), max_depth),
        min_child_weight=trial.suggest_float("min_child_weight", 1e-2, 20.0, log=True),
        gamma=trial.suggest_float("gamma", 1e-8, 1.0, log=True),
        reg_alpha=trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        reg_lambda=trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
        subsample=trial.suggest_float("subsample", 0.4, 1.0),
        colsample_bytree=trial.suggest_float("colsample_bytree", 0.4, 1.0),
    )


def fit(
    train: Matrix,
    train_labels: npt.NDArray[np.float64],
    validation: Matrix,
    validation_labels: npt.NDArray[np.float64],
    feature_names: Sequence[str],
    *,
    params: BoosterParams,
    max_rounds: int,
    early_stopping_rounds: int | None,
    seed: int,
    n_jobs: int,
    callbacks: Sequence[Any],
    n_classes: int = BINARY,
    train_weights: npt.NDArray[np.float64] | None = None,
    validation_weights: npt.NDArray[np.float64] | None = None,
    record_training: bool = True,
) -> FittedBooster:
    """Train with ``xgboost.train``; keep the rounds up to the best validation AUC (or all without early
    stopping). ``callbacks`` are extra XGBoost training callbacks, e.g. :func:`pruning_callback`.

    With ``n_classes`` > 2 the objective is ``multi:softprob`` (``num_class`` scores, one tree per class and
    round, softmax probabilities) and early stopping watches the validation ``mlogloss`` (minimised).
    """
    binary = n_classes == BINARY
    metrics = _METRICS if binary else _MULTI_METRICS
    objective: dict[str, Any] = (
        {"objective": "binary:logistic"} if binary else {"objective": "multi:softprob", "num_class": n_classes}
    )
    native = {
        **objective,
        "eval_metric": list(metrics),
        "tree_method": "hist",
        "seed": seed,
        "nthread": n_jobs,
        "verbosity": 0,
        **params.native(),
    }
    train_set = xgb.DMatrix(
        train, train_labels, weight=train_weights, feature_names=list(feature_names), nthread=n_jobs
    )
    val_set = xgb.DMatrix(
        validation, validation_labels, weight=validation_weights, feature_names=list(feature_names), nthread=n_jobs
    )
    all_callbacks = list(callbacks)
    if early_stopping_rounds is not None:
        all_callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=early_stopping_rounds,
                metric_name="auc" if binary else "mlogloss",
                data_name=VALIDATION,
                maximize=binary,
                save_best=False,
            )
        )
    evals: dict[str, Any] = {}
    booster = xgb.train(
        native,
        train_set,
        num_boost_round=max_rounds,
        evals=[(train_set, TRAIN), (val_set, VALIDATION)] if record_training else [(val_set, VALIDATION)],
        evals_result=evals,
        verbose_eval=False,
        callbacks=all_callbacks,
    )
    rounds = booster.num_boosted_rounds()
    best = booster.best_iteration + 1 if early_stopping_rounds is not None else rounds
    logger.debug("xgboost: %d rounds trained, kept %d", rounds, best)
    return FittedBooster(booster=booster[:best], best_iteration=best, history=history_frame(evals, metrics))


def pruning_callback(trial: optuna.Trial, n_classes: int = BINARY) -> XGBoostPruningCallback:
    """Optuna's XGBoost pruning callback on the validation AUC (multiclass: the validation log-loss)."""
    return XGBoostPruningCallback(trial, f"{VALIDATION}-{'auc' if n_classes == BINARY else 'mlogloss'}")


class _StopCallback(xgb.callback.TrainingCallback):
    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self._stop = stop

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict[str, Any]) -> bool:
        if self._stop.is_set():
            msg = f"xgboost: fit stopped after round {epoch + 1}"
            raise FitStopped(msg)
        return False


def stop_callback(stop: threading.Event) -> xgb.callback.TrainingCallback:
    """An XGBoost training callback raising :class:`~egid.models.boosters.base.FitStopped` after the first round
    that ends with ``stop`` set."""
    return _StopCallback(stop)


def _dmatrix(booster: xgb.Booster, values: Matrix) -> xgb.DMatrix:
    # The booster checks the input's feature names against its own.
    return xgb.DMatrix(values, feature_names=booster.feature_names)


def predict(booster: xgb.Booster, values: Matrix, n_rounds: int) -> FloatArray:
    """The electron probability of each row of ``values``, shape ``(n,)``; multiclass ``(n, n_classes)``."""
    return np.asarray(booster.predict(_dmatrix(booster, values), iteration_range=(0, n_rounds)), dtype=np.float64)


def n_classes(booster: xgb.Booster) -> int:
    """2 for a binary booster, else its ``num_class`` (XGBoost stores 0 for a binary objective)."""
    learner = json.loads(booster.save_config())["learner"]
    return max(BINARY, int(learner["learner_model_param"]["num_class"]))


def contributions(booster: xgb.Booster, values: Matrix, n_rounds: int) -> FloatArray:
    """XGBoost's exact TreeSHAP (``pred_contribs``) in log-odds, shape ``(n, n_features + 1)``, bias last;
    multiclass ``(n, n_classes, n_features + 1)``."""
    out = booster.predict(_dmatrix(booster, values), iteration_range=(0, n_rounds), pred_contribs=True)
    return np.asarray(out, dtype=np.float64)


def importance(booster: xgb.Booster, kind: ImportanceType, n_rounds: int) -> FloatArray:
    """Total gain or split count (``weight``) per feature, in the booster's feature order."""
    kept = booster if n_rounds >= booster.num_boosted_rounds() else booster[:n_rounds]
    scores = kept.get_score(importance_type=_IMPORTANCE[kind])
    return np.array([scores.get(name, 0.0) for name in feature_names(booster)], dtype=np.float64)


def class_gain(booster: xgb.Booster, n_rounds: int) -> FloatArray:
    """Total gain per feature and class, shape ``(n_features, n_classes)`` (binary: one column).

    Tree ``t`` of a multiclass booster raises the score of class ``t % num_class`` (one tree per class and round,
    ``num_parallel_tree`` = 1 as egid trains them); the gain of a split is XGBoost's ``Gain`` of
    ``trees_to_dataframe``, whose sum per feature is its ``total_gain`` importance.
    """
    classes = n_classes(booster)
    columns = 1 if classes == BINARY else classes
    names = list(feature_names(booster))
    out = np.zeros((len(names), columns), dtype=np.float64)
    kept = booster if n_rounds >= booster.num_boosted_rounds() else booster[:n_rounds]
    nodes = kept.trees_to_dataframe()
    splits = nodes[nodes["Feature"] != "Leaf"]
    column = {name: i for i, name in enumerate(names)}
    rows = splits["Feature"].map(column).to_numpy(dtype=np.int64)
    np.add.at(out, (rows, splits["Tree"].to_numpy(dtype=np.int64) % columns), splits["Gain"].to_numpy())
    return out


def leaf_counts(booster: xgb.Booster, n_rounds: int) -> npt.NDArray[np.int64]:
    """Leaves of each tree of the first ``n_rounds`` rounds, counted in the text dump's ``leaf=`` nodes."""
    kept = booster if n_rounds >= booster.num_boosted_rounds() else booster[:n_rounds]
    return np.array([tree.count("leaf=") for tree in kept.get_dump()], dtype=np.int64)


def feature_names(booster: xgb.Booster) -> tuple[str, ...]:
    """The feature names stored in the booster, in input order."""
    return tuple(booster.feature_names or ())


def native_bytes(booster: xgb.Booster, n_rounds: int) -> bytes:
    """The first ``n_rounds`` rounds as XGBoost's JSON model (readable by ``xgboost.Booster().load_model``)."""
    return bytes(booster[:n_rounds].save_raw("json"))


def load_native(path: Path) -> xgb.Booster:
    """Read an XGBoost JSON model; an unreadable file raises :class:`~egid.detector.InputError`."""
    booster = xgb.Booster()
    with reading(path, "XGBoost booster"):
        booster.load_model(str(path))
    return booster


def onnx_input_names(feature_names: Sequence[str]) -> list[str]:
    """``f0 .. f{n-1}``: onnxmltools' XGBoost converter accepts no other feature names."""
    return [f"f{i}" for i in range(len(feature_names))]


def onnx_graph(booster: xgb.Booster, n_rounds: int, input_name: str, n_features: int) -> Any:
    """Convert a copy of the booster, renamed to :func:`onnx_input_names`, with onnxmltools.

    The copy is handed over as an ``XGBClassifier``: given a bare ``Booster``, onnxmltools guesses the task from
    the trees and calls every model whose node covers (sums of hessians) are all whole numbers a regressor. A
    logistic model's first rounds on a balanced sample have hessians of 0.25 per event, so a node of 4k events
    has a whole cover, and such a graph came out with one regression output instead of the class probabilities.
    """
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    renamed = booster[:n_rounds]
    renamed.feature_names = onnx_input_names(feature_names(booster))
    classifier = xgb.XGBClassifier()
    classifier.load_model(bytearray(renamed.save_raw("json")))
    return onnxmltools.convert_xgboost(classifier, initial_types=[(input_name, FloatTensorType([None, n_features]))])
