"""The trigger-sized model: a small XGBoost booster on a handful of 5x5-window features, tuned under fixed limits.

The CMS Level-1 trigger runs boosted trees in FPGA firmware, where every tree costs logic and every level of depth
a comparator stage; it sees the crystals around the seed, not a 32x32 crop. :class:`TriggerLimits` states those
limits once (at most 100 trees of depth at most 4, on features of the 5x5 window), and :func:`tune_and_fit_trigger`
finds the best model within them with the same Optuna machinery as the full boosters
(:func:`egid.models.tuning.tune_and_fit`: journal storage, pruning, resume, the tuning subsample), its search space
narrowed to depths <= ``max_depth`` and its rounds capped at ``max_trees`` (early stopping acts within the cap).

The model is an XGBoost booster: its trees grow depth-wise, so ``max_depth`` bounds every tree directly (LightGBM
grows leaf-wise and bounds leaves first), and conifer converts XGBoost natively
(:func:`egid.deploy.firmware.ensemble_from_xgboost`), without the ONNX detour LightGBM needs.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Final

import numpy.typing as npt
import optuna
import pandas as pd

from egid.features import WINDOW_FEATURES
from egid.models.boosters import TreeKind
from egid.models.boosters import xgboost as xgboost_booster
from egid.models.boosters.base import SearchSpace
from egid.models.trees import TreeModel
from egid.models.tuning import tune, tune_and_fit
from egid.models.tuning_settings import TuningSettings

__all__ = ("TRIGGER_KIND", "TRIGGER_LIMITS", "TriggerLimits", "tune_and_fit_trigger", "tune_trigger")

TRIGGER_KIND: Final[TreeKind] = "xgboost"
"""The library of the trigger model (see the module docstring for why)."""


@dataclass(frozen=True)
class TriggerLimits:
    """What a trigger-sized model may use: trees, depth and input features.

    Parameters
    ----------
    max_trees : int, default=100
        Most trees (boosting rounds) of the booster.
    max_depth : int, default=4
        Most levels of each tree, so at most ``2**max_depth`` leaves.
    features : tuple of str
        The inputs, each one of :data:`egid.features.WINDOW_FEATURES` (computable from the 5x5 crystals around
        the seed). The default eight were chosen by greedy forward selection among the 21 window features
        (``benchmarks/select_trigger_features.py``): on egid's simulated default sample (30k electrons + 30k
        photons, seed 0; 42,000 training, 9,000 validation events, test never read), each step added the feature
        that gave the best validation AUC of an XGBoost model of the trigger's shape (100 trees of depth 4,
        learning rate 0.1). The AUC rose 0.7220, 0.7543, 0.7687, 0.7775, 0.7812, 0.7830, 0.7843, 0.7851 over
        the first eight steps, in the order listed; the eighth set is the first within 0.001 of the model on all
        21 window features (0.7855), after which steps gained at most 0.0007, far below the AUC's standard
        deviation on 9,000 events (about 0.005). The model on all 73 features reached 0.8113: most of the
        trigger's cost comes from what lies outside the 5x5 (brem and conversion deposits spread along i-phi),
        not from the size limits. ``sigma_iphiiphi`` (the spread along i-phi, where the field bends brem and
        conversions) alone gives 0.722. At steps 2, 3, 4 and 7 the runner-up came within 0.0005 of the feature
        chosen: among correlated sums of the 5x5 the choice is not sharp, the physics content is.

    Raises
    ------
    ValueError
        A limit below 1, no features, a feature twice, or a feature outside :data:`egid.features.WINDOW_FEATURES`.
    """

    max_trees: int = 100
    max_depth: int = 4
    features: tuple[str, ...] = (
        "sigma_iphiiphi",
        "e1x3_ieta",
        "sigma_ietaieta",
        "e5x5",
        "e1x5_iphi_over_e5x5",
        "e1x5_ieta_over_e5x5",
        "e3x3",
        "e2x5_max_over_e5x5",
    )

    def __post_init__(self) -> None:
        for name in ("max_trees", "max_depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                msg = f"TriggerLimits.{name}: expected an int >= 1, found {type(value).__name__} {value!r}."
                raise ValueError(msg)
        if not self.features or len(set(self.features)) != len(self.features):
            msg = f"TriggerLimits.features: expected at least one feature, each once; found {list(self.features)}."
            raise ValueError(msg)
        outside = [name for name in self.features if name not in WINDOW_FEATURES]
        if outside:
            msg = f"TriggerLimits.features: {outside} are not 5x5-window features (egid.features.WINDOW_FEATURES)."
            raise ValueError(msg)

    def describe(self) -> str:
        """The limits in words: ``at most 100 trees of depth <= 4 on 8 features of the 5x5 around the seed``."""
        trees = f"at most {self.max_trees} trees of depth <= {self.max_depth}"
        return f"{trees} on {len(self.features)} features of the 5x5 around the seed"


TRIGGER_LIMITS: Final = TriggerLimits()
"""The default limits: 100 trees of depth at most 4 on eight 5x5-window features."""


def tune_and_fit_trigger(
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    *,
    out_dir: str | os.PathLike[str],
    limits: TriggerLimits = TRIGGER_LIMITS,
) -> TreeModel:
    """Tune and fit the trigger model on ``limits.features`` of the given events, within ``limits``.

    Parameters
    ----------
    X_train, y_train, X_val, y_val
        As for :func:`egid.models.tuning.tune_and_fit`; the tables must hold ``limits.features`` (other columns
        are ignored).
    settings : TuningSettings
        The study's settings; ``max_rounds`` is lowered to ``limits.max_trees`` (a smaller value is kept).
    out_dir : path
        Tuning directory (journal, trials table, best parameters).
    limits : TriggerLimits
        The trees, depth and features allowed.

    Returns
    -------
    TreeModel
        An XGBoost model of at most ``limits.max_trees`` trees of depth at most ``limits.max_depth``, reading
        exactly ``limits.features`` in that order.
    """
    columns, capped, space = _study(settings, limits)
    return tune_and_fit(
        TRIGGER_KIND, X_train[columns], y_train, X_val[columns], y_val, capped, out_dir=out_dir, space=space
    )


def tune_trigger(
    X_train: pd.DataFrame,
    y_train: npt.ArrayLike,
    X_val: pd.DataFrame,
    y_val: npt.ArrayLike,
    settings: TuningSettings,
    *,
    out_dir: str | os.PathLike[str],
    limits: TriggerLimits = TRIGGER_LIMITS,
) -> optuna.Study:
    """Run trials of the trigger model's study without fitting the model (an ``egid tune`` worker's share).

    The study, its search space and its rounds cap are those of :func:`tune_and_fit_trigger`, which later finds
    the trials done. Like :func:`egid.models.tuning.tune`, every trial trains on ``X_train`` as given: pass the
    tuning subsample that :func:`tune_and_fit_trigger` draws.
    """
    columns, capped, space = _study(settings, limits)
    return tune(TRIGGER_KIND, X_train[columns], y_train, X_val[columns], y_val, capped, out_dir=out_dir, space=space)


def _study(settings: TuningSettings, limits: TriggerLimits) -> tuple[list[str], TuningSettings, SearchSpace]:
    """The trigger study's columns, its settings with the rounds lowered to the tree budget (a smaller value is
    kept), and its depth-capped search space."""
    capped = dataclasses.replace(settings, max_rounds=min(settings.max_rounds, limits.max_trees))
    return list(limits.features), capped, xgboost_booster.depth_capped_space(limits.max_depth)
