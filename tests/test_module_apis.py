"""The public names of egid and its subpackages are pinned: a move or rename cannot silently break a user's import."""

from __future__ import annotations

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import egid

PUBLIC = {
    "egid": [
        "__version__",
        "deploy",
        "detector",
        "evaluation",
        "features",
        "load",
        "models",
        "pipelines",
        "simulation",
    ],
    "egid.detector": [
        "DEFAULT_CHUNK",
        "EventDataset",
        "EventFile",
        "EventWriter",
        "InputError",
        "Split",
        "atomic_path",
        "check_images",
        "file_digest",
        "is_three_class",
        "load_dataset",
        "require_both_classes",
        "require_classes",
        "stratified_folds",
        "stratified_split",
        "stratified_subsample",
    ],
    "egid.models": [
        "LightGBMParams",
        "Manifest",
        "ModelBundle",
        "OnnxTreeScorer",
        "ShapValues",
        "TREE_KINDS",
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
    ],
    "egid.evaluation": [],
    "egid.pipelines": [],
    "egid.deploy": [],
    "egid.models.bundle": ["ModelBundle", "WORKING_POINTS_FILE", "model_dir_of", "model_sets", "save_model_sets"],
    "egid.models.catalogue": [
        "CNN_MODEL",
        "CNN_SCORE",
        "FEATURES_ONLY",
        "FittedModels",
        "MODEL_SETS",
        "SET_COLUMNS",
        "STACKED",
        "TRIGGER",
        "TRIGGER_MODEL",
        "model_names",
        "score_table",
        "set_members",
        "stacked_name",
        "trigger_costs",
    ],
    "egid.pipelines.vocabulary": [
        "RENAMED_COMMANDS",
        "RENAMED_OPTIONS",
        "deprecation_notice",
        "renamed_arguments",
        "renamed_command",
    ],
    "egid.deploy.targets": [
        "DEFAULT_HLS_WIDTH",
        "DEFAULT_SCAN_WIDTHS",
        "TARGETS",
        "compiled_export",
        "conifer_export",
        "deploy_model",
    ],
    "egid.detector.extras": ["EXTRAS", "Extra", "require_extra"],
    "egid.evaluation.report": [
        "Block",
        "Figures",
        "HEADLINE_AUC_ID",
        "Heading",
        "Paragraph",
        "ReportFigure",
        "Section",
        "Table",
        "best_model",
        "write_blocks",
        "write_report",
    ],
    "egid.evaluation.three_class_report": [
        "CONFUSION_FIGURE",
        "DEFAULT_TITLE",
        "ROC_FIGURE",
        "write_three_class_report",
    ],
}
"""Module -> its ``__all__``: every subpackage (egid.features in tests/features/test_registry.py, egid.simulation in
tests/simulation/) and the modules a notebook user imports from."""


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    assert all(hasattr(imported, name) for name in imported.__all__)


def test_dir_of_egid_lists_exactly_its_public_names() -> None:
    assert sorted(dir(egid)) == sorted(PUBLIC["egid"])
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        _ = egid.fit


def test_egid_imports_from_a_folder_that_holds_models_and_features_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise ImportError('the user folder models/ was imported')\n")
    (tmp_path / "features.py").write_text("raise ImportError('the user file features.py was imported')\n")
    (tmp_path / "detector.py").write_text("raise ImportError('the user file detector.py was imported')\n")
    script = (
        "import egid, egid.models, egid.features\n"
        "from egid.models import fit_tree_model\n"
        "from egid.features import build_table\n"
        "import numpy as np\n"
        "print(build_table(np.zeros((1, 32, 32, 2), np.float32)).shape[1], egid.load.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(egid.features.FEATURE_NAMES)), "egid"]


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_package_egid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*command, str(root)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("egid-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("egid-")} == {"egid"}
    for part in ("detector", "simulation", "features", "models", "deploy", "evaluation", "pipelines"):
        assert f"egid/{part}/__init__.py" in names
    assert "egid/pipelines/commands/run_all.py" in names and "egid/py.typed" in names
    # The pretrained CNN weights travel with the package: nothing is downloaded at run time.
    shipped = {
        f"egid/models/pretrained/{stem}{suffix}"
        for stem in ("egid_cnn_simulation", "egid_cnn_simulation_three_class")
        for suffix in (".pt", ".json")
    }
    assert shipped <= set(names)
