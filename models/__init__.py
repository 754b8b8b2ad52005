"""egid's models: tuned boosted trees (LightGBM, XGBoost), their exports, manifest and feature importances.

Each tree library sits in its own module of :mod:`egid.models.boosters`, behind one interface; every other
module, and every caller, works with :class:`TreeModel` and a model ``kind``. The CNN (``egid.models.cnn``) and
its stacking (``egid.models.stacking``) import torch; import them explicitly, so that ``import egid.models`` and
everything re-exported here work without it.
"""

from __future__ import annotations

from egid.models.boosters import TREE_KINDS, TreeKind, get_booster_library
from egid.models.boosters.lightgbm import LightGBMParams
from egid.models.boosters.xgboost import XGBoostParams
from egid.models.bundle import ModelBundle
from egid.models.export import OnnxTreeScorer, export_tree_model, load_tree_model, to_native, to_onnx
from egid.models.importance import ShapValues, importance_table, read_importances, shap_values, write_importances
from egid.models.manifest import Manifest, read_manifest, write_manifest
from egid.models.trees import TreeModel, fit_tree_model
from egid.models.tuning import tune, tune_and_fit
from egid.models.tuning_settings import TuningSettings

__all__ = (
    "TREE_KINDS",
    "LightGBMParams",
    "Manifest",
    "ModelBundle",
    "OnnxTreeScorer",
    "ShapValues",
    "TreeKind",
    "TreeModel",
    "TuningSettings",
    "XGBoostParams",
    "export_tree_model",
    "fit_tree_model",
    "get_booster_library",
    "importance_table",
    "load_tree_model",
    "read_importances",
    "read_manifest",
    "shap_values",
    "to_native",
    "to_onnx",
    "tune",
    "tune_and_fit",
    "write_importances",
    "write_manifest",
)
