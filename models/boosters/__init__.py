"""The boosted-tree libraries egid trains, one module each behind one interface, and their registry.

Each module (:mod:`~egid.models.boosters.lightgbm`, :mod:`~egid.models.boosters.xgboost`) is the only place
that imports its library and implements :class:`~egid.models.boosters.base.BoosterLibrary` with module-level
names, as conifer has one converter module per source library. Code outside these modules looks a library up
by its name, the model kind, with :func:`get_booster_library` and never branches on it.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from egid.models.boosters import lightgbm as _lightgbm
from egid.models.boosters import xgboost as _xgboost
from egid.models.boosters.base import BoosterLibrary, BoosterParams

__all__ = ("TREE_KINDS", "BoosterLibrary", "BoosterParams", "TreeKind", "get_booster_library")

TreeKind: TypeAlias = Literal["lightgbm", "xgboost"]
TREE_KINDS: tuple[TreeKind, ...] = ("lightgbm", "xgboost")
"""The model kinds, in display order."""

_LIBRARIES: dict[str, BoosterLibrary] = {_lightgbm.NAME: _lightgbm, _xgboost.NAME: _xgboost}


def get_booster_library(kind: str) -> BoosterLibrary:
    """Return the library module that trains, predicts with, saves and converts models of ``kind``.

    Raises
    ------
    ValueError
        When ``kind`` is not one of :data:`TREE_KINDS`; the message lists them.
    """
    try:
        return _LIBRARIES[kind]
    except KeyError:
        msg = f"Expected a tree kind among {TREE_KINDS}; got {kind!r}."
        raise ValueError(msg) from None
