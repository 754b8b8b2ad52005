"""End to end on a small simulated sample: the run directory, evaluate on an unseen sample, predict, config.

One module-scoped run (two tuning trials, a two-fold one-epoch CNN) feeds every test here.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import egid
from egid.detector import InputError, load_dataset
from egid.evaluation.metrics import validate_metrics
from egid.models.bundle import ModelBundle
from egid.models.trigger import TRIGGER_LIMITS
from egid.pipelines.config import load_config
from egid.pipelines.run import main
from egid.simulation import write_sample
from tests.runs import egid_run

pytestmark = pytest.mark.slow

MODELS = ["lightgbm", "xgboost", "trigger", "cnn", "lightgbm+cnn", "xgboost+cnn"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    electrons, photons = write_sample(root / "train_sample", 700, seed=11)
    options = ["--simulated", "--trials", "2", "--cnn-folds", "2", "--cnn-epochs", "1", "--seed", "5"]
    return egid_run(electrons, photons, root / "run", *options, "--data-label", "egid simulation")


@pytest.fixture(scope="module")
def unseen_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_sample(tmp_path_factory.mktemp("unseen"), 700, seed=12)


def test_run_directory_is_complete(run_dir: Path) -> None:
    expected = [
        "config.yaml",
        "metrics.json",
        "report.html",
        "report.md",
        "scores.parquet",
        "timings.json",
        "plots/roc.png",
        "plots/roc.pdf",
        "plots/background_rejection.png",
        "plots/scores_lightgbm.png",
        "plots/training_lightgbm.png",
        "plots/training_cnn.png",
        "plots/top_features.png",
        "plots/importance_xgboost.png",
        "plots/shap_lightgbm_plus_cnn.png",
        "models/features_only/manifest.json",
        "models/features_only/lightgbm.txt",
        "models/features_only/xgboost.json",
        "models/features_only/lightgbm.onnx",
        "models/trigger/manifest.json",
        "models/trigger/xgboost.json",
        "models/trigger/xgboost.onnx",
        "models/trigger/working_points.json",
        "models/stacked/manifest.json",
        "models/stacked/cnn_fold0.pt",
        "models/stacked/cnn_fold1.onnx",
        "models/stacked/cnn_transform.json",
        "tuning/features_only/lightgbm_trials.csv",
        "tuning/trigger/xgboost_trials.csv",
        "tuning/stacked/xgboost_best_params.json",
        "plots/scores_trigger.png",
    ]
    missing = [name for name in expected if not (run_dir / name).is_file()]
    assert missing == []
    assert list(run_dir.glob("plots/confusion_*.png"))
    assert not list(run_dir.rglob(".*.tmp")), "no temporary file may be left behind"


def test_metrics_follow_the_schema_and_name_every_model(run_dir: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    validate_metrics(metrics)
    assert list(metrics["results"]) == MODELS
    test = metrics["results"]["lightgbm"]["splits"]["test"]
    assert 0.6 < test["auc"] <= 1.0 and test["auc_ci"][0] < test["auc"] < test["auc_ci"][1]
    assert metrics["results"]["lightgbm"]["eta_bins"]


def test_metrics_state_the_trigger_cost_against_the_best_features_only_booster(run_dir: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (cost,) = metrics["costs"]
    test = {model: metrics["results"][model]["splits"]["test"]["auc"] for model in ("lightgbm", "xgboost", "trigger")}
    assert cost["model"] == "trigger" and cost["candidates"] == ["lightgbm", "xgboost"]
    assert cost["reference"] == max(("lightgbm", "xgboost"), key=test.__getitem__)
    assert cost["auc_cost"] == pytest.approx(test[cost["reference"]] - test["trigger"], abs=1e-12)
    assert "## AUC cost of the constrained models" in (run_dir / "report.md").read_text()
    assert json.loads((run_dir / "timings.json").read_text())["seconds"]["tune trigger"] > 0
    trigger = ModelBundle.load(run_dir).trees["trigger"]
    assert trigger.feature_names == TRIGGER_LIMITS.features
    assert trigger.best_iteration <= TRIGGER_LIMITS.max_trees and trigger.params.max_depth <= TRIGGER_LIMITS.max_depth


def test_report_is_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html
    assert all(model in (run_dir / "report.md").read_text() for model in MODELS)


def test_config_round_trips(run_dir: Path) -> None:
    config = load_config(run_dir / "config.yaml", {})
    assert (config.trials, config.seed, config.cnn_folds, config.simulated) == (2, 5, 2, True)
    assert config.data_label == "egid simulation" and Path(config.electrons).name == "electron.hdf5"


def test_evaluate_on_an_unseen_sample_agrees_with_the_run(
    run_dir: Path, unseen_sample: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "evaluation"
    status = main(
        [
            "evaluate",
            "--run-dir",
            str(run_dir),
            "--electrons",
            str(unseen_sample[0]),
            "--photons",
            str(unseen_sample[1]),
            "--simulated",
            "--out-dir",
            str(out),
        ]
    )
    assert status == 0
    seen = json.loads((run_dir / "metrics.json").read_text())["results"]
    unseen = json.loads((out / "metrics.json").read_text())["results"]
    assert (out / "plots" / "roc.png").is_file() and (out / "report.html").is_file()
    for model in ("lightgbm", "lightgbm+cnn"):
        a, b = seen[model]["splits"]["test"], unseen[model]["splits"]["test"]
        assert b["n_events"] == 1400
        tolerance = 3 * np.hypot(a["auc_std"], b["auc_std"])
        assert abs(a["auc"] - b["auc"]) < tolerance, (model, a["auc"], b["auc"], tolerance)
        point = unseen[model]["working_points"][0]
        assert point["threshold_source"] == "given"
    assert json.loads((out / "metrics.json").read_text())["costs"][0]["model"] == "trigger"


def test_the_trigger_model_set_exports_to_firmware_and_c(
    run_dir: Path, unseen_sample: tuple[Path, Path], tmp_path: Path
) -> None:
    table = tmp_path / "unseen.parquet"
    electrons, photons = (str(path) for path in unseen_sample)
    assert main(["features", "--electrons", electrons, "--photons", photons, "--output", str(table)]) == 0
    export = ["deploy", "--run-dir", str(run_dir), "--model-set", "trigger", "--table", str(table)]
    assert main([*export, "--target", "conifer", "--widths", "18", "--out-dir", str(tmp_path / "fw")]) == 0
    (firmware,) = json.loads((tmp_path / "fw" / "report.json").read_text())["exports"]
    trigger = ModelBundle.load(run_dir).trees["trigger"]
    assert firmware["model"] == "xgboost" and firmware["n_trees"] == trigger.best_iteration
    assert firmware["max_depth"] <= TRIGGER_LIMITS.max_depth
    double, fixed = firmware["scan"]  # 18 bits is also the HLS project's width, so it is scanned once
    assert double["max_abs_probability_difference"] < 1e-6 and fixed["width"] == 18
    assert (tmp_path / "fw" / "xgboost" / "hls" / "firmware" / "parameters.h").is_file()
    assert main([*export, "--target", "c", "--out-dir", str(tmp_path / "c")]) == 0
    (compiled,) = json.loads((tmp_path / "c" / "report.json").read_text())["exports"]
    assert compiled["max_abs_probability_difference"] < 1e-6


def test_predict_keeps_input_order(run_dir: Path, unseen_sample: tuple[Path, Path], tmp_path: Path) -> None:
    images = load_dataset(data=unseen_sample[1]).read_images()[:300]
    order = np.random.default_rng(0).permutation(len(images))
    files = {}
    for name, x in (("ordered", images), ("shuffled", images[order])):
        files[name] = tmp_path / f"{name}.hdf5"
        with h5py.File(files[name], "w") as f:  # unlabelled: X only
            f.create_dataset("X", data=x, compression="lzf")
    for name in files:
        assert (
            main(
                [
                    "predict",
                    "--run-dir",
                    str(run_dir),
                    "--data",
                    str(files[name]),
                    "--output",
                    str(tmp_path / f"{name}.parquet"),
                ]
            )
            == 0
        )
    ordered = pd.read_parquet(tmp_path / "ordered.parquet")
    shuffled = pd.read_parquet(tmp_path / "shuffled.parquet")
    assert list(ordered.columns) == MODELS and len(ordered) == 300
    np.testing.assert_allclose(shuffled.to_numpy(), ordered.to_numpy()[order], rtol=1e-6)
    run = egid.load(run_dir)
    pd.testing.assert_frame_equal(run.predict(images), ordered, check_exact=True)
    pd.testing.assert_frame_equal(run.predict(files["shuffled"]), shuffled, check_exact=True)


def test_library_predict_refuses_what_is_not_a_batch_of_crops(run_dir: Path) -> None:
    run = egid.load(run_dir)
    with pytest.raises(InputError, match=r"images: expected shape \(N, 32, 32, 2\), got \(5, 32, 32\)"):
        run.predict(np.zeros((5, 32, 32), np.float32))
    with pytest.raises(InputError, match="images: holds no crops"):
        run.predict(np.zeros((0, 32, 32, 2), np.float32))
    bad = np.zeros((3, 32, 32, 2), np.float32)
    bad[2, 16, 16, 0] = np.nan
    with pytest.raises(InputError, match=r"images: 1 images contain NaN or inf values \(first at index 2\)"):
        run.predict(bad)


def test_saved_models_reproduce_the_run_scores(run_dir: Path) -> None:
    config = load_config(run_dir / "config.yaml", {})
    dataset = load_dataset(electrons=config.electrons, photons=config.photons)
    _, rescored = ModelBundle.load(run_dir).score(dataset, progress=False)
    stored = pd.read_parquet(run_dir / "scores.parquet")
    outside_train = (stored["split"] != "train").to_numpy()
    for model in MODELS:
        np.testing.assert_allclose(rescored[model][outside_train], stored[model][outside_train], rtol=1e-5)


def test_predict_rejects_an_unknown_output_format(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["predict", "--run-dir", str(run_dir), "--data", "x.hdf5", "--output", str(tmp_path / "s.xlsx")])
    assert status == 2
    assert "unknown output format '.xlsx'" in capsys.readouterr().err
