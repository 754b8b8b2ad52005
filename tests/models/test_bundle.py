"""The saved models of a run: finding its model sets (and the one-line errors when there are none), saving them and
loading them back to score crops as the trees they hold."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import InputError, stratified_split
from egid.features import FEATURE_NAMES, build_table
from egid.features.extract import LABEL_COLUMN
from egid.models.bundle import WORKING_POINTS_FILE, ModelBundle, model_dir_of, model_sets, save_model_sets
from egid.models.catalogue import FEATURES_ONLY, STACKED, TRIGGER, FittedModels
from egid.models.importance import shap_values
from egid.models.manifest import MANIFEST_NAME
from egid.models.trees import TREE_KINDS, fit_tree_model

G4_SLICE = Path(__file__).resolve().parents[1] / "data" / "g4_slice.hdf5"


def _run_dir(root: Path, *sets: str, flat: bool = False) -> Path:
    """A run directory whose ``models/`` holds a folder with a manifest per set (contents are not read here)."""
    models = root / "models"
    models.mkdir(parents=True)
    (models / "notes").mkdir()  # a folder without a manifest is no model set
    for name in sets:
        (models / name).mkdir()
        (models / name / MANIFEST_NAME).write_text("{}")
    if flat:
        (models / MANIFEST_NAME).write_text("{}")
    return root


def test_the_model_sets_of_a_run_are_found_from_the_run_its_models_folder_or_one_set(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "run", STACKED, FEATURES_ONLY, TRIGGER)
    expected = [run / "models" / name for name in (FEATURES_ONLY, STACKED, TRIGGER)]  # sorted by name
    assert model_sets(run) == expected
    assert model_sets(str(run / "models")) == expected
    assert model_sets(run / "models" / TRIGGER) == [run / "models" / TRIGGER]


def test_a_flat_models_folder_with_its_own_manifest_is_one_set(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "run", FEATURES_ONLY, flat=True)
    assert model_sets(run) == [run / "models"]
    assert model_sets(run / "models") == [run / "models"]


def test_model_sets_errors_name_the_path_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"^{tmp_path / 'nowhere'}: no such model directory$"):
        model_sets(tmp_path / "nowhere")
    (tmp_path / "model.txt").write_text("a file")
    with pytest.raises(
        InputError, match=r"model\.txt: is not a directory, expected a run directory or its models/ folder$"
    ):
        model_sets(tmp_path / "model.txt")
    empty = _run_dir(tmp_path / "empty")
    for path in (empty, empty / "models"):
        with pytest.raises(
            InputError,
            match=rf"^{path}: no manifest\.json here, in models/ or in their subfolders; not an egid run directory$",
        ):
            model_sets(path)


def test_model_dir_of_is_the_models_folder_of_a_run_or_of_one_of_its_sets(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "run", STACKED, TRIGGER)
    assert model_dir_of(run) == run / "models"
    assert model_dir_of(run / "models") == run / "models"
    assert model_dir_of(run / "models" / STACKED) == run / "models"


@pytest.mark.parametrize("flat", [False, True], ids=["trigger only", "flat"])
def test_model_dir_of_needs_a_features_only_or_stacked_set(tmp_path: Path, flat: bool) -> None:
    run = _run_dir(tmp_path / "run", *([] if flat else [TRIGGER]), flat=flat)
    with pytest.raises(
        InputError,
        match=rf"^{run}: no features_only/ or stacked/ model set with a manifest\.json, not an egid run directory$",
    ):
        model_dir_of(run)


@pytest.fixture(scope="module")
def g4_crops() -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(G4_SLICE) as f:
        return f["X"][:], f["y"][:]


@pytest.fixture(scope="module")
def saved_run(g4_crops: tuple[np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with a features-only model set of two tiny boosters (5 rounds) on the Geant4 slice."""
    images, labels = g4_crops
    table = build_table(images).assign(**{LABEL_COLUMN: labels})
    split = stratified_split(labels, seed=0)
    features = table[list(FEATURE_NAMES)]
    trees = {
        kind: fit_tree_model(
            kind,
            features.iloc[split.train],
            labels[split.train],
            features.iloc[split.validation],
            labels[split.validation],
            max_rounds=5,
            early_stopping_rounds=None,
        )
        for kind in TREE_KINDS
    }
    shap = {kind: shap_values(model, features.iloc[split.test]) for kind, model in trees.items()}
    run = tmp_path_factory.mktemp("run")
    written = save_model_sets(
        FittedModels(trees=trees),
        table,
        split,
        run / "models",
        thresholds={"lightgbm": {0.9: 0.25, 0.8: 0.5}},
        seed=0,
        shap=shap,
    )
    assert written == [run / "models" / FEATURES_ONLY]
    return run


def test_only_the_sets_of_the_fitted_models_are_written(saved_run: Path) -> None:
    folder = saved_run / "models" / FEATURES_ONLY
    assert model_sets(saved_run) == [folder]
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["extra"]["models"] == ["lightgbm", "xgboost"]
    assert {"lightgbm.txt", "xgboost.json", WORKING_POINTS_FILE} <= set(manifest["artifacts"])
    assert json.loads((folder / WORKING_POINTS_FILE).read_text()) == {
        "lightgbm": {"0.9": 0.25, "0.8": 0.5},
        "xgboost": {},
    }


def test_the_loaded_bundle_scores_crops_as_its_trees_score_their_features(
    saved_run: Path, g4_crops: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = g4_crops
    bundle = ModelBundle.load(saved_run)
    assert bundle.names == ["lightgbm", "xgboost"] and bundle.cnn is None
    assert bundle.thresholds == {"lightgbm": {0.9: 0.25, 0.8: 0.5}, "xgboost": {}}
    scores = bundle.predict(images)
    assert scores.index.name == "index" and scores.columns.tolist() == ["lightgbm", "xgboost"]
    features = build_table(images)
    for name, model in bundle.trees.items():
        np.testing.assert_array_equal(scores[name], model.predict(features))
    assert ((scores > 0) & (scores < 1)).all().all()


def test_the_bundle_refuses_crops_it_cannot_score(saved_run: Path, g4_crops: tuple[np.ndarray, np.ndarray]) -> None:
    bundle = ModelBundle.load(saved_run / "models")
    images = g4_crops[0][:3].copy()
    images[2, 16, 16, 0] = np.nan
    with pytest.raises(InputError, match=r"^images: 1 images contain NaN or inf values \(first at index 2\)$"):
        bundle.predict(images)
    with pytest.raises(InputError, match=r"^images: holds no crops, expected an array of shape \(N, 32, 32, 2\)"):
        bundle.predict(np.zeros((0, 32, 32, 2), dtype=np.float32))


def test_changed_working_points_are_refused_by_the_manifest_digest(saved_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(saved_run, tmp_path / "run"))
    path = run / "models" / FEATURES_ONLY / WORKING_POINTS_FILE
    path.write_text('{"lightgbm": {"0.9": 0.0}, "xgboost": {}}')
    with pytest.raises(InputError, match=rf"^{path}: SHA-256 differs from .*manifest\.json; the file is corrupted"):
        ModelBundle.load(run)


def test_unreadable_working_points_are_one_line_naming_the_file(saved_run: Path, tmp_path: Path) -> None:
    """Even with a manifest rewritten to match (the digest cannot tell), the thresholds must be numbers."""
    run = Path(shutil.copytree(saved_run, tmp_path / "run"))
    path = run / "models" / FEATURES_ONLY / WORKING_POINTS_FILE
    content = b'{"lightgbm": {"0.9": "high"}}'
    path.write_bytes(content)
    manifest_path = path.parent / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["artifacts"][WORKING_POINTS_FILE] = hashlib.sha256(content).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=rf"^{path}: unreadable working points \(could not convert string"):
        ModelBundle.load(run)


def test_a_models_folder_without_features_only_or_stacked_models_is_refused(saved_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(saved_run, tmp_path / "run"))
    (run / "models" / FEATURES_ONLY).rename(run / "models" / "old")
    with pytest.raises(InputError, match="no features_only/ or stacked/ model set"):
        ModelBundle.load(run)
