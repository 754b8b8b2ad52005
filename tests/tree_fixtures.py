"""Fixtures of the boosted-tree tests (models, evaluation, pipelines): a small synthetic feature table, fitted
models and an exported model dir.

The table stands in for ``egid.features.build_table``: named float columns with NaNs (undefined features) plus a
``cnn_score`` column, as the stacked table has. Fixture names start with ``tree_`` so they do not collide with
the CNN tests' fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from egid.models.export import export_tree_model
from egid.models.importance import shap_values, write_importances
from egid.models.manifest import write_manifest
from egid.models.trees import TREE_KINDS, TreeKind, TreeModel, fit_tree_model

TREE_FEATURE_NAMES = (
    "r9",
    "sigma_ieta_ieta",
    "sigma_iphi_iphi",
    "e2x5_over_e5x5",
    "phi_width",
    "time_spread",
    "n_crystals",
    "cnn_score",
)
TREE_FEATURE_SET_VERSION = "test-1"
TREE_SEED = 7


@dataclass(frozen=True)
class TreeTable:
    """Train, validation and test splits of the synthetic feature table (labels 1 electron, 0 photon)."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray


def make_tree_table(n: int = 1500, *, seed: int = 0) -> TreeTable:
    """A noisy binary problem (10% flipped labels) with float32 features and 10% NaN in two columns."""
    X, y = make_classification(
        n_samples=n,
        n_features=len(TREE_FEATURE_NAMES),
        n_informative=5,
        n_redundant=1,
        flip_y=0.1,
        random_state=seed,
    )
    table = pd.DataFrame(X.astype(np.float32), columns=list(TREE_FEATURE_NAMES))
    rng = np.random.default_rng(seed)
    for column in ("sigma_iphi_iphi", "time_spread"):
        table.loc[rng.random(n) < 0.1, column] = np.nan
    labels = y.astype(np.float32)
    a, b = int(0.6 * n), int(0.8 * n)
    return TreeTable(table[:a], labels[:a], table[a:b], labels[a:b], table[b:], labels[b:])


@pytest.fixture(scope="session")
def tree_table() -> TreeTable:
    return make_tree_table()


@pytest.fixture(scope="session")
def tree_models(tree_table: TreeTable) -> Mapping[TreeKind, TreeModel]:
    """One LightGBM and one XGBoost model with default parameters, early-stopped on the validation AUC."""
    t = tree_table
    return {
        kind: fit_tree_model(
            kind, t.X_train, t.y_train, t.X_val, t.y_val, max_rounds=300, early_stopping_rounds=15, seed=TREE_SEED
        )
        for kind in TREE_KINDS
    }


@pytest.fixture(scope="session")
def tree_model_dir(tree_table: TreeTable, tree_models: Mapping[TreeKind, TreeModel], tmp_path_factory) -> Path:
    """A model directory as a run leaves it: both exports, their importances and the manifest. Do not modify."""
    model_dir = tmp_path_factory.mktemp("run") / "models"
    for model in tree_models.values():
        export_tree_model(model, model_dir, check_X=tree_table.X_test)
        write_importances(model, shap_values(model, tree_table.X_test), model_dir)
    write_manifest(
        model_dir, feature_names=TREE_FEATURE_NAMES, feature_set_version=TREE_FEATURE_SET_VERSION, seed=TREE_SEED
    )
    return model_dir
