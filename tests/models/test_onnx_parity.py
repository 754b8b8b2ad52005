"""The one ONNX tolerance: shared by both exporters, and between the two kinds of difference it must tell apart
(float32 rounding, a few 1e-7, passes; a split taking the other branch, 1e-3 or more, fails)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
import pytest

from egid.models import export, onnx_parity
from egid.models.export import OnnxTreeScorer, onnx_path
from egid.models.onnx_parity import ONNX_TOLERANCE
from egid.models.trees import TREE_KINDS, TreeKind, TreeModel
from tests.tree_fixtures import TreeTable

#: The other branch at every split: the mode that inverts each node's comparison (NaN keeps its default branch).
INVERTED = {b"BRANCH_LEQ": b"BRANCH_GT", b"BRANCH_LT": b"BRANCH_GTE"}


def test_the_tolerance_is_defined_once_and_imported_by_every_module_that_checks_parity() -> None:
    assert ONNX_TOLERANCE == 1e-5
    assert inspect.signature(export.to_onnx).parameters["tolerance"].default is ONNX_TOLERANCE
    users = []
    for path in sorted(Path(onnx_parity.__file__).parent.glob("*.py")):
        source = path.read_text()
        if path.name == "onnx_parity.py" or "ONNX_TOLERANCE" not in source:
            continue
        users.append(path.name)
        assert "from egid.models.onnx_parity import ONNX_TOLERANCE" in source, path.name
        assert not re.search(r"^ONNX_TOLERANCE\s*[:=]", source, re.MULTILINE), f"{path.name} defines its own"
    assert "export.py" in users and len(users) >= 2  # the trees' exporter and the CNN folds' exporter


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_float32_rounding_stays_far_below_the_tolerance(
    kind: TreeKind, tree_table: TreeTable, tree_models: Mapping[TreeKind, TreeModel], tree_model_dir: Path
) -> None:
    onnx_scores = OnnxTreeScorer(onnx_path(tree_model_dir, kind)).predict(tree_table.X_test)
    difference = np.max(np.abs(onnx_scores - tree_models[kind].predict(tree_table.X_test)))
    assert 0 < difference < ONNX_TOLERANCE / 10, f"{kind}: max |p_onnx - p_native| = {difference:.3g}"


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_one_tree_taking_the_other_branch_stays_far_above_the_tolerance(
    kind: TreeKind,
    tree_table: TreeTable,
    tree_models: Mapping[TreeKind, TreeModel],
    tree_model_dir: Path,
    tmp_path: Path,
) -> None:
    graph = onnx.load(str(onnx_path(tree_model_dir, kind)))
    ensemble = next(node for node in graph.graph.node if node.op_type.startswith("TreeEnsemble"))
    attributes = {attribute.name: attribute for attribute in ensemble.attribute}
    modes, trees = attributes["nodes_modes"].strings, attributes["nodes_treeids"].ints
    for k, tree in enumerate(trees):
        if tree == 0 and modes[k] in INVERTED:
            modes[k] = INVERTED[modes[k]]
    damaged = tmp_path / f"{kind}.onnx"
    onnx.save(graph, str(damaged))
    native = tree_models[kind].predict(tree_table.X_test)
    difference = np.max(np.abs(OnnxTreeScorer(damaged).predict(tree_table.X_test) - native))
    assert difference > 100 * ONNX_TOLERANCE, f"{kind}: max |p_onnx - p_native| = {difference:.3g}"
