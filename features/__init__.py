"""Physics features of the ECAL crops: named, documented shower-shape, energy, cluster and timing quantities.

``FEATURE_NAMES`` lists the electron/photon set in its stable table order (``WINDOW_FEATURES``: those a trigger
computes from the 5x5 around the seed), ``THREE_CLASS_FEATURES`` adds ``HADRONIC_FEATURES`` for charged pions;
``get_feature(name)`` returns each one's unit, formula (plain and LaTeX) and physics meaning,
``build_table(images)`` computes them for a batch of crops, and ``extract_table`` / ``cached_table`` stream a whole
dataset into a table (with a verified parquet cache).
"""

from __future__ import annotations

from egid.features.extract import cached_table, extract_table
from egid.features.feature import Feature
from egid.features.registry import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HADRONIC_FEATURES,
    REGISTRY,
    TABLE_DTYPE,
    THREE_CLASS_FEATURES,
    WINDOW_FEATURES,
    build_table,
    feature_set_version,
    get_feature,
)

__all__ = (
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "HADRONIC_FEATURES",
    "REGISTRY",
    "TABLE_DTYPE",
    "THREE_CLASS_FEATURES",
    "WINDOW_FEATURES",
    "Feature",
    "build_table",
    "cached_table",
    "extract_table",
    "feature_set_version",
    "get_feature",
)
