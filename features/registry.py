"""The feature registry: every feature's name, unit, formula and meaning in one map, and the table builder.

Features come in families (one module each: :mod:`egid.features.energies`, :mod:`egid.features.shower_shapes`,
:mod:`egid.features.profiles`, :mod:`egid.features.clusters`, :mod:`egid.features.timing`). A family computes all
its features at once because they share intermediates; the registry still documents each feature on its own
(``get_feature(name).doc``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.features import clusters, energies, profiles, shower_shapes, timing
from egid.features.crops import CropBatch, as_crops
from egid.features.feature import Family, Feature

__all__ = (
    "BLOCK_SIZE",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "REGISTRY",
    "TABLE_DTYPE",
    "WINDOW_FEATURES",
    "build_table",
    "compute_columns",
    "get_feature",
)

logger = logging.getLogger(__name__)

FEATURE_SET_VERSION = "2"
"""Bump whenever any feature definition changes: feature caches are keyed by it."""

BLOCK_SIZE = 8192
"""Images computed together (about 100 MB of intermediates at most)."""

TABLE_DTYPE = np.float32
"""dtype of every feature column (computed in float64, stored in float32: ample for trees, half the memory)."""

REGISTRY: Mapping[str, Feature] = MappingProxyType(
    {f.name: f for family in (energies, shower_shapes, profiles, clusters, timing) for f in family.FEATURES}
)
"""Feature name -> :class:`~egid.features.feature.Feature`, in table column order."""

FEATURE_NAMES: tuple[str, ...] = tuple(REGISTRY)
"""All feature names in their stable table order."""

WINDOW_FEATURES: tuple[str, ...] = (
    "e_seed",
    "e2x2",
    "e3x3",
    "e5x5",
    "e1x3_ieta",
    "e1x3_iphi",
    "e1x5_ieta",
    "e1x5_iphi",
    "e2x5_max",
    "e_left",
    "e_right",
    "e_top",
    "e_bottom",
    "s4",
    "e1x5_iphi_over_e5x5",
    "e1x5_ieta_over_e5x5",
    "e2x5_max_over_e5x5",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "sigma_ietaiphi",
    "seed_time",
)
"""The features that depend only on the 5x5 crystals around the seed (both channels), in table order.

A trigger that reads the 5x5 window around the seed crystal (16, 16) can compute exactly these, without the rest
of the crop: the sums and ratios inside the 5x5 (:mod:`egid.features.energies`), the log-weighted local covariances
(:mod:`egid.features.shower_shapes`, whose weights are normalised to ``e5x5``) and the seed's time. Every other
feature reads some crystal outside it: ``e_sum`` and what is divided by it (``r9``, the profiles), counts and
clusters over the crop, widths over all lit crystals, and the hottest (``e_max``, ``seed_is_max``) or second-hottest
crystal of the crop, which can lie outside the 5x5. ``tests/features/test_window.py`` proves the list exact on
Geant4 and simulated crops: these features do not change when every crystal outside the 5x5 is zeroed or
randomised, and every other feature changes for some crop.
"""


def get_feature(name: str) -> Feature:
    """Return the registered feature called ``name``.

    Raises
    ------
    KeyError
        ``name`` is not registered; the message lists the valid names.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        msg = f"unknown feature {name!r}; valid names are: {', '.join(FEATURE_NAMES)}"
        raise KeyError(msg) from None


def compute_columns(images: npt.ArrayLike, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Compute the named features (all when None) of a batch as float32 (N,) arrays, in the order asked for.

    Each family needed runs once per block of :data:`BLOCK_SIZE` images, whatever number of its features is
    asked for; blocks bound the memory of the intermediates for any batch size.
    """
    wanted = [get_feature(name) for name in (FEATURE_NAMES if names is None else names)]
    x = as_crops(images)
    columns = {f.name: np.empty(len(x), dtype=TABLE_DTYPE) for f in wanted}
    for start in range(0, len(x), BLOCK_SIZE):
        batch = CropBatch(x[start : start + BLOCK_SIZE])
        results: dict[Family, Mapping[str, np.ndarray]] = {}
        for feature in wanted:
            if feature.compute not in results:
                results[feature.compute] = feature.compute(batch)
            columns[feature.name][start : start + batch.n_events] = results[feature.compute][feature.name]
    return columns


def build_table(images: npt.ArrayLike, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Compute a feature table for a batch of crops.

    Parameters
    ----------
    images : array of shape (N, 32, 32, 2)
        Crops in file units (channel 0 energy in GeV / 50, channel 1 time in ns / 50), energies >= 0.
    names : iterable of str, optional
        Features to compute, in the column order wanted; default :data:`FEATURE_NAMES`.

    Returns
    -------
    table : DataFrame of shape (N, len(names))
        One float32 column per feature (GeV, ns, crystals, counts or ratios; see ``get_feature(name).unit``).
        Undefined values (ratios of an empty crop, moments of a single crystal) are NaN.

    Raises
    ------
    KeyError
        A name is not registered.
    ValueError
        ``images`` does not have the shape (N, 32, 32, 2).
    """
    columns = compute_columns(images, names)
    table = pd.DataFrame(columns, copy=False)
    undefined = table.isna().sum()
    if undefined.any():
        logger.debug("undefined (NaN) values per feature: %s", undefined[undefined > 0].to_dict())
    return table
