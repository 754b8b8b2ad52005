"""Deprecated home of the loaded-model object: it moved to :mod:`egid.models.bundle` in egid 0.2 (gone in 0.3).

``egid.load(run)`` is the entry point; ``from egid.pipelines.bundle import ModelBundle`` still works with a
DeprecationWarning for this release.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {"ModelBundle": "ModelBundle", "model_sets": "model_sets", "model_dir_of": "model_dir_of"}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        msg = f"module 'egid.pipelines.bundle' has no attribute {name!r}"
        raise AttributeError(msg)
    warnings.warn(
        f"egid.pipelines.bundle.{name} moved to egid.models.bundle.{_MOVED[name]} (egid 0.2); the old path goes in 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module("egid.models.bundle"), _MOVED[name])
