"""Compiled C (tl2cgen): the shared library built with gcc reproduces the boosters, missing values included."""

from __future__ import annotations

import numpy as np
import pytest

from egid.deploy.compiled import CompiledModel, compile_tree_model, write_c_source
from egid.models.trees import TREE_KINDS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_shared_library_reproduces_the_native_probabilities(kind, deploy_models, deploy_events, tmp_path) -> None:
    X, _ = deploy_events
    model = deploy_models[kind]
    library = compile_tree_model(model, tmp_path / f"{kind}.so")
    assert X.isna().any(axis=1).sum() > 100  # the check covers the learned default directions
    difference = np.abs(library.predict(X) - model.predict(X))
    # float32 leaf sums (XGBoost) against the boosters' own accumulation.
    assert difference.max() < 1e-6, f"{np.mean(difference > 1e-6):.2%} of events differ, by up to {difference.max()}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{kind}.so"]


def test_log_odds_and_reloading(deploy_models, deploy_events, tmp_path) -> None:
    X, _ = deploy_events
    model = deploy_models["lightgbm"]
    compile_tree_model(model, tmp_path / "m.so")
    reloaded = CompiledModel(tmp_path / "m.so", feature_names=model.feature_names)
    probability = reloaded.predict(X)
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-reloaded.decision_function(X))), probability, rtol=1e-6)


def test_c_source_is_written(deploy_models, tmp_path) -> None:
    source = write_c_source(deploy_models["xgboost"], tmp_path / "src")
    main = (source / "main.c").read_text()
    assert (source / "header.h").is_file()
    assert main.count("if (") >= 20 * 7 * 0.5  # 20 trees of up to 7 splits, one branch each
