"""The booster libraries: one registry, one interface that both library modules implement name for name."""

from __future__ import annotations

import onnx
import pytest

from egid.detector import InputError
from egid.models import TREE_KINDS, get_booster_library
from egid.models.boosters import BoosterLibrary
from egid.models.boosters import lightgbm as lightgbm_library
from egid.models.boosters import xgboost as xgboost_library
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
