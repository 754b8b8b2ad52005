"""LightGBM behind :class:`~egid.models.boosters.base.BoosterLibrary`: the only module that imports ``lightgbm``.

Trees grow leaf-wise; ``deterministic=True`` with row-wise histograms makes a fit bit-identical for the same
input, seed and thread count. The native file is LightGBM's text format (``save_model``), which carries the
feature names in order.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from optuna.trial import BaseTrial
from optuna_integration import LightGBMPruningCallback

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
    "LightGBMParams",
    "class_gain",
    "contributions",
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

NAME: Final = "lightgbm"
NATIVE_FILE: Final = "lightgbm.txt"
# A numerical split sends x <= threshold to the left child: LightGBM's Tree::NumericalDecision,
# https://github.com/microsoft/LightGBM/blob/master/include/LightGBM/tree.h (``fval <= threshold_[node]``);
# its model dump says ``decision_type: "<="``. The ONNX threshold rounding below relies on it.
SPLITTING_CONVENTION: Final[SplittingConvention] = "<="

# Library metric name -> egid metric name; AUC first: early stopping with first_metric_only watches it.
_METRICS = {"auc": "auc", "binary_logloss": "logloss", "binary_error": "accuracy"}
# Multiclass: the log-loss first, which early stopping then watches (LightGBM's auc_mu is left out: slow, and
# the three-class metrics report one-vs-rest and pairwise AUCs with intervals instead).
_MULTI_METRICS = {"multi_logloss": "logloss", "multi_error": "accuracy"}


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


PARAMS_TYPE: Final = LightGBMParams


def space(trial: BaseTrial) -> LightGBMParams:
    """The LightGBM search space: capacity, minimum leaf size, L1/L2 and feature/event sampling."""
    return LightGBMParams(
        learning_rate=trial.suggest_float("learning_rate", LEARNING_RATE_MIN, 0.3, log=True),
        num_leaves=trial.suggest_int("num_leaves", 8, 256, log=True),
        max_depth=trial.suggest_int("max_depth", 3, 12),
        min_child_samples=trial.suggest_int("min_child_samples", 5, 200, log=True),
        min_child_weight=trial.suggest_float("min_child_weight", 1e-3, 10.0, log=True),
        reg_alpha=trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        reg_lambda=trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
        colsample_bytree=trial.suggest_float("colsample_bytree", 0.4, 1.0),
        subsample=trial.suggest_float("subsample", 0.4, 1.0),
        subsample_freq=trial.suggest_int("subsample_freq", 1, 7),
        min_split_gain=trial.suggest_float("min_split_gain", 1e-8, 1.0, log=True),
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
    """Train with ``lightgbm.train``; keep the rounds up to the best validation AUC (or all without early
    stopping). ``callbacks`` are extra ``lightgbm.train`` callbacks, e.g. :func:`pruning_callback`.

    With ``n_classes`` > 2 the objective is ``multiclass`` (softmax over ``num_class`` scores, one tree per class
    and round) and early stopping watches the validation ``multi_logloss``.
    """
    metrics = _METRICS if n_classes == BINARY else _MULTI_METRICS
    objective: dict[str, Any] = (
        {"objective": "binary"} if n_classes == BINARY else {"objective": "multiclass", "num_class": n_classes}
    )
    native = {
        **objective,
        "metric": list(metrics),
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": n_jobs,
        "feature_pre_filter": False,
        "verbosity": -1,
        **params.native(),
    }
    train_set = lgb.Dataset(train, train_labels, weight=train_weights, feature_name=list(feature_names), params=native)
    val_set = lgb.Dataset(validation, validation_labels, weight=validation_weights, reference=train_set)
    evals: dict[str, Any] = {}
    all_callbacks = [lgb.record_evaluation(evals), *callbacks]
    if early_stopping_rounds is not None:
        all_callbacks.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(
        native,
        train_set,
        num_boost_round=max_rounds,
        valid_sets=[train_set, val_set] if record_training else [val_set],
        valid_names=[TRAIN, VALIDATION] if record_training else [VALIDATION],
        callbacks=all_callbacks,
    )
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    logger.debug("lightgbm: %d rounds trained, kept %d", booster.current_iteration(), best)
    return FittedBooster(booster=kept, best_iteration=best, history=history_frame(evals, metrics))


def pruning_callback(trial: optuna.Trial, n_classes: int = BINARY) -> LightGBMPruningCallback:
    """Optuna's LightGBM pruning callback on the validation AUC (multiclass: the validation log-loss)."""
    return LightGBMPruningCallback(trial, "auc" if n_classes == BINARY else "multi_logloss", valid_name=VALIDATION)


def stop_callback(stop: threading.Event) -> Callable[[lgb.callback.CallbackEnv], None]:
    """A ``lightgbm.train`` callback raising :class:`~egid.models.boosters.base.FitStopped` after the first round
    that ends with ``stop`` set."""

    def check(env: lgb.callback.CallbackEnv) -> None:
        if stop.is_set():
            msg = f"lightgbm: fit stopped after round {env.iteration + 1}"
            raise FitStopped(msg)

    return check


def predict(booster: lgb.Booster, values: Matrix, n_rounds: int) -> FloatArray:
    """The electron probability of each row of ``values``, shape ``(n,)``; multiclass ``(n, n_classes)``."""
    return np.asarray(booster.predict(values, num_iteration=n_rounds), dtype=np.float64)


def n_classes(booster: lgb.Booster) -> int:
    """2 for a binary booster, else the number of trees per round (one per class)."""
    per_round = int(booster.num_model_per_iteration())
    return BINARY if per_round == 1 else per_round


def contributions(booster: lgb.Booster, values: Matrix, n_rounds: int) -> FloatArray:
    """LightGBM's exact TreeSHAP (``pred_contrib``) in log-odds, shape ``(n, n_features + 1)``, bias last;
    multiclass ``(n, n_classes, n_features + 1)`` (LightGBM concatenates the classes' blocks in one row)."""
    out = np.asarray(booster.predict(values, num_iteration=n_rounds, pred_contrib=True), dtype=np.float64)
    classes = n_classes(booster)
    return out if classes == BINARY else out.reshape(len(out), classes, -1)


def importance(booster: lgb.Booster, kind: ImportanceType, n_rounds: int) -> FloatArray:
    """Total gain or split count per feature, in the booster's feature order."""
    return np.asarray(booster.feature_importance(importance_type=kind, iteration=n_rounds), dtype=np.float64)


def class_gain(booster: lgb.Booster, n_rounds: int) -> FloatArray:
    """Total gain per feature and class, shape ``(n_features, n_classes)`` (binary: one column).

    Tree ``t`` of a multiclass booster raises the score of class ``t % n_classes`` (LightGBM stores the trees
    round by round, one per class: ``GBDT::num_tree_per_iteration_``).
    """
    classes = n_classes(booster)
    columns = 1 if classes == BINARY else classes
    names = booster.feature_name()
    out = np.zeros((len(names), columns), dtype=np.float64)
    splits = booster.trees_to_dataframe().dropna(subset=["split_feature"])
    splits = splits[splits["tree_index"] < n_rounds * columns]
    column = {name: i for i, name in enumerate(names)}
    rows = splits["split_feature"].map(column).to_numpy(dtype=np.int64)
    np.add.at(out, (rows, splits["tree_index"].to_numpy(dtype=np.int64) % columns), splits["split_gain"].to_numpy())
    return out


_NUM_LEAVES = re.compile(r"^num_leaves=(\d+)$", re.MULTILINE)


def leaf_counts(booster: lgb.Booster, n_rounds: int) -> npt.NDArray[np.int64]:
    """Leaves of each tree of the first ``n_rounds`` rounds, read from the text model's ``num_leaves=`` lines."""
    text = booster.model_to_string(num_iteration=n_rounds)
    return np.array([int(n) for n in _NUM_LEAVES.findall(text)], dtype=np.int64)


def feature_names(booster: lgb.Booster) -> tuple[str, ...]:
    """The feature names stored in the booster, in input order."""
    return tuple(booster.feature_name())


def native_bytes(booster: lgb.Booster, n_rounds: int) -> bytes:
    """The first ``n_rounds`` rounds as LightGBM's text model (readable by ``lightgbm.Booster(model_file=...)``)."""
    return str(booster.model_to_string(num_iteration=n_rounds)).encode()


def load_native(path: Path) -> lgb.Booster:
    """Read a LightGBM text model; an unreadable file raises :class:`~egid.detector.InputError`.

    The text's structure is checked first (:func:`_check_text_model`): LightGBM parses the trees in parallel
    threads, and a damaged tree there ends the process (``std::terminate``) instead of raising.
    """
    with reading(path, "LightGBM booster"):
        text = path.read_bytes()
        _check_text_model(text)
        return lgb.Booster(model_str=text.decode())


_TREE_SIZES = re.compile(rb"^tree_sizes=([0-9 ]*)$", re.MULTILINE)


def _check_text_model(text: bytes) -> None:
    """Raise ValueError unless ``text`` is a complete, well-formed LightGBM text model.

    Checked: the ``tree`` header; exactly the trees its ``tree_sizes`` line announces (byte lengths, each block
    starting ``Tree=<i>``); in every tree the arrays LightGBM reads, numeric and as long as ``num_leaves`` says
    (``L`` leaf values, ``L - 1`` of each split array, children within ``[-L, L - 2]``); ``end of trees`` last.
    """
    sizes = _TREE_SIZES.search(text)
    if not text.startswith(b"tree\n") or sizes is None:
        msg = "not a LightGBM text model (no 'tree' header with tree_sizes)"
        raise ValueError(msg)
    position = text.find(b"\nTree=0\n") + 1
    for i, size in enumerate(int(value) for value in sizes.group(1).split()):
        if position <= 0 or not text.startswith(b"Tree=%d\n" % i, position):
            msg = f"tree {i} is not where the header's tree_sizes put it (file damaged or truncated)"
            raise ValueError(msg)
        _check_tree(text[position : position + size], i)
        position += size
    if not text.startswith(b"end of trees", position):
        msg = "no 'end of trees' after the last tree (file damaged or truncated)"
        raise ValueError(msg)


_SPLIT_ARRAYS = (
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "internal_value",
    "internal_weight",
    "internal_count",
)
_LEAF_ARRAYS = ("leaf_value", "leaf_weight", "leaf_count")


def _check_tree(block: bytes, index: int) -> None:
    """Raise ValueError unless the text of tree ``index`` is what LightGBM's parser requires: every field a list
    of numbers, the split arrays ``num_leaves - 1`` long, the leaf arrays ``num_leaves`` long, the children
    within ``[-num_leaves, num_leaves - 2]``."""
    try:
        fields = {}
        for line in block.splitlines()[1:]:
            if line:
                key, _, value = line.partition(b"=")
                fields[key.decode()] = np.array(value.split(), dtype=np.float64)
        leaves = int(fields["num_leaves"][0])
    except (IndexError, KeyError, UnicodeDecodeError, ValueError) as err:
        msg = f"tree {index}: missing or non-numeric field ({err})"
        raise ValueError(msg) from None
    required = ("leaf_value",) if leaves == 1 else (*_SPLIT_ARRAYS[:6], "leaf_value")
    expected = dict.fromkeys(_SPLIT_ARRAYS, leaves - 1) | dict.fromkeys(_LEAF_ARRAYS, leaves)
    wrong = [name for name in required if name not in fields]
    # A one-leaf tree (a constant: common in multiclass models once a class is separated) is written with empty
    # split arrays and an empty leaf_weight (LightGBM's Tree::ToString); its parser reads only leaf_value then.
    sizes = {name: ({0, size} if leaves == 1 else {size}) for name, size in expected.items()}
    wrong += [name for name, allowed in sizes.items() if name in fields and fields[name].size not in allowed]
    children = np.concatenate([fields.get(name, np.empty(0)) for name in ("left_child", "right_child")])
    if leaves < 1 or wrong or ((children < -leaves) | (children > leaves - 2)).any():
        msg = f"tree {index}: arrays inconsistent with num_leaves={leaves} ({', '.join(wrong) or 'children'})"
        raise ValueError(msg)


def onnx_input_names(feature_names: Sequence[str]) -> list[str]:
    """The ONNX graph keeps the feature names."""
    return list(feature_names)


def onnx_graph(booster: lgb.Booster, n_rounds: int, input_name: str, n_features: int) -> Any:
    """Convert with onnxmltools, then round each threshold down to float32 (see :func:`_round_thresholds_down`)."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=n_rounds))
    input_type = [(input_name, FloatTensorType([None, n_features]))]
    graph = onnxmltools.convert_lightgbm(kept, initial_types=input_type, zipmap=False)
    splits = kept.trees_to_dataframe().dropna(subset=["split_feature"])
    _round_thresholds_down(graph, splits, kept.feature_name())
    return graph


def _round_thresholds_down(graph: Any, splits: pd.DataFrame, feature_names: list[str]) -> None:
    """Replace each LightGBM threshold ``t`` in ``graph`` by the largest float32 not above it.

    LightGBM compares the input, as float64, to float64 thresholds (midpoints between bin bounds); the ONNX
    tree ensemble compares float32 to float32, and onnxmltools rounds ``t`` to the nearest float32. Rounded
    up, an input equal to the rounded value goes left in the graph and right in LightGBM (an electron
    probability off by 0.04 on the default run). For a float32 input ``x``, ``x <= t`` holds exactly when
    ``x`` is at most the largest float32 not above ``t`` (the ``<=`` of :data:`SPLITTING_CONVENTION`). A graph
    node is matched to its split by tree, feature and float32 threshold; a match that is not unique is left as
    converted (the parity check of :func:`egid.models.export.to_onnx` then decides).

    ``splits`` are the split rows of ``booster.trees_to_dataframe()``.
    """
    column = {name: i for i, name in enumerate(feature_names)}
    exact: dict[tuple[int, int, np.float32], set[float]] = {}
    # LightGBM may place a threshold beyond float32's range (say 1e300, a split of all finite values from NaN):
    # it rounds to inf, as onnxmltools' cast does, and then down to the largest float32, which keeps x <= t true.
    with np.errstate(over="ignore"):
        for tree, feature, threshold in zip(
            splits["tree_index"], splits["split_feature"], splits["threshold"], strict=True
        ):
            exact.setdefault((int(tree), column[feature], np.float32(threshold)), set()).add(float(threshold))
    ensemble = next(node for node in graph.graph.node if node.op_type.startswith("TreeEnsemble"))
    attributes = {attribute.name: attribute for attribute in ensemble.attribute}
    values = attributes["nodes_values"].floats
    for k, (tree, feature, mode) in enumerate(
        zip(
            attributes["nodes_treeids"].ints,
            attributes["nodes_featureids"].ints,
            attributes["nodes_modes"].strings,
            strict=True,
        )
    ):
        if mode != b"BRANCH_LEQ":
            continue
        rounded = np.float32(values[k])
        thresholds = exact.get((tree, feature, rounded), set())
        if len(thresholds) == 1 and float(rounded) > next(iter(thresholds)):
            values[k] = float(np.nextafter(rounded, np.float32(-np.inf)))
