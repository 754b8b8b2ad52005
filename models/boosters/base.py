"""The interface every boosted-tree library module implements, and the pieces they share.

A library module (:mod:`egid.models.boosters.lightgbm`, :mod:`egid.models.boosters.xgboost`) is the only place
that imports its library. It implements :class:`BoosterLibrary` with plain module-level names, the way each of
conifer's converters exposes one ``convert``: training, prediction, TreeSHAP, importances, the native file, the
ONNX graph, the Optuna pruning callback and the split convention. :class:`egid.models.trees.TreeModel` wraps the
library's booster and delegates to its module, so no caller ever asks which library a model came from.

Boosting rounds are counted from 1; ``n_rounds`` arguments use the first that many rounds of a booster.

Every library trains either a binary electron/photon classifier (``n_classes=2``, labels 1/0, one tree per round,
early-stopped on the validation AUC, predicting the electron probability ``(n,)``) or a multiclass one
(``n_classes=3`` for electron/photon/charged pion: the label value is the class index, so column ``k`` of the
``(n, n_classes)`` probabilities is class ``k`` -- 0 photon, 1 electron, 2 pion; one tree per class and round,
early-stopped on the validation multiclass log-loss). The binary path is exactly what it was before multiclass
support existed: the same native parameters, hence bit-identical boosters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from optuna.trial import BaseTrial

from egid.detector.schema import FloatArray

__all__ = (
    "BINARY",
    "HISTORY_COLUMNS",
    "LEARNING_RATE_MIN",
    "TRAIN",
    "VALIDATION",
    "BoosterLibrary",
    "BoosterParams",
    "FitStopped",
    "FittedBooster",
    "ImportanceType",
    "Matrix",
    "SearchSpace",
    "SplittingConvention",
    "history_frame",
    "objective_metric",
)

Matrix: TypeAlias = npt.NDArray[np.float64]
"""A C-ordered float64 feature matrix of shape ``(n_events, n_features)``; NaN marks an undefined feature."""
ImportanceType: TypeAlias = Literal["gain", "split"]
SplittingConvention: TypeAlias = Literal["<", "<="]

LEARNING_RATE_MIN = 0.05
"""Smallest learning rate the search spaces try. On the full 348k training events of the simulation a LightGBM refit
(the parameters the 30k run chose) at 0.022 ran into the 2000-round cap, still rising (validation AUC 0.8256,
test 0.8266, 1232 s on the loaded 2-core machine); at 0.05 it stopped by itself after 1550 rounds with a higher
AUC (validation 0.8261, test 0.8272) in 215 s. At 0.011 an XGBoost refit had needed 1876 rounds."""

BINARY = 2
"""``n_classes`` of the electron/photon classifiers."""

TRAIN, VALIDATION = "train", "validation"
"""Names of the two evaluation sets every library records (and Optuna's pruning callbacks watch)."""

#: Columns of a training history, one row per boosting round (index ``round``, 1-based).
HISTORY_COLUMNS = tuple(
    f"{split}_{metric}" for split in (TRAIN, VALIDATION) for metric in ("logloss", "auc", "accuracy")
)


class BoosterParams(Protocol):
    """A frozen dataclass of one library's hyperparameters (scikit-learn API names)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def native(self) -> dict[str, Any]:
        """The parameters under the library's native names, as its ``train`` function expects them."""
        ...


SearchSpace: TypeAlias = Callable[[BaseTrial], BoosterParams]
"""An Optuna search space: draws one library's hyperparameters from a trial (a library's ``space`` or a narrower
one, such as :func:`egid.models.boosters.xgboost.depth_capped_space`)."""


def objective_metric(n_classes: int) -> tuple[str, Literal["maximize", "minimize"]]:
    """The history column that early stopping and Optuna optimise for a model of ``n_classes``, and its direction.

    A binary model maximises the validation AUC; a multiclass one minimises the validation multiclass log-loss
    ``-mean(ln p_true)`` (nats per event), the proper score of all class probabilities at once, where a
    one-vs-rest AUC would judge one class and ignore the calibration between the others.
    """
    if n_classes == BINARY:
        return f"{VALIDATION}_auc", "maximize"
    return f"{VALIDATION}_logloss", "minimize"


class FitStopped(Exception):
    """Raised by a library's :meth:`BoosterLibrary.stop_callback` to end a fit whose result nobody will use (a
    fit running beside one that failed or was interrupted); it never leaves egid."""


@dataclass(frozen=True)
class FittedBooster:
    """What a library's ``fit`` returns.

    Attributes
    ----------
    booster : object
        The library's booster, holding exactly ``best_iteration`` rounds.
    best_iteration : int
        Rounds kept (the round of the best validation AUC -- multiclass: log-loss -- or every round without early
        stopping).
    history : pandas.DataFrame
        One row per round trained, columns :data:`HISTORY_COLUMNS` (see :func:`history_frame`).
    """

    booster: Any
    best_iteration: int
    history: pd.DataFrame


class BoosterLibrary(Protocol):
    """The module-level names of a boosted-tree library module (a module object satisfies this protocol)."""

    @property
    def NAME(self) -> str:
        """The library's name, also the model kind (``"lightgbm"``)."""
        ...

    @property
    def NATIVE_FILE(self) -> str:
        """File name of the native booster in a model directory (``"lightgbm.txt"``)."""
        ...

    @property
    def SPLITTING_CONVENTION(self) -> SplittingConvention:
        """How a split compares a feature value ``x`` with its threshold ``t``: ``"<"`` sends ``x < t`` to the
        left child, ``"<="`` sends ``x <= t`` there. Exporters to other tree runtimes (ONNX, FPGA) need it."""
        ...

    @property
    def PARAMS_TYPE(self) -> type[BoosterParams]:
        """The library's hyperparameter dataclass."""
        ...

    def space(self, trial: BaseTrial) -> BoosterParams:
        """Draw hyperparameters from the library's Optuna search space."""
        ...

    def fit(
        self,
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
        """Train a binary classifier (labels 1/0), early-stopped on the validation AUC when asked; or, with
        ``n_classes`` > 2, a multiclass one (labels ``0 .. n_classes - 1``) early-stopped on the validation
        multiclass log-loss. The weights (one per event; None: all 1) enter the training loss and every
        recorded metric of their set. ``record_training=False`` evaluates the validation set alone (the
        history's training columns are NaN; the trees are the same)."""
        ...

    def pruning_callback(self, trial: optuna.Trial, n_classes: int = BINARY) -> Any:
        """Optuna's pruning callback for ``fit``'s ``callbacks``, reporting the validation metric of
        :func:`objective_metric` every round."""
        ...

    def stop_callback(self, stop: threading.Event) -> Any:
        """A training callback for ``fit``'s ``callbacks`` that raises :class:`FitStopped` at the end of the first
        round after ``stop`` is set: how a fit in a worker thread, which no signal reaches, is ended between two
        rounds."""
        ...

    def predict(self, booster: Any, values: Matrix, n_rounds: int) -> FloatArray:
        """The electron probability of each row, shape ``(n,)``; a multiclass booster's class probabilities,
        shape ``(n, n_classes)``, each row summing to 1."""
        ...

    def n_classes(self, booster: Any) -> int:
        """The classes the booster separates: 2 for a binary booster, else its number of classes."""
        ...

    def contributions(self, booster: Any, values: Matrix, n_rounds: int) -> FloatArray:
        """Exact TreeSHAP contributions in log-odds, shape ``(n, n_features + 1)``, the bias last; a multiclass
        booster's in each class's raw score (softmax logit), shape ``(n, n_classes, n_features + 1)``."""
        ...

    def importance(self, booster: Any, kind: ImportanceType, n_rounds: int) -> FloatArray:
        """Total gain or split count per feature, in the booster's feature order (0 for unused features)."""
        ...

    def class_gain(self, booster: Any, n_rounds: int) -> FloatArray:
        """Total gain per feature and class, shape ``(n_features, n_classes)``: the gain of the splits in the trees
        that raise each class's score (a multiclass booster grows one tree per class and round); its rows sum to
        :meth:`importance` ``"gain"``. A binary booster has one column."""
        ...

    def leaf_counts(self, booster: Any, n_rounds: int) -> npt.NDArray[np.int64]:
        """Leaves of each tree of the first ``n_rounds`` rounds, shape ``(n_trees,)``."""
        ...

    def feature_names(self, booster: Any) -> tuple[str, ...]:
        """The feature names the booster stores, in its input order."""
        ...

    def native_bytes(self, booster: Any, n_rounds: int) -> bytes:
        """The booster's first ``n_rounds`` rounds in the native file format (:attr:`NATIVE_FILE`)."""
        ...

    def load_native(self, path: Path) -> Any:
        """Read a native file; raises :class:`~egid.detector.InputError` (see :func:`egid.models.artifacts.reading`)."""
        ...

    def onnx_graph(self, booster: Any, n_rounds: int, input_name: str, n_features: int) -> Any:
        """An ONNX ModelProto (onnxmltools) with one float32 input ``input_name`` of shape ``(n, n_features)``
        and the outputs ``label`` and ``probabilities`` ``(n, 2)`` (multiclass: ``(n, n_classes)``)."""
        ...

    def onnx_input_names(self, feature_names: Sequence[str]) -> list[str]:
        """The names the ONNX graph gives the input columns (``feature_names`` in order)."""
        ...


def history_frame(evals: Mapping[str, Mapping[str, Sequence[float]]], metrics: Mapping[str, str]) -> pd.DataFrame:
    """Turn a library's per-round evaluation record into a history table.

    Parameters
    ----------
    evals : mapping
        ``evals[set][library_metric]`` -> one value per round, for the set :data:`VALIDATION` and, when it was
        evaluated, :data:`TRAIN` (its columns are NaN otherwise).
    metrics : mapping of str to str
        Library metric name -> ``"logloss"``, ``"auc"`` or ``"accuracy"``; the library's error rate (binary: at
        probability 0.5; multiclass: of the most probable class) maps to accuracy, stored as ``1 - error``. A
        metric not recorded (a multiclass model records no AUC) is a column of NaN.

    Returns
    -------
    pandas.DataFrame
        Index ``round`` (from 1), columns :data:`HISTORY_COLUMNS`.
    """
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for split in (TRAIN, VALIDATION):
        if split not in evals:
            continue
        for library_name, metric in metrics.items():
            values = np.asarray(evals[split][library_name], dtype=np.float64)
            columns[f"{split}_{metric}"] = 1.0 - values if metric == "accuracy" else values
    frame = pd.DataFrame(columns).reindex(columns=list(HISTORY_COLUMNS))
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="round")
    return frame
