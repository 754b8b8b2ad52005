"""The booster libraries: one registry, one interface that both library modules implement name for name."""

from __future__ import annotations

import threading

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from egid.detector import InputError
from egid.models import TREE_KINDS, get_booster_library
from egid.models.boosters import BoosterLibrary
from egid.models.boosters import lightgbm as lightgbm_library
from egid.models.boosters import xgboost as xgboost_library
from egid.models.boosters.base import FitStopped
from egid.models.export import onnx_path

INTERFACE = {name for name in dir(BoosterLibrary) if not name.startswith("_")}
# onnxmltools' TreeEnsemble node mode of each convention: x <= t or x < t goes to the left child.
ONNX_MODES = {"<=": b"BRANCH_LEQ", "<": b"BRANCH_LT"}


def test_the_interface_is_what_the_protocol_declares():
    assert {
        "NAME",
        "NATIVE_FILE",
        "PARAMS_TYPE",
        "SPLITTING_CONVENTION",
        "class_gain",
        "contributions",
        "feature_names",
        "fit",
        "importance",
        "leaf_counts",
        "load_native",
        "n_classes",
        "native_bytes",
        "onnx_graph",
        "onnx_input_names",
        "predict",
        "pruning_callback",
        "space",
        "stop_callback",
    } == INTERFACE


#: Public names beyond the interface: XGBoost's depth-capped search space, which the trigger-sized model tunes in.
EXTRAS = {"lightgbm": set(), "xgboost": {"depth_capped_space"}}


@pytest.mark.parametrize("module", [lightgbm_library, xgboost_library], ids=TREE_KINDS)
def test_each_library_module_exposes_exactly_the_interface_and_its_params_class(module):
    params_class = module.PARAMS_TYPE.__name__
    assert set(module.__all__) == INTERFACE | {params_class} | EXTRAS[module.NAME]
    assert all(hasattr(module, name) for name in module.__all__)


def test_the_registry_maps_every_kind_to_the_module_of_that_name():
    assert [get_booster_library(kind) for kind in TREE_KINDS] == [lightgbm_library, xgboost_library]
    assert [get_booster_library(kind).NAME for kind in TREE_KINDS] == list(TREE_KINDS)
    assert [get_booster_library(kind).NATIVE_FILE for kind in TREE_KINDS] == ["lightgbm.txt", "xgboost.json"]


def test_an_unknown_library_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Expected a tree kind among \('lightgbm', 'xgboost'\); got 'catboost'\."):
        get_booster_library("catboost")


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_the_recorded_splitting_convention_is_the_one_the_onnx_graph_uses(kind, tree_model_dir):
    graph = onnx.load(str(onnx_path(tree_model_dir, kind)))
    ensemble = next(node for node in graph.graph.node if node.op_type.startswith("TreeEnsemble"))
    modes = next(attribute.strings for attribute in ensemble.attribute if attribute.name == "nodes_modes")
    assert set(modes) - {b"LEAF"} == {ONNX_MODES[get_booster_library(kind).SPLITTING_CONVENTION]}


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_an_unreadable_native_file_is_one_input_error_naming_the_file(kind, tmp_path):
    path = tmp_path / get_booster_library(kind).NATIVE_FILE
    path.write_bytes(b"\x00\xffnot a booster")
    with pytest.raises(InputError, match=rf"(?i)^{path}: unreadable {kind} booster \(.+\)$"):
        get_booster_library(kind).load_native(path)


class _StopAtRound(threading.Event):
    """An event that reads as set from the ``round``-th look on: a stop arriving while that round trains."""

    def __init__(self, round_: int) -> None:
        super().__init__()
        self.looks, self.round = 0, round_

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.round


def _fit_with(kind: str, callbacks: list, rounds: int = 8, **options):
    x, y = make_classification(400, n_features=4, random_state=0)
    library = get_booster_library(kind)
    return library.fit(
        x[:300],
        y[:300].astype(float),
        x[300:],
        y[300:].astype(float),
        ("a", "b", "c", "d"),
        params=library.PARAMS_TYPE(),
        max_rounds=rounds,
        seed=0,
        n_jobs=1,
        callbacks=callbacks,
        **({"early_stopping_rounds": None} | options),
    )


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_the_stop_callback_ends_a_fit_after_the_round_in_which_stop_was_set(kind: str) -> None:
    library = get_booster_library(kind)
    with pytest.raises(FitStopped, match=rf"^{kind}: fit stopped after round 3$"):
        _fit_with(kind, [library.stop_callback(_StopAtRound(3))])
    untouched = _fit_with(kind, [library.stop_callback(threading.Event())])
    plain = _fit_with(kind, [])
    assert untouched.best_iteration == plain.best_iteration == 8
    x = make_classification(400, n_features=4, random_state=0)[0]
    np.testing.assert_array_equal(library.predict(untouched.booster, x, 8), library.predict(plain.booster, x, 8))


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_a_fit_that_does_not_record_the_training_set_grows_the_same_trees(kind: str) -> None:
    library = get_booster_library(kind)
    recorded = _fit_with(kind, [], rounds=300, early_stopping_rounds=3)
    unrecorded = _fit_with(kind, [], rounds=300, early_stopping_rounds=3, record_training=False)
    assert unrecorded.best_iteration == recorded.best_iteration < 300  # early stopping watched the same figures
    x = make_classification(400, n_features=4, random_state=0)[0]
    rounds = recorded.best_iteration
    np.testing.assert_array_equal(
        library.predict(unrecorded.booster, x, rounds), library.predict(recorded.booster, x, rounds)
    )
    validation = [column for column in recorded.history if column.startswith("validation_")]
    training = [column for column in recorded.history if column.startswith("train_")]
    pd.testing.assert_frame_equal(unrecorded.history[validation], recorded.history[validation])
    assert recorded.history[["train_logloss", "train_accuracy"]].notna().all(axis=None)
    assert unrecorded.history[training].isna().all(axis=None)
