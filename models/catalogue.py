"""The catalogue of a run's models: their names, the model sets they are saved in, and the columns each reads.

Six models come out of a run, named as they appear in every table, plot and file:

==================  ==========================================================================
``lightgbm``        LightGBM on the physics features (Optuna-tuned)
``xgboost``         XGBoost on the physics features (Optuna-tuned)
``trigger``         XGBoost within the trigger's limits on 5x5-window features (Optuna-tuned,
                    :mod:`egid.models.trigger`)
``cnn``             the CNN head alone: its out-of-fold score on training events, fold mean elsewhere
``lightgbm+cnn``    LightGBM on the features plus ``cnn_score`` (Optuna-tuned)
``xgboost+cnn``     XGBoost on the features plus ``cnn_score`` (Optuna-tuned)
==================  ==========================================================================

They are saved in three model sets, one folder each under a run's ``models/``: ``features_only`` (the plain
boosters), ``trigger`` and ``stacked`` (the stacked boosters and the CNN fold networks). Every other module takes
these names from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from egid.features import FEATURE_NAMES
from egid.models.boosters import TREE_KINDS, TreeKind
from egid.models.trees import TreeModel
from egid.models.trigger import TRIGGER_KIND

if TYPE_CHECKING:  # torch is imported only when the CNN runs
    from egid.models.stacking import CrossFitResult

__all__ = (
    "CNN_MODEL",
    "CNN_SCORE",
    "FEATURES_ONLY",
    "MODEL_SETS",
    "SET_COLUMNS",
    "STACKED",
    "TRIGGER",
    "TRIGGER_MODEL",
    "FittedModels",
    "model_names",
    "score_table",
    "set_members",
    "stacked_name",
    "trigger_costs",
)

CNN_SCORE = "cnn_score"
"""Feature column that carries the CNN's electron probability into the stacked trees."""
CNN_MODEL = "cnn"
"""Name of the CNN head in every table and plot."""
TRIGGER_MODEL = "trigger"
"""Name of the trigger-sized model (:mod:`egid.models.trigger`) in every table, plot and model set."""

FEATURES_ONLY = "features_only"
"""Model set of the boosters that read the physics features alone."""
STACKED = "stacked"
"""Model set of the boosters that also read ``cnn_score``, with the CNN fold networks."""
TRIGGER = TRIGGER_MODEL
"""Model set of the trigger-sized model."""


def stacked_name(kind: str) -> str:
    """Name of the tree model of ``kind`` that reads the CNN score too, e.g. ``"lightgbm+cnn"``."""
    return f"{kind}+{CNN_MODEL}"


MODEL_SETS: Mapping[str, Mapping[str, TreeKind]] = {
    FEATURES_ONLY: {kind: kind for kind in TREE_KINDS},
    TRIGGER: {TRIGGER_MODEL: TRIGGER_KIND},
    STACKED: {stacked_name(kind): kind for kind in TREE_KINDS},
}
"""Model set -> its tree models' names -> their kinds (which name their files in the set's folder)."""
SET_COLUMNS: Mapping[str, tuple[str, ...] | None] = {
    FEATURES_ONLY: FEATURE_NAMES,
    TRIGGER: None,
    STACKED: (*FEATURE_NAMES, CNN_SCORE),
}
"""The columns each model set must read; None: the manifest's own, each a feature egid computes."""


def set_members(set_name: str, names: Iterable[str]) -> list[str]:
    """The models of ``names`` that belong to model set ``set_name`` (the CNN goes with the stacked trees)."""
    members = {*MODEL_SETS[set_name], *([CNN_MODEL] if set_name == STACKED else [])}
    return [name for name in names if name in members]


def model_names(trees: Iterable[str], *, with_cnn: bool) -> list[str]:
    """Model names in display order: features-only trees, the trigger model, the CNN, then the stacked trees."""
    present = set(trees)
    plain = [k for k in TREE_KINDS if k in present]
    trigger = [TRIGGER_MODEL] if TRIGGER_MODEL in present else []
    stacked = [stacked_name(k) for k in TREE_KINDS if stacked_name(k) in present]
    return plain + trigger + ([CNN_MODEL] if with_cnn else []) + stacked


def trigger_costs(names: Iterable[str]) -> dict[str, list[str]]:
    """The AUC costs that the metrics state (see :func:`egid.evaluation.metrics.compute_metrics`): the trigger model's
    against the best of the features-only boosters among ``names``; empty without the trigger model."""
    present = list(names)
    if TRIGGER_MODEL not in present:
        return {}
    return {TRIGGER_MODEL: [kind for kind in TREE_KINDS if kind in present]}


def score_table(trees: Mapping[str, TreeModel], table: pd.DataFrame, *, with_cnn: bool) -> pd.DataFrame:
    """Electron probability of every model for every row of the feature ``table``, one column per model.

    ``table`` holds the feature columns and, ``with_cnn``, the ``cnn_score`` column (which is the CNN's score).
    """
    scores = {name: model.predict(table) for name, model in trees.items()}
    if with_cnn:
        scores[CNN_MODEL] = table[CNN_SCORE].to_numpy()
    return pd.DataFrame({name: scores[name] for name in model_names(trees, with_cnn=with_cnn)}, index=table.index)


@dataclass
class FittedModels:
    """The models a run trained.

    Attributes
    ----------
    trees : dict of str to TreeModel
        ``lightgbm``, ``xgboost``, ``trigger`` (unless skipped) and, with the CNN, ``lightgbm+cnn``,
        ``xgboost+cnn``.
    cnn : CrossFitResult or None
        The CNN head's cross-fitting (fold models, per-event scores, training curves).
    """

    trees: dict[str, TreeModel]
    cnn: CrossFitResult | None = None

    @property
    def names(self) -> list[str]:
        """All model names in display order (see :func:`model_names`)."""
        return model_names(self.trees, with_cnn=self.cnn is not None)
