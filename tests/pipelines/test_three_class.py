"""``egid run/predict/evaluate/deploy`` with pions: the three-class job end to end, and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import egid
from egid.models.export import load_tree_model
from egid.pipelines.config import THREE_CLASS_TUNING_ROWS
from egid.pipelines.run import main
from tests.conftest import write_crops
from tests.three_class_fixtures import pion_crops, write_pions, write_three_class_file

CLASSES = ("electron", "photon", "pion")
MODELS = ("lightgbm", "xgboost", "cnn", "lightgbm+cnn", "xgboost+cnn")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("three_class")
    return {
        "e": write_crops(root / "e.hdf5", 90, label=1.0, seed=1),
        "g": write_crops(root / "g.hdf5", 90, label=0.0, seed=2),
        "pi": write_pions(root / "pi.hdf5", 60),
        "all": write_three_class_file(root / "all.hdf5", 40, seed=7),
        "root": root,
    }


@pytest.fixture(scope="module")
def run_dir(files: dict[str, Path]) -> Path:
    out = files["root"] / "run"
    argv = ["run", "--electrons", str(files["e"]), "--photons", str(files["g"]), "--pions", str(files["pi"])]
    argv += ["--trials", "1", "--threads", "1", "--out-dir", str(out), "--cache-dir", str(files["root"] / "cache")]
    assert (
        main([*argv, "--thresholds", "0", "10", "--cnn-folds", "2", "--cnn-epochs", "2", "--stacked-trials", "1"]) == 0
    )
    return out


def test_run_writes_three_class_metrics_study_and_models(run_dir: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "three_class" and list(metrics["models"]) == list(MODELS)
    for values in metrics["models"].values():
        assert set(values["efficiency"]) == set(CLASSES) and 0 <= values["balanced_accuracy"] <= 1
        assert set(values["pion_efficiency_at_egamma_efficiency"]) == {"0.95", "0.99"}
        assert sum(values["n_events"].values()) > 0
    study = pd.read_csv(run_dir / "threshold_study.csv")
    assert set(study["threshold_gev"]) == {0.0, 10.0} and set(study["mode"]) == {"one model", "retrained"}
    # every model is evaluated as one model; the best features-only and the best stacked tree are also retrained
    assert set(study.loc[study["mode"] == "one model", "model"]) == set(MODELS)
    retrained = study[study["mode"] == "retrained"]
    chosen = list(dict.fromkeys(retrained["model"]))
    assert len(chosen) == 2 and chosen[0] in MODELS[:2] and chosen[1] in MODELS[3:]
    # above 0 GeV no training event is cut: the retrained rows are the one model's; above 10 GeV fewer events train
    at_zero = study[study["threshold_gev"] == 0].set_index(["model", "mode"])
    for model in chosen:
        assert at_zero.loc[(model, "retrained"), "accuracy"] == at_zero.loc[(model, "one model"), "accuracy"]
    assert (retrained.set_index("threshold_gev")["n_train"].loc[10.0] < retrained["n_train"].max()).all()
    assert (run_dir / "threshold_study.png").is_file()
    report = (run_dir / "report.html").read_text()
    assert "published, different simulation" in report and all(name in report for name in MODELS)
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert list(scores.columns) == ["label", "split", *[f"{m}_{c}" for m in MODELS for c in CLASSES]]
    assert (run_dir / "models" / "three_class" / "xgboost_class_importance.csv").is_file()
    assert (run_dir / "models" / "three_class_stacked" / "cnn_fold1.pt").is_file()


def test_the_loaded_run_scores_held_out_events_as_the_run_did(run_dir: Path, files: dict[str, Path]) -> None:
    from egid.detector import load_dataset

    scores = pd.read_parquet(run_dir / "scores.parquet")
    dataset = load_dataset(electrons=[str(files["e"])], photons=[str(files["g"])], pions=[str(files["pi"])])
    _, frame = egid.load(run_dir).score(dataset)
    held_out = scores["split"].isin(["validation", "test"]).to_numpy()
    assert held_out.sum() > 0
    np.testing.assert_allclose(
        frame[held_out].to_numpy(), scores.loc[held_out, list(frame.columns)].to_numpy(), rtol=0, atol=1e-6
    )


def test_load_and_predict_give_one_column_per_class_and_model(
    run_dir: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    columns = [f"{model}_{name}" for model in MODELS for name in CLASSES]
    scores = egid.load(run_dir).predict(pion_crops(7, seed=42))
    assert list(scores.columns) == columns and len(scores) == 7
    for model in MODELS:
        np.testing.assert_allclose(scores[[f"{model}_{c}" for c in CLASSES]].sum(axis=1), 1.0, atol=1e-6)
    out = files["root"] / "pred.csv"
    assert main(["predict", "--run-dir", str(run_dir), "--data", str(files["pi"]), "--output", str(out)]) == 0
    written = pd.read_csv(out, index_col="index")
    assert list(written.columns) == columns and len(written) == 60
    from_library = egid.load(run_dir).predict(files["pi"])
    np.testing.assert_allclose(written.to_numpy(), from_library.to_numpy(), rtol=1e-12)


def test_evaluate_on_new_files_gives_the_same_metrics(run_dir: Path, files: dict[str, Path]) -> None:
    out = files["root"] / "evaluation"
    argv = ["evaluate", "--run-dir", str(run_dir), "--data", str(files["all"]), "--out-dir", str(out)]
    assert main(argv) == 0
    evaluated = json.loads((out / "metrics.json").read_text())
    trained = json.loads((run_dir / "metrics.json").read_text())
    assert evaluated["task"] == "three_class"
    for model, values in evaluated["models"].items():
        assert set(values) == set(trained["models"][model])
        assert values["n_events"] == {"electron": 40, "photon": 40, "pion": 40}
    assert (out / "threshold_study.png").is_file() and (out / "report.html").is_file()
    # the run's own thresholds (0 and 10 GeV), not the defaults
    assert set(pd.read_csv(out / "threshold_study.csv")["threshold_gev"]) == {0.0, 10.0}


def test_a_data_file_with_three_labels_runs_the_three_class_job_without_the_cnn(files: dict[str, Path]) -> None:
    out = files["root"] / "run_data"
    argv = ["run", "--data", str(files["all"]), "--trials", "1", "--threads", "1", "--out-dir", str(out), "--no-cnn"]
    assert main([*argv, "--cache-dir", str(files["root"] / "cache"), "--thresholds", "0"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "three_class" and list(metrics["models"]) == ["lightgbm", "xgboost"]
    assert not (out / "models" / "three_class_stacked").exists()
    assert egid.load(out).names == ["lightgbm", "xgboost"]


def test_importances_rank_each_class_and_refuse_shap(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["importances", "--run-dir", str(run_dir), "--model", "lightgbm", "--top", "1"]
    assert main([*argv, "--per-class"]) == 0
    out = capsys.readouterr().out
    per_class = load_tree_model(run_dir / "models" / "three_class", "lightgbm").class_importance()
    for name in CLASSES:
        top = per_class[name].idxmax()
        assert f"three_class/lightgbm, {name} trees: gain" in out
        assert f"   1  {top} " in out.split(f"three_class/lightgbm, {name} trees")[1].split("\n\n")[0]
    assert main([*argv, "--measure", "shap"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a three-class run, which stores no SHAP values" in err
    assert main([*argv, "--measure", "split", "--per-class"]) == 2
    assert "--per-class: ranks the gain of each class's trees" in capsys.readouterr().err


def test_a_threshold_above_every_event_stays_in_the_printed_study_as_n_a(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = files["root"] / "run_high_threshold"
    argv = ["run", "--data", str(files["all"]), "--trials", "1", "--threads", "1", "--out-dir", str(out), "--no-cnn"]
    assert main([*argv, "--cache-dir", str(files["root"] / "cache"), "--thresholds", "0", "1e6"]) == 0
    printed = capsys.readouterr().out.splitlines()
    table = printed[printed.index("three-class accuracy above each summed crop energy threshold (GeV):") + 1 :]
    (high,) = [line for line in table if line.startswith("1000000.0")]
    assert high.split()[1:] == ["n/a"] * 3  # both models evaluated, the best one retrained: nothing above 1e6 GeV
    study = pd.read_csv(out / "threshold_study.csv")
    assert study.loc[study["threshold_gev"] == 1e6, "n_test"].eq(0).all()


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str], pattern: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and pattern in err, err


def test_deploy_refuses_a_three_class_run(
    run_dir: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["deploy", "--run-dir", str(run_dir), "--out-dir", str(files["root"] / "dep")]
    _one_line_error(
        [*argv, "--target", "c", "--table", "x.parquet"],
        capsys,
        "a three-class (electron/photon/pion) run cannot be deployed",
    )


def test_bad_three_class_inputs_are_one_line(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    e, g, pi, out = str(files["e"]), str(files["g"]), str(files["pi"]), str(files["root"] / "never")
    _one_line_error(
        ["run", "--electrons", e, "--photons", g, "--pions", e, "--out-dir", out],
        capsys,
        "expected a pion file (y = 2) but 90 of 90 events carry electron labels",
    )
    _one_line_error(
        ["run", "--electrons", e, "--photons", g, "--with-pions", "--out-dir", out],
        capsys,
        "--with-pions: adds simulated pions to the embedded simulation only",
    )
    _one_line_error(
        ["run", "--electrons", e, "--photons", g, "--pions", pi, "--thresholds", "-5", "--out-dir", out],
        capsys,
        "--thresholds: expected distinct finite energies >= 0 GeV",
    )
    _one_line_error(
        ["run", "--electrons", e, "--photons", g, "--thresholds", "5", "--out-dir", out],
        capsys,
        "--thresholds: only for three-class runs",
    )
    assert not Path(out).exists()


def test_tune_workers_refuse_pions(files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["tune", "--electrons", str(files["e"]), "--photons", str(files["g"]), "--pions", str(files["pi"])]
    argv += ["--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--study-name", "s"]
    _one_line_error(argv, capsys, "--pions: only egid run trains the three-class models")


def test_a_config_file_names_the_pions_and_thresholds_and_a_resumed_run_adds_trials_but_keeps_its_pions(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import optuna

    out = files["root"] / "run_config"
    config = files["root"] / "three.yaml"
    config.write_text(
        f"electrons: {files['e']}\nphotons: {files['g']}\npions: {files['pi']}\nthresholds: [0, 15]\n"
        "trials: 1\nthreads: 1\ncnn: false\n"
    )
    base = ["run", "--config", str(config), "--out-dir", str(out), "--cache-dir", str(files["root"] / "cache")]
    assert main(base) == 0
    saved = (out / "config.yaml").read_text()
    assert "pions:" in saved and str(files["pi"]) in saved
    assert f"tuning_rows: {THREE_CLASS_TUNING_ROWS}" in saved  # the three-class default, recorded for resuming
    study = pd.read_csv(out / "threshold_study.csv")
    assert set(study["threshold_gev"]) == {0.0, 15.0}
    journal = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "tuning" / "optuna.journal"))
    )

    def finished() -> int:
        trials = optuna.load_study(study_name="egid-three-class-lightgbm", storage=journal).trials
        return sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)

    assert finished() == 1
    assert main(["run", "--resume", "--out-dir", str(out), "--trials", "3"]) == 0  # the saved settings, more trials
    assert finished() == 3
    assert f"tuning_rows: {THREE_CLASS_TUNING_ROWS}" in (out / "config.yaml").read_text()
    assert json.loads((out / "metrics.json").read_text())["task"] == "three_class"
    other = write_pions(files["root"] / "other_pi.hdf5", 30, seed=9)
    _one_line_error(
        ["run", "--resume", "--out-dir", str(out), "--pions", str(other)],
        capsys,
        "--pions: the run being resumed was made with pions = ",
    )


def test_bad_thresholds_in_a_config_file_are_one_line_naming_it(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = files["root"] / "bad.yaml"
    for value, problem in (("[10, 10]", "expected distinct finite energies"), ("[a]", "expected a list of energies")):
        config.write_text(f"pions: {files['pi']}\nthresholds: {value}\n")
        _one_line_error(["run", "--config", str(config)], capsys, f"{config}: key 'thresholds': {problem}")


def test_too_few_pions_are_refused_before_anything_is_written(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    few = write_pions(tmp_path / "few_pi.hdf5", 4)
    out = tmp_path / "never"
    argv = ["run", "--electrons", str(files["e"]), "--photons", str(files["g"]), "--pions", str(few)]
    _one_line_error([*argv, "--out-dir", str(out)], capsys, "pions and needs at least")
    _one_line_error(
        ["run", "--with-pions", "--events-per-class", "4", "--out-dir", str(out)],
        capsys,
        "--events-per-class: too few events, the train split holds 2 electrons and needs at least 3",
    )
    assert not out.exists()


def test_a_three_class_run_extracts_its_features_on_dask_workers_too(
    files: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    out = files["root"] / "run_dask"
    argv = ["run", "--electrons", str(files["e"]), "--photons", str(files["g"]), "--pions", str(files["pi"])]
    argv += ["--trials", "1", "--threads", "1", "--no-cnn", "--thresholds", "0"]
    dask = ["--workers", "1", "--out-dir", str(out), "--cache-dir", str(files["root"] / "dask_cache")]
    with caplog.at_level("INFO", logger="egid.features.distributed"):
        assert main([*argv, *dask]) == 0
    assert "features: 3 files on the Dask scheduler" in caplog.text
    assert json.loads((out / "metrics.json").read_text())["task"] == "three_class"
    local = files["root"] / "run_local"  # the same run with the features computed in this process
    assert main([*argv, "--out-dir", str(local), "--cache-dir", str(files["root"] / "local_cache")]) == 0
    on_dask, here = pd.read_parquet(out / "scores.parquet"), pd.read_parquet(local / "scores.parquet")
    assert len(on_dask) == 90 + 90 + 60
    pd.testing.assert_frame_equal(on_dask, here)


def test_every_folder_of_a_run_loads_the_whole_run(run_dir: Path) -> None:
    crops = pion_crops(5, seed=8)
    expected = egid.load(run_dir).predict(crops)
    for folder in (run_dir / "models", run_dir / "models" / "three_class", run_dir / "models" / "three_class_stacked"):
        pd.testing.assert_frame_equal(egid.load(folder).predict(crops), expected)
