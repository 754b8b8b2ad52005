"""The manifest: hashes every artifact (the CNN's too), and refuses a directory that no longer matches."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from egid.detector import InputError
from egid.models.export import load_tree_model, native_path
from egid.models.manifest import MANIFEST_NAME, read_manifest, write_manifest
from tests.tree_fixtures import TREE_FEATURE_NAMES, TREE_FEATURE_SET_VERSION, TREE_SEED


@pytest.fixture
def model_dir(tree_model_dir, tmp_path):
    """A private copy of the exported model directory, free to break."""
    return shutil.copytree(tree_model_dir, tmp_path / "models")


def rewrite_manifest(model_dir):
    write_manifest(
        model_dir, feature_names=TREE_FEATURE_NAMES, feature_set_version=TREE_FEATURE_SET_VERSION, seed=TREE_SEED
    )


def test_every_file_is_hashed_including_other_models_artifacts(model_dir):
    (model_dir / "cnn").mkdir()
    (model_dir / "cnn" / "fold0.pt").write_bytes(b"\x00weights")
    (model_dir / ".fold1.pt.123.tmp").write_bytes(b"an atomic write in progress")
    manifest = write_manifest(
        model_dir,
        feature_names=TREE_FEATURE_NAMES,
        feature_set_version="v2",
        seed=1,
        extra={"cnn_transform": "transform.json"},
    )
    files = sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    )
    assert sorted(manifest.artifacts) == files and "cnn/fold0.pt" in files
    assert manifest.artifacts["cnn/fold0.pt"] == hashlib.sha256(b"\x00weights").hexdigest()
    assert {"lightgbm", "xgboost", "onnxruntime", "python"} <= set(manifest.libraries)
    assert read_manifest(model_dir, feature_names=TREE_FEATURE_NAMES, feature_set_version="v2") == manifest
    assert json.loads((model_dir / MANIFEST_NAME).read_text())["extra"] == {"cnn_transform": "transform.json"}


def corrupt_booster(model_dir):
    path = native_path(model_dir, "lightgbm")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


CASES = {
    "missing manifest": (lambda d: (d / MANIFEST_NAME).unlink(), {}, r"manifest.json: no model manifest"),
    "missing artifact": (
        lambda d: (d / "xgboost.onnx").unlink(),
        {},
        r"xgboost.onnx: artifact listed in .* is missing",
    ),
    "corrupted booster": (corrupt_booster, {}, r"lightgbm.txt: SHA-256 differs from .*manifest.json"),
    "feature-set version": (
        lambda d: None,
        {"feature_set_version": "test-2"},
        r"manifest.json: models were trained on feature set version 'test-1'.*'test-2'",
    ),
    "feature order": (
        lambda d: None,
        {"feature_names": TREE_FEATURE_NAMES[::-1]},
        r"feature names differ: feature 0 is 'r9' for the models but 'cnn_score' in the table",
    ),
    "feature count": (
        lambda d: None,
        {"feature_names": TREE_FEATURE_NAMES[:-1]},
        r"the models read 8 features, the feature table has 7",
    ),
    "not json": (lambda d: (d / MANIFEST_NAME).write_text("{"), {}, r"manifest.json: unreadable manifest"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mismatched_model_directory_is_refused_with_one_line(case, model_dir):
    damage, override, message = CASES[case]
    damage(model_dir)
    expected = {"feature_names": TREE_FEATURE_NAMES, "feature_set_version": TREE_FEATURE_SET_VERSION} | override
    with pytest.raises(InputError, match=message) as raised:
        read_manifest(model_dir, **expected)
    assert "\n" not in str(raised.value) and str(model_dir) in str(raised.value)
    with pytest.raises(InputError, match=message):
        load_tree_model(model_dir, "lightgbm", **expected)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_an_unreadable_booster_is_an_input_error_even_with_a_matching_hash(kind, model_dir):
    native_path(model_dir, kind).write_text("tree\nnot a model\n")
    rewrite_manifest(model_dir)
    with pytest.raises(InputError, match=rf"(?i){native_path(model_dir, kind).name}: unreadable {kind} booster"):
        load_tree_model(model_dir, kind)


def test_a_directory_without_that_model_says_so(model_dir):
    for name in ("xgboost.json", "xgboost.onnx", "xgboost_params.json", "xgboost_history.csv"):
        (model_dir / name).unlink()
    rewrite_manifest(model_dir)
    load_tree_model(model_dir, "lightgbm")
    with pytest.raises(InputError, match="no xgboost model in this directory"):
        load_tree_model(model_dir, "xgboost")
