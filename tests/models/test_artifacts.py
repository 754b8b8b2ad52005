"""A model directory's files may match their manifest digests and still be garbage, or the manifest may point
outside the directory: each case is one InputError line naming the file, whatever library parses it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from egid.detector import InputError
from egid.models.export import load_tree_model
from egid.models.importance import read_importances
from egid.models.manifest import MANIFEST_NAME, read_manifest


@pytest.fixture
def model_dir(tree_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tree_model_dir, tmp_path / "models"))


def replace_with_matching_digest(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` and put its SHA-256 in the manifest, as a rewritten manifest would."""
    path.write_bytes(content)
    manifest = path.parent / MANIFEST_NAME
    document = json.loads(manifest.read_text())
    document["artifacts"][path.name] = hashlib.sha256(content).hexdigest()
    manifest.write_text(json.dumps(document))


def damaged(original: bytes, how: str) -> bytes:
    middle = len(original) // 2
    return {
        "garbage": b"\x00\x01\xffnot a model\x00" * 20,
        "empty": b"",
        "truncated": original[:middle],
        "binary middle": original[:middle] + b"\xff\x00" * 20 + original[middle + 40 :],
        "text middle": original[:middle] + b"zq" * 20 + original[middle + 40 :],
        "wrong arrays": original[:middle] + b"\nleaf_value=a b\n" + b"x" * 24 + original[middle + 40 :],
    }[how]


LOADERS = {
    "lightgbm.txt": lambda d: load_tree_model(d, "lightgbm"),
    "xgboost.json": lambda d: load_tree_model(d, "xgboost"),
    "lightgbm_params.json": lambda d: load_tree_model(d, "lightgbm"),
    "lightgbm_history.csv": lambda d: load_tree_model(d, "lightgbm"),
    "xgboost_history.csv": lambda d: load_tree_model(d, "xgboost"),
    "lightgbm_importance.csv": lambda d: read_importances(d, "lightgbm"),
    "xgboost_importance.csv": lambda d: read_importances(d, "xgboost"),
}


@pytest.mark.parametrize("how", ["garbage", "empty", "truncated", "binary middle", "text middle", "wrong arrays"])
@pytest.mark.parametrize("name", list(LOADERS))
def test_a_damaged_artifact_with_a_matching_digest_is_one_line_naming_it(model_dir: Path, name: str, how: str) -> None:
    path = model_dir / name
    content = damaged(path.read_bytes(), how)
    replace_with_matching_digest(path, content)
    try:
        LOADERS[name](model_dir)
    except InputError as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:  # a damage the format cannot see (say, a cut CSV that is still a shorter valid table) loads consistently
        assert how in ("truncated", "text middle", "binary middle", "wrong arrays") and name.endswith(".csv")


@pytest.mark.parametrize("how", ["garbage", "truncated", "text middle", "wrong arrays"])
def test_the_command_line_prints_only_egids_line_for_a_damaged_lightgbm_model(
    model_dir: Path, tmp_path: Path, how: str
) -> None:
    """LightGBM prints '[LightGBM] [Fatal] ...' itself, and a damaged tree aborts its parallel parser: neither
    may reach the user; the process exits 2 with one line."""
    path = model_dir / "lightgbm.txt"
    replace_with_matching_digest(path, damaged(path.read_bytes(), how))
    code = "from egid.models.export import load_tree_model; import sys; load_tree_model(sys.argv[1], 'lightgbm')"
    wrapper = (
        "import sys; from egid.detector import InputError\n"
        f"try:\n    exec({code!r})\nexcept InputError as err:\n    print(err, file=sys.stderr); sys.exit(2)\n"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, str(model_dir)], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr
    assert "[LightGBM]" not in result.stderr


@pytest.mark.parametrize("entry", ["/etc/passwd", "../outside.txt", "sub/../../outside.txt", "link_out"], ids=str)
def test_manifest_entries_outside_the_model_directory_are_refused_before_opening(
    model_dir: Path, tmp_path: Path, entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    (model_dir / "link_out").symlink_to(tmp_path / "outside.txt")
    manifest = model_dir / MANIFEST_NAME
    document = json.loads(manifest.read_text())
    document["artifacts"][entry] = "0" * 64
    manifest.write_text(json.dumps(document))
    opened = []
    monkeypatch.setattr("egid.models.manifest.file_digest", lambda path: opened.append(path) or "0" * 64)
    with pytest.raises(InputError, match="lies outside the model directory") as raised:
        read_manifest(model_dir, feature_names=None, feature_set_version=None)
    assert "\n" not in str(raised.value)
    assert not any("outside" in str(path) or str(path) == "/etc/passwd" for path in opened)
