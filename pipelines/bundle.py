"""Deprecated home of the loaded-model object: it moved to :mod:`egid.models.bundle` in egid 0.2 (gone in 0.3).

``egid.load(run)`` is the entry point; ``from egid.pipelines.bundle import ModelBundle`` still works with a
DeprecationWarning for this release.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "ModelBundle": ("egid.models.bundle", "ModelBundle"),
    "model_sets": ("egid.models.bundle", "model_sets"),
    "model_dir_of": ("egid.models.bundle", "model_dir_of"),
    "export_models": ("egid.models.bundle", "save_model_sets"),
    "FEATURES_ONLY": ("egid.models.catalogue", "FEATURES_ONLY"),
    "STACKED": ("egid.models.catalogue", "STACKED"),
    "TRIGGER": ("egid.models.catalogue", "TRIGGER"),
}
"""The public names of egid 0.1's ``egid.pipelines.bundle`` -> the module and name that replace each."""


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        msg = f"module 'egid.pipelines.bundle' has no attribute {name!r}"
        raise AttributeError(msg)
    module, new = _MOVED[name]
    warnings.warn(
        f"egid.pipelines.bundle.{name} moved to {module}.{new} (egid 0.2); the old path goes in 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), new)
