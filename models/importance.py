"""Feature importances of the boosted trees: gain, split count and exact TreeSHAP.

* **gain** -- the training-loss reduction summed over every split on the feature (LightGBM ``gain``, XGBoost
  ``total_gain``), in the loss' units (nats summed over training events);
* **split** -- how many splits use the feature;
* **shap** -- mean |SHAP value| over a sample, in log-odds: the average size of the feature's contribution to
  ``ln(p / (1 - p))``. SHAP values come from the boosters' own exact TreeSHAP (LightGBM
  ``predict(pred_contrib=True)``, XGBoost ``predict(pred_contribs=True)``); per event they sum, with the bias,
  to the model's log-odds (Lundberg et al., Nat. Mach. Intell. 2, 56 (2020), arXiv:1905.04610).

A three-class (electron / photon / pion) model also gets its gain per class
(:func:`write_class_importances`): the gain of the splits in the trees that raise each class's score.

Gain and split counts describe the training, SHAP the events it is evaluated on; the three rankings usually
agree on the leading features. :func:`write_importances` stores all three for the test split beside the model,
so ``egid importances`` can rank them without the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from egid.detector import InputError, atomic_path
from egid.models.artifacts import read_numeric_table
from egid.models.trees import TreeKind, TreeModel

__all__ = (
    "IMPORTANCE_KINDS",
    "SHAP_COST_BUDGET",
    "SHAP_MAX_ROWS",
    "SHAP_MIN_ROWS",
    "ImportanceKind",
    "ShapValues",
    "class_importance_path",
    "importance_path",
    "importance_table",
    "ranked",
    "read_importances",
    "shap_cost_per_event",
    "shap_rows",
    "shap_values",
    "write_class_importances",
    "write_importances",
)

ImportanceKind: TypeAlias = Literal["gain", "split", "shap"]
IMPORTANCE_KINDS: tuple[ImportanceKind, ...] = ("gain", "split", "shap")

SHAP_MAX_ROWS = 2000
"""Most events behind a model's SHAP beeswarm and stored mean |SHAP| (enough for a stable ranking)."""
SHAP_MIN_ROWS = 500
"""Fewest. Measured on the depth-10 XGBoost model of a 20k + 20k run, five stratified draws of 500 test events
against 2000: each top-ten feature's mean |SHAP| within 3.5-8.5 %, the top-ten set the same in four draws of
five; neighbours of nearly equal importance may swap places."""
SHAP_COST_BUDGET = 2e9
"""Work allowed per model, in units of :func:`shap_cost_per_event` times events: about 10 s on one 2020s core.
A LightGBM model of a few hundred 30-leaf trees gets :data:`SHAP_MAX_ROWS`; a depth-10 XGBoost model (about 350
leaves per tree) gets :data:`SHAP_MIN_ROWS`, a quarter of the work it cost before."""


@dataclass(frozen=True)
class ShapValues:
    """Per-event TreeSHAP values of one model.

    Parameters
    ----------
    values : pandas.DataFrame
        Shape ``(n, n_features)``, columns the model's feature names, in log-odds.
    base_value : float
        The bias: the model's expected log-odds, the same for every event.
    """

    values: pd.DataFrame
    base_value: float

    def mean_abs(self) -> pd.Series:
        """Mean |SHAP| per feature (log-odds), sorted from the largest."""
        return self.values.abs().mean(axis=0).rename("shap").sort_values(ascending=False, kind="stable")


def shap_values(model: TreeModel, X: pd.DataFrame) -> ShapValues:
    """Return the exact TreeSHAP values of ``model`` on the rows of ``X``.

    ``values.sum(axis=1) + base_value`` equals the model's log-odds for each event (up to float32 rounding for
    XGBoost).
    """
    contributions = model.contributions(X)
    values = pd.DataFrame(contributions[:, :-1], columns=list(model.feature_names), index=X.index)
    return ShapValues(values=values, base_value=float(contributions[0, -1]) if len(contributions) else 0.0)


def shap_cost_per_event(model: TreeModel) -> float:
    """Work of exact TreeSHAP for one event, ``sum_t L_t * D^2`` with ``L_t`` the leaves of tree ``t``.

    TreeSHAP costs ``O(T L D^2)`` per event for ``T`` trees of ``L`` leaves and depth ``D`` (Lundberg et al.,
    Nat. Mach. Intell. 2, 56 (2020), Algorithm 2). ``D`` is taken as ``log2(mean leaves) + 1``, the depth of a
    balanced tree of that many leaves (XGBoost grows depth-wise trees, LightGBM's are bounded by ``max_depth``).
    """
    leaves = model.leaf_counts()
    if leaves.size == 0:
        return 0.0
    depth = np.log2(max(float(leaves.mean()), 1.0)) + 1.0
    return float(leaves.sum() * depth**2)


def shap_rows(model: TreeModel) -> int:
    """Events to compute TreeSHAP on for ``model``: :data:`SHAP_COST_BUDGET` / its cost per event, within
    [:data:`SHAP_MIN_ROWS`, :data:`SHAP_MAX_ROWS`]. Depends only on the model, so a run is reproducible."""
    cost = shap_cost_per_event(model)
    affordable = SHAP_MAX_ROWS if cost <= 0 else int(SHAP_COST_BUDGET / cost)
    return max(SHAP_MIN_ROWS, min(SHAP_MAX_ROWS, affordable))


def importance_table(model: TreeModel, shap: ShapValues) -> pd.DataFrame:
    """Return gain, split count and mean |SHAP| per feature (index ``feature``), by decreasing gain.

    ``shap`` holds :func:`shap_values` of ``model`` on the events the SHAP column averages over (computed once
    by the caller, since the report's beeswarm plots draw the same values).
    """
    table = pd.concat([model.importance("gain"), model.importance("split"), shap.mean_abs()], axis=1)
    table.index.name = "feature"
    return table.loc[list(model.feature_names)].sort_values("gain", ascending=False, kind="stable")


def importance_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the stored importance table of model ``kind`` in a model directory."""
    return Path(model_dir) / f"{kind}_importance.csv"


def write_importances(model: TreeModel, shap: ShapValues, model_dir: str | os.PathLike[str]) -> Path:
    """Write :func:`importance_table` of ``model`` (SHAP values e.g. on the test split) to the model directory."""
    path = importance_path(model_dir, model.kind)
    with atomic_path(path) as tmp:
        importance_table(model, shap).to_csv(tmp)
    return path


def read_importances(model_dir: str | os.PathLike[str], kind: TreeKind) -> pd.DataFrame:
    """Read the table :func:`write_importances` stored (columns gain, split, shap; index feature).

    Raises
    ------
    InputError
        When the file is missing or lacks a column.
    """
    path = importance_path(model_dir, kind)
    if not path.is_file():
        msg = f"{path}: no stored importances for the {kind} model (they are written when the models are exported)"
        raise InputError(msg)
    return read_numeric_table(path, "importance table", index="feature", columns=IMPORTANCE_KINDS)


def ranked(values: pd.Series, top: int | None = None) -> pd.Series:
    """Sort ``values`` from the largest (ties keep feature order) and keep the first ``top``."""
    order = values.sort_values(ascending=False, kind="stable")
    return order if top is None else order.iloc[:top]


def class_importance_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the stored per-class gain table of a three-class model ``kind`` in a model directory."""
    return Path(model_dir) / f"{kind}_class_importance.csv"


def write_class_importances(model: TreeModel, model_dir: str | os.PathLike[str]) -> Path:
    """Write :meth:`egid.models.trees.TreeModel.class_importance` (gain per feature and class, nats) beside the
    model, as ``<kind>_class_importance.csv`` (index ``feature``, one column per class name)."""
    path = class_importance_path(model_dir, model.kind)
    table = model.class_importance()
    table.index.name = "feature"
    with atomic_path(path) as tmp:
        table.to_csv(tmp)
    return path
