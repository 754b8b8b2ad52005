"""Three-class trees: Optuna on the validation log-loss (pruning, resume), class balance, the saved model set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from egid.detector import InputError, stratified_split
from egid.detector.schema import CLASS_LABELS
from egid.models.three_class import (
    CNN_COLUMNS,
    STACKED_SET,
    ThreeClassBundle,
    class_columns,
    fit_three_class,
    is_three_class_run,
    model_probabilities,
    probability_frame,
    run_root,
    save_three_class_set,
    score_columns,
    three_class_features,
)
from egid.models.trees import class_balance_weights
from egid.models.tuning import TuningSettings, best_params_path, tune_and_fit
from tests.three_class_fixtures import three_class_arrays, three_class_table

FAST = {"max_rounds": 60, "early_stopping_rounds": 5, "n_jobs": 1}


def test_class_balance_weights_give_each_class_the_same_total() -> None:
    y = np.array([0.0] * 6 + [1.0] * 3 + [2.0] * 1)
    w = class_balance_weights(y)
    assert w.mean() == pytest.approx(1.0)
    assert [w[y == k].sum() for k in (0, 1, 2)] == pytest.approx([10 / 3] * 3)
    np.testing.assert_array_equal(class_balance_weights(np.repeat([0, 1, 2], 4)), np.ones(12))


@pytest.fixture(scope="module")
def events() -> tuple[pd.DataFrame, np.ndarray]:
    return three_class_table(60, seed=0)


def test_tuning_minimises_the_validation_logloss_and_resumes(events: tuple, tmp_path: Path) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    columns = list(three_class_features())
    args = (
        table.iloc[split.train][columns],
        y[split.train],
        table.iloc[split.validation][columns],
        y[split.validation],
    )
    settings = TuningSettings(n_trials=3, seed=1, **FAST)
    model = tune_and_fit("lightgbm", *args, settings, out_dir=tmp_path, n_classes=3, balanced=True)
    assert model.n_classes == 3
    summary = json.loads(best_params_path(tmp_path, "lightgbm").read_text())
    assert "validation_logloss" in summary and "validation_auc" not in summary
    study = optuna.load_study(
        study_name="egid-lightgbm",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna.journal"))
        ),
    )
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert summary["validation_logloss"] == pytest.approx(min(t.value for t in study.trials if t.value is not None))
    # resume: only the missing trial runs, and the three first are kept as they were
    before = [(t.number, t.params) for t in study.trials]
    resumed = TuningSettings(n_trials=4, seed=1, resume=True, **FAST)
    tune_and_fit("lightgbm", *args, resumed, out_dir=tmp_path, n_classes=3, balanced=True)
    after = optuna.load_study(
        study_name="egid-lightgbm",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna.journal"))
        ),
    )
    assert len(after.trials) == 4 and [(t.number, t.params) for t in after.trials[:3]] == before
    with pytest.raises(InputError, match=r"study 'egid-lightgbm' already has 4 trials"):
        tune_and_fit("lightgbm", *args, settings, out_dir=tmp_path, n_classes=3)


def test_the_saved_set_predicts_named_columns_summing_to_one(events: tuple, tmp_path: Path) -> None:
    table, y = events
    split = stratified_split(y, seed=0)
    models = fit_three_class(table, y, split, TuningSettings(n_trials=1, **FAST), tuning_dir=tmp_path / "tuning")
    assert set(models) == {"lightgbm", "xgboost"}
    frame = probability_frame(models, table)
    assert list(frame.columns) == [*score_columns("lightgbm"), *score_columns("xgboost")]
    assert score_columns("xgboost") == ["xgboost_electron", "xgboost_photon", "xgboost_pion"]
    for name, model in models.items():
        np.testing.assert_allclose(frame[score_columns(name)].sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_array_equal(model_probabilities(frame, name), model.predict(table))
        # the electron column is the model's output column of label 1
        np.testing.assert_array_equal(frame[f"{name}_electron"], model.predict(table)[:, int(CLASS_LABELS[0])])
    run = tmp_path / "run"
    (folder,) = save_three_class_set(models, table, split, run / "models", seed=0, thresholds=(0, 12.5))
    assert is_three_class_run(run) and is_three_class_run(run / "models") and is_three_class_run(folder)
    assert run_root(folder) == run and not is_three_class_run(tmp_path / "tuning")
    gain = pd.read_csv(folder / "lightgbm_class_importance.csv", index_col="feature")
    assert list(gain.columns) == ["photon", "electron", "pion"] and (gain.to_numpy() >= 0).all()
    bundle = ThreeClassBundle.load(run)
    assert bundle.thresholds == (0.0, 12.5)  # the run's threshold study, which egid evaluate repeats
    x, _ = three_class_arrays(60, seed=0)
    scores = bundle.predict(x)
    pd.testing.assert_frame_equal(scores.reset_index(drop=True), frame.reset_index(drop=True), check_exact=False)
    with pytest.raises(InputError, match=r"^images: "):
        bundle.predict(x[..., :1])
    # the recorded thresholds are checked when the set is loaded, one line naming the manifest
    manifest = folder / "manifest.json"
    document = json.loads(manifest.read_text())
    document["extra"]["thresholds_gev"] = [10, 10]
    manifest.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"manifest\.json: 'thresholds_gev': expected distinct finite energies"):
        ThreeClassBundle.load(run)
    del document["extra"]["thresholds_gev"]
    manifest.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"manifest\.json: no 'thresholds_gev' \(the run's threshold study\)"):
        ThreeClassBundle.load(run)


def test_loading_a_folder_without_a_three_class_set_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no three-class model set \(three_class/manifest.json with task"):
        ThreeClassBundle.load(tmp_path)


def test_the_stacked_set_saves_and_reloads_the_cnn_and_predicts_as_at_training(events: tuple, tmp_path: Path) -> None:
    import dataclasses

    import torch

    from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform
    from egid.models.cnn_ensemble import CNNEnsemble

    config = CNNConfig(transform=InputTransform(crop_half_width=4), channels=(2, 4, 4), hidden=4, n_classes=3)
    torch.manual_seed(0)
    cnn = CNNEnsemble([EgammaCNN.from_config(config), EgammaCNN.from_config(config)], config, device="cpu")
    x, y = three_class_arrays(60, seed=0)
    table = events[0].assign(**class_columns("cnn", cnn.score(x).astype(np.float64)))
    split = stratified_split(y, seed=0)
    settings = TuningSettings(n_trials=1, **FAST)
    models = fit_three_class(table, y, split, settings, tuning_dir=tmp_path / "tuning")
    stacked = fit_three_class(
        table,
        y,
        split,
        dataclasses.replace(settings, study_name="stacked"),
        tuning_dir=tmp_path / "tuning",
        stacked=True,
        warm_starts={kind: model.params_dict() for kind, model in models.items()},
    )
    assert set(stacked) == {"lightgbm+cnn", "xgboost+cnn"}
    assert all(list(model.feature_names[-3:]) == list(CNN_COLUMNS) for model in stacked.values())
    models |= stacked
    frame = probability_frame(models, table)
    names = ["lightgbm", "xgboost", "cnn", "lightgbm+cnn", "xgboost+cnn"]
    assert list(frame.columns) == [column for name in names for column in score_columns(name)]
    folders = save_three_class_set(
        models, table, split, tmp_path / "run" / "models", seed=0, thresholds=(0,), cnn=cnn, probe_images=x
    )
    assert [folder.name for folder in folders] == ["three_class", STACKED_SET]
    assert (folders[1] / "cnn_fold1.onnx").is_file() and (folders[1] / "xgboost.onnx").is_file()
    bundle = ThreeClassBundle.load(tmp_path / "run")
    assert bundle.names == names and bundle.cnn is not None and len(bundle.cnn) == 2
    pd.testing.assert_frame_equal(bundle.predict(x).reset_index(drop=True), frame.reset_index(drop=True), atol=1e-6)


def test_the_best_models_are_one_per_family_by_the_validation_log_loss(events: tuple, tmp_path: Path) -> None:
    from egid.models.three_class import balanced_log_loss, best_models

    table, y = events
    split = stratified_split(y, seed=0)
    models = fit_three_class(table, y, split, TuningSettings(n_trials=1, **FAST), tuning_dir=tmp_path)
    rows = split.validation
    losses = {name: balanced_log_loss(model, table, y, rows) for name, model in models.items()}
    for name, model in models.items():  # every class weighs a third
        probabilities = model.predict(table.iloc[rows])
        by_class = [-np.mean(np.log(probabilities[y[rows] == k, k])) for k in range(3)]
        assert losses[name] == pytest.approx(np.mean(by_class))
    assert list(best_models(models, table, y, rows)) == [min(losses, key=losses.__getitem__)]
    # a second family (the stacked models) gets its own best, whatever the first's
    twins = {"lightgbm": models["lightgbm"], "lightgbm+cnn": models["xgboost"], "xgboost+cnn": models["lightgbm"]}
    chosen = best_models(twins, table, y, rows)
    assert list(chosen) == ["lightgbm", "lightgbm+cnn" if losses["xgboost"] < losses["lightgbm"] else "xgboost+cnn"]
