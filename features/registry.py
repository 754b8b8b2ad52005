"""The feature registry: every feature's name, unit, formula and meaning in one map, and the table builder.

Features come in families (one module each: :mod:`egid.features.energies`, :mod:`egid.features.shower_shapes`,
:mod:`egid.features.profiles`, :mod:`egid.features.clusters`, :mod:`egid.features.timing`, and
:mod:`egid.features.hadronic` for the third class, charged pions). A family computes all its features at once
because they share intermediates; the registry still documents each feature on its own (``get_feature(name).doc``).

Two feature sets are named: :data:`FEATURE_NAMES`, the electron/photon set that binary models read, and
:data:`THREE_CLASS_FEATURES`, the same followed by :data:`HADRONIC_FEATURES`. Each set has its version
(:func:`feature_set_version`), which keys the feature caches and the models' manifests.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector.schema import Images
from egid.features import clusters, energies, hadronic, profiles, shower_shapes, timing
from egid.features.crops import CropBatch, checked_crops
from egid.features.feature import Family, Feature

__all__ = (
    "BLOCK_SIZE",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "HADRONIC_FEATURES",
    "HADRONIC_SET_VERSION",
    "REGISTRY",
    "TABLE_DTYPE",
    "THREE_CLASS_FEATURES",
    "WINDOW_FEATURES",
    "build_table",
    "compute_columns",
    "crop_columns",
    "feature_set_version",
    "get_feature",
)

logger = logging.getLogger(__name__)

FEATURE_SET_VERSION = "2"
"""Bump whenever the definition of a feature of :data:`FEATURE_NAMES` changes: feature caches are keyed by it."""
HADRONIC_SET_VERSION = "1"
"""Bump whenever the definition of a feature of :data:`HADRONIC_FEATURES` changes."""

BLOCK_SIZE = 8192
"""Images computed together (about 100 MB of intermediates at most)."""

TABLE_DTYPE = np.float32
"""dtype of every feature column (computed in float64, stored in float32: ample for trees, half the memory)."""

_EGAMMA_FAMILIES = (energies, shower_shapes, profiles, clusters, timing)

REGISTRY: Mapping[str, Feature] = MappingProxyType(
    {f.name: f for family in (*_EGAMMA_FAMILIES, hadronic) for f in family.FEATURES}
)
"""Feature name -> :class:`~egid.features.feature.Feature` of every feature, in table column order."""

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for family in _EGAMMA_FAMILIES for f in family.FEATURES)
"""The electron/photon feature set in its stable table order: what :func:`build_table` computes by default and
what the binary models read."""

HADRONIC_FEATURES: tuple[str, ...] = tuple(f.name for f in hadronic.FEATURES)
"""The features that separate hadronic from electromagnetic showers (:mod:`egid.features.hadronic`)."""

THREE_CLASS_FEATURES: tuple[str, ...] = FEATURE_NAMES + HADRONIC_FEATURES
"""The electron/photon/charged-pion feature set: :data:`FEATURE_NAMES`, then :data:`HADRONIC_FEATURES`."""

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


def feature_set_version(names: Sequence[str] = FEATURE_NAMES) -> str:
    """The version of the definitions of the columns ``names``, in that order.

    :data:`FEATURE_SET_VERSION` for :data:`FEATURE_NAMES` (the key binary caches and models have always used);
    for any other list, that version, :data:`HADRONIC_SET_VERSION` and a digest of the names, so that two
    different column lists never share a version.

    Raises
    ------
    KeyError
        A name is not registered.
    """
    names = tuple(names)
    for name in names:
        get_feature(name)
    if names == FEATURE_NAMES:
        return FEATURE_SET_VERSION
    digest = hashlib.blake2b(",".join(names).encode(), digest_size=4).hexdigest()
    return f"{FEATURE_SET_VERSION}.h{HADRONIC_SET_VERSION}-{digest}"


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
        msg = f"unknown feature {name!r}; valid names are: {', '.join(REGISTRY)}"
        raise KeyError(msg) from None


def compute_columns(images: npt.ArrayLike, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Compute the named features (default :data:`FEATURE_NAMES`) of a batch as float32 (N,) arrays, in order.

    ``images`` pass the input rule of :func:`build_table` first.

    Raises
    ------
    KeyError
        A name is not registered.
    InputError
        ``images`` breaks the input rule (see :func:`build_table`).
    """
    wanted = [get_feature(name) for name in (FEATURE_NAMES if names is None else names)]
    return _columns(checked_crops(images), wanted)


def crop_columns(crops: Images, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`compute_columns` of crops that already passed the input rule (float32, (N, 32, 32, 2), checked).

    For crops that :class:`egid.detector.EventDataset` or :func:`egid.features.crops.checked_crops` delivered:
    the pixel check costs about as much as the features themselves, so it runs once, where data enter.
    """
    return _columns(crops, [get_feature(name) for name in (FEATURE_NAMES if names is None else names)])


def _columns(x: Images, wanted: list[Feature]) -> dict[str, np.ndarray]:
    """Each family needed runs once per block of :data:`BLOCK_SIZE` images, whatever number of its features is
    asked for; blocks bound the memory of the intermediates for any batch size."""
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
        Crops in file units (channel 0 energy in GeV / 50, channel 1 time in ns / 50): a numpy array (float32,
        or any real dtype, cast to float32) or anything ``np.asarray`` reads (a CPU torch tensor, nested lists).
    names : iterable of str, optional
        Features to compute, in the column order wanted; default :data:`FEATURE_NAMES` (the electron/photon set;
        :data:`THREE_CLASS_FEATURES` adds the hadronic features).

    Returns
    -------
    table : DataFrame of shape (N, len(names))
        One float32 column per feature (GeV, ns, crystals, counts or ratios; see ``get_feature(name).unit``).
        Undefined values (ratios of an empty crop, moments of a single crystal) are NaN.

    Raises
    ------
    KeyError
        A name is not registered.
    InputError
        The one input rule of egid's library and files, as ``egid.load(run).predict`` applies it: ``images``
        must be an array of real numbers of shape (N, 32, 32, 2) (complex, bool, string and object arrays are
        refused, as is a torch tensor that requires grad: pass ``images.detach()``), and every crop must pass
        :func:`egid.detector.check_images`: no NaN or inf, no negative energy, energies and times within their
        physical bounds. The message is one line naming what was expected and what was found, or the first
        offending crop. N = 0 gives an empty table.
    """
    columns = compute_columns(images, names)
    table = pd.DataFrame(columns, copy=False)
    undefined = table.isna().sum()
    if undefined.any():
        logger.debug("undefined (NaN) values per feature: %s", undefined[undefined > 0].to_dict())
    return table
