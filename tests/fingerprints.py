"""A compact fingerprint of a feature table: per column, the NaN count and the mean, standard deviation, minimum
and maximum of the finite values.

Compared with a relative tolerance (:data:`RTOL`, 30 float32 steps), it ignores the last-bit differences between
processors and numpy builds but catches a changed formula: changing one feature by 1% on one event in 200 moves
its mean by 5e-5. A mismatch names the features that changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 2e-6
"""Relative tolerance of each summary (float32 values carry a relative precision of 6e-8)."""

SUMMARIES = ("nan_count", "mean", "std", "min", "max")


def table_fingerprint(table: pd.DataFrame) -> dict[str, list[float]]:
    """Column name -> the :data:`SUMMARIES` of that column (finite values in float64; NaN when a column has none)."""
    out: dict[str, list[float]] = {}
    for name in table.columns:
        values = table[name].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        stats = [finite.mean(), finite.std(), finite.min(), finite.max()] if finite.size else [np.nan] * 4
        out[str(name)] = [float(np.count_nonzero(~np.isfinite(values))), *map(float, stats)]
    return out


def changed_features(found: dict[str, list[float]], pinned: dict[str, list[float]]) -> list[str]:
    """Names whose summaries differ beyond :data:`RTOL` (or that exist in only one of the two fingerprints)."""
    names = sorted(set(found) | set(pinned))
    return [
        name
        for name in names
        if name not in found
        or name not in pinned
        or not np.allclose(found[name], pinned[name], rtol=RTOL, atol=1e-12, equal_nan=True)
    ]
