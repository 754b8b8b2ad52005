"""The learning curves of one trained model, in one plain form for every model.

The CNN's training loop returns a :class:`TrainingHistory` per fold; a boosted tree's per-round table converts
to one (:func:`egid.evaluation.publish.tree_history`), so the plotting code knows no model library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np

__all__ = ("HISTORY_METRICS", "HISTORY_SPLITS", "TrainingHistory")

HISTORY_SPLITS: Final = ("train", "validation")
"""The samples a model is evaluated on while it trains."""
HISTORY_METRICS: Final = ("logloss", "accuracy", "auc")
"""The recorded quantities: binary cross-entropy (nats per event), the fraction classified right at 0.5 and the
ROC AUC."""


@dataclass(frozen=True)
class TrainingHistory:
    """Per-step metrics of one training run (one boosting run, or one CNN fold).

    Parameters
    ----------
    x_label : str
        What one step is, for the x axis: ``"boosting round"``, ``"epoch"`` or ``"optimizer step"``.
    curves : mapping of split -> metric -> sequence of float
        Splits among :data:`HISTORY_SPLITS`, metrics among :data:`HISTORY_METRICS`; any subset may be present
        (LightGBM records no accuracy unless asked for ``binary_error``: pass ``1 - binary_error``). Every
        sequence has the same length, the number of steps.
    best : int or None
        The recorded step whose model was kept (early stopping), 1-based; None when the last step was kept.
    positions : sequence of float or None
        Where each recorded step lies on the x axis, increasing (the CNN records its curves at a few optimizer
        steps, 0 for pretrained weights before any step); None: 1, 2, ..., steps.

    Raises
    ------
    ValueError
        On an unknown split or metric, sequences of different lengths, an empty history, ``best`` outside
        1..steps, or positions that are not increasing or not one per step.
    """

    x_label: str
    curves: Mapping[str, Mapping[str, Sequence[float]]]
    best: int | None = None
    positions: Sequence[float] | None = None

    def __post_init__(self) -> None:
        frozen: dict[str, Mapping[str, tuple[float, ...]]] = {}
        for split, metrics in self.curves.items():
            if split not in HISTORY_SPLITS:
                msg = f"Expected history splits among {HISTORY_SPLITS}; got {split!r}."
                raise ValueError(msg)
            unknown = sorted(set(metrics) - set(HISTORY_METRICS))
            if unknown:
                msg = f"Expected history metrics among {HISTORY_METRICS}; got {unknown}."
                raise ValueError(msg)
            as_tuples = {name: tuple(float(v) for v in values) for name, values in metrics.items()}
            frozen[split] = MappingProxyType(as_tuples)
        lengths = {len(values) for metrics in frozen.values() for values in metrics.values()}
        if len(lengths) != 1 or 0 in lengths:
            msg = f"Expected non-empty curves of one common length; got lengths {sorted(lengths)}."
            raise ValueError(msg)
        steps = lengths.pop()
        if self.best is not None and not 1 <= self.best <= steps:
            msg = f"Expected best between 1 and {steps} (the number of steps); got {self.best}."
            raise ValueError(msg)
        object.__setattr__(self, "curves", MappingProxyType(frozen))
        if self.positions is not None:
            positions = tuple(float(x) for x in self.positions)
            if len(positions) != steps or np.any(np.diff(positions) <= 0):
                msg = f"Expected {steps} increasing positions (one per step); got {positions}."
                raise ValueError(msg)
            object.__setattr__(self, "positions", positions)

    @property
    def steps(self) -> int:
        """The number of recorded steps (boosting rounds or epochs)."""
        return len(next(iter(next(iter(self.curves.values())).values())))

    @property
    def x(self) -> np.ndarray:
        """The x-axis value of every recorded step: ``positions``, or 1, 2, ..., steps."""
        if self.positions is None:
            return np.arange(1, self.steps + 1, dtype=np.float64)
        return np.asarray(self.positions, dtype=np.float64)

    def curve(self, split: str, metric: str) -> np.ndarray | None:
        """Return the values of ``metric`` on ``split`` per step, or None if they were not recorded."""
        values = self.curves.get(split, {}).get(metric)
        return None if values is None else np.asarray(values, dtype=np.float64)
