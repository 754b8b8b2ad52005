"""Every kind of bad input through the command line: one line naming the file and the problem, exit status 2,
no traceback, and no partial output left behind. One test per case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from egid.pipelines.run import main
from tests.conftest import toy_crops, write_crops, write_datasets


def _fails_cleanly(argv: list[str], capsys: pytest.CaptureFixture[str], *, names: Path, says: str) -> None:
    """Run the CLI and check the one-line error, its exit status 2 and that no output file appeared."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"egid: error: {names}"), err
    assert says in err, err


@pytest.fixture
def photons(tmp_path: Path) -> Path:
    return write_crops(tmp_path / "photon.hdf5", 40, label=0.0, seed=2)


def _features(electrons: Path, photons: Path, out: Path) -> list[str]:
    return ["features", "--electrons", str(electrons), "--photons", str(photons), "--output", str(out)]


GOOD = toy_crops(6, label=1.0, seed=0)
ONES = np.ones(6, np.float32)


def _with(x: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    x = x.copy()
    x[index] = value
    return x


DATA_CASES = {
    "missing X": ({"y": ONES}, "missing dataset 'X'"),
    "missing y": ({"X": GOOD}, "missing dataset 'y'"),
    "wrong rank": ({"X": GOOD[..., 0], "y": ONES}, "'X' has shape (6, 32, 32), expected (N, 32, 32, 2)"),
    "wrong image size": ({"X": GOOD[:, :, :28], "y": ONES}, "'X' has shape (6, 32, 28, 2)"),
    "one channel": ({"X": GOOD[..., :1], "y": ONES}, "'X' has shape (6, 32, 32, 1)"),
    "labels other than 0/1": ({"X": GOOD, "y": np.array([1, 1, 1, -1, 1, 1], np.float32)}, "labels other than 0 and 1"),
    "photon labels in the electron file": ({"X": GOOD, "y": np.zeros(6, np.float32)}, "expected an electron file"),
    "NaN pixel": ({"X": _with(GOOD, (4, 3, 3, 1), np.nan), "y": ONES}, "contain NaN or inf values (first at index 4)"),
    "inf pixel": (
        {"X": _with(GOOD, (1, 16, 16, 0), np.inf), "y": ONES},
        "contain NaN or inf values (first at index 1)",
    ),
    "negative energy": ({"X": _with(GOOD, (2, 16, 15, 0), -0.5), "y": ONES}, "negative crystal energies"),
    "empty file": ({"X": np.zeros((0, 32, 32, 2), np.float32), "y": np.zeros(0, np.float32)}, "holds no events"),
    "X/y length mismatch": ({"X": GOOD, "y": ONES[:5]}, "different lengths (6 and 5)"),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_file(case: str, tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    datasets, says = DATA_CASES[case]
    bad = write_datasets(tmp_path / "electron.hdf5", **datasets)
    out = tmp_path / "out" / "table.parquet"
    _fails_cleanly(_features(bad, photons, out), capsys, names=bad, says=says)
    assert not out.exists() and not list(tmp_path.rglob(".*.tmp"))


def test_nonexistent_path(tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.hdf5"
    _fails_cleanly(_features(missing, photons, tmp_path / "t.parquet"), capsys, names=missing, says="no such file")


def test_directory_instead_of_a_file(tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    _fails_cleanly(_features(folder, photons, tmp_path / "t.parquet"), capsys, names=folder, says="is a directory")


def test_not_hdf5(tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "electron.hdf5"
    text.write_text("E,eta\n1,2\n")
    _fails_cleanly(_features(text, photons, tmp_path / "t.parquet"), capsys, names=text, says="not an HDF5 file")


def test_truncated_hdf5(tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_crops(tmp_path / "electron.hdf5", 300, label=1.0, seed=4)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    out = tmp_path / "t.parquet"
    _fails_cleanly(_features(path, photons, out), capsys, names=path, says="truncated or corrupted")
    assert not out.exists()


@pytest.mark.parametrize(("content", "says"), [(None, "no such file"), (b"garbage", "unreadable pretrained CNN")])
def test_unreadable_cnn_weights(
    content: bytes | None, says: str, tmp_path: Path, photons: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "weights.pt"
    if content is not None:
        weights.write_bytes(content)
    electrons = write_crops(tmp_path / "electron.hdf5", 40, label=1.0, seed=1)
    out = tmp_path / "run"
    argv = ["run", "--electrons", str(electrons), "--photons", str(photons), "--cnn-init", str(weights)]
    _fails_cleanly([*argv, "--out-dir", str(out)], capsys, names=weights, says=says)
    assert not out.exists()


# --- model directories --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_models")
    electrons = write_crops(root / "e.hdf5", 150, label=1.0, seed=1)
    photons = write_crops(root / "p.hdf5", 150, label=0.0, seed=2)
    out = root / "run"
    argv = [
        "run",
        "--electrons",
        str(electrons),
        "--photons",
        str(photons),
        "--no-cnn",
        "--trials",
        "1",
        "--out-dir",
        str(out),
        "--cache-dir",
        str(root / "cache"),
    ]
    assert main(argv) == 0
    return out


def _evaluate(run: Path, tmp_path: Path) -> list[str]:
    electrons = write_crops(tmp_path / "e.hdf5", 30, label=1.0, seed=7)
    photons = write_crops(tmp_path / "p.hdf5", 30, label=0.0, seed=8)
    out = tmp_path / "evaluation"
    return [
        "evaluate",
        "--run-dir",
        str(run),
        "--electrons",
        str(electrons),
        "--photons",
        str(photons),
        "--out-dir",
        str(out),
    ]


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def test_model_dir_with_a_missing_artifact(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(trained_run, tmp_path)
    booster = run / "models" / "features_only" / "xgboost.json"
    booster.unlink()
    _fails_cleanly(_evaluate(run, tmp_path), capsys, names=booster, says="is missing")
    assert not (tmp_path / "evaluation").exists()


def test_model_dir_from_another_feature_set_version(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(trained_run, tmp_path)
    manifest = run / "models" / "features_only" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["feature_set_version"] = "0"
    manifest.write_text(json.dumps(document))
    _fails_cleanly(_evaluate(run, tmp_path), capsys, names=manifest, says="trained on feature set version '0'")


def test_corrupted_booster_file(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(trained_run, tmp_path)
    booster = run / "models" / "features_only" / "lightgbm.txt"
    booster.write_text(booster.read_text()[:500])
    _fails_cleanly(_evaluate(run, tmp_path), capsys, names=booster, says="corrupted")


def test_not_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_cleanly(_evaluate(tmp_path, tmp_path), capsys, names=tmp_path, says="not an egid run directory")


# --- configuration --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("trials: 3\nlearning_rate: 0.1\n", "unknown key 'learning_rate'"),
        ("cnn_folds: three\n", "key 'cnn_folds' must be int"),
    ],
    ids=["unknown key", "wrong type"],
)
def test_config_with_a_bad_key(content: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(content)
    out = tmp_path / "run"
    _fails_cleanly(["run", "--config", str(config), "--out-dir", str(out)], capsys, names=config, says=says)
    assert not out.exists()


def test_a_binary_run_evaluated_on_pions(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _evaluate(trained_run, tmp_path)
    pions = write_crops(tmp_path / "pi.hdf5", 30, label=2.0, seed=9)
    electrons = Path(argv[argv.index("--electrons") + 1])
    _fails_cleanly(
        [*argv, "--pions", str(pions)], capsys, names=electrons, says=f"but {trained_run} is an electron/photon run"
    )
    assert not (tmp_path / "evaluation").exists()
