"""Fixtures of the deployment tests (firmware, compiled C): small boosters (20 trees of depth 3) trained on a
10k-event synthetic feature table."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from egid.models import LightGBMParams, TreeKind, TreeModel, XGBoostParams, fit_tree_model
from tests.tree_fixtures import TreeTable, make_tree_table

DEPLOY_TREES = 20
DEPLOY_DEPTH = 3


@pytest.fixture(scope="session")
def deploy_table() -> TreeTable:
    return make_tree_table(10_000, seed=3)


@pytest.fixture(scope="session")
def deploy_models(deploy_table: TreeTable) -> Mapping[TreeKind, TreeModel]:
    t = deploy_table
    params = {
        "lightgbm": LightGBMParams(num_leaves=2**DEPLOY_DEPTH, max_depth=DEPLOY_DEPTH),
        "xgboost": XGBoostParams(max_depth=DEPLOY_DEPTH),
    }
    return {
        kind: fit_tree_model(
            kind, t.X_train, t.y_train, t.X_val, t.y_val, params=p, max_rounds=DEPLOY_TREES, early_stopping_rounds=None
        )
        for kind, p in params.items()
    }


@pytest.fixture(scope="session")
def deploy_events(deploy_table: TreeTable) -> tuple[pd.DataFrame, np.ndarray]:
    """The golden events: the validation and test events (4000, 10% of two columns NaN) and their labels."""
    t = deploy_table
    return pd.concat([t.X_val, t.X_test]), np.concatenate([t.y_val, t.y_test])
