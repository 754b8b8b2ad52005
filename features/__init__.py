"""Physics features of the ECAL crops: named, documented shower-shape, energy, cluster and timing quantities.

``FEATURE_NAMES`` lists them in their stable table order (``WINDOW_FEATURES``: those a trigger computes from the
5x5 around the seed), ``get_feature(name)`` returns each one's unit, formula and physics meaning,
``build_table(images)`` computes them for a batch of crops, and ``extract_table`` / ``cached_table`` stream a whole
dataset into a table (with a parquet cache).
"""

from __future__ import annotations

from egid.features.extract import cached_table, extract_table
from egid.features.feature import Feature
from egid.features.registry import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    REGISTRY,
    TABLE_DTYPE,
    WINDOW_FEATURES,
    build_table,
    get_feature,
)

__all__ = (
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "REGISTRY",
    "TABLE_DTYPE",
    "WINDOW_FEATURES",
    "Feature",
    "build_table",
    "cached_table",
    "extract_table",
    "get_feature",
)
