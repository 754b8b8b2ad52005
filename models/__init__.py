"""egid's models: tuned boosted trees (LightGBM, XGBoost), their exports, manifest and feature importances.

The CNN (``egid.models.cnn``) and its stacking (``egid.models.stacking``) import torch; import them explicitly, so that
``import models`` and everything re-exported here work without it.
"""

from __future__ import annotations

from egid.models.export import OnnxTreeScorer, export_tree_model, load_tree_model, to_json, to_onnx, to_txt
from egid.models.importance import ShapValues, importance_table, read_importances, shap_values, write_importances
from egid.models.manifest import Manifest, read_manifest, write_manifest
from egid.models.trees import (
    TREE_KINDS,
    LightGBMParams,
    TreeKind,
    TreeModel,
    XGBoostParams,
    fit_lightgbm,
    fit_tree_model,
    fit_xgboost,
)
from egid.models.tuning import lightgbm_space, tune, tune_and_fit, xgboost_space

__all__ = (
    "TREE_KINDS",
    "LightGBMParams",
    "Manifest",
    "OnnxTreeScorer",
    "ShapValues",
    "TreeKind",
    "TreeModel",
    "XGBoostParams",
    "export_tree_model",
    "fit_lightgbm",
    "fit_tree_model",
    "fit_xgboost",
    "importance_table",
    "lightgbm_space",
    "load_tree_model",
    "read_importances",
    "read_manifest",
    "shap_values",
    "to_json",
    "to_onnx",
    "to_txt",
    "tune",
    "tune_and_fit",
    "write_importances",
    "write_manifest",
    "xgboost_space",
)
