"""``egid export``: conifer firmware and compiled C from a run's model directory, its report, and bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from egid.deploy import firmware
from egid.features.extract import LABEL_COLUMN
from egid.models.export import load_tree_model
from egid.pipelines.run import main
from tests.tree_fixtures import TREE_FEATURE_NAMES


@pytest.fixture(scope="module")
def table_file(tree_table, tmp_path_factory):
    t = tree_table
    table = pd.concat([t.X_val, t.X_test]).assign(**{LABEL_COLUMN: np.concatenate([t.y_val, t.y_test])})
    path = tmp_path_factory.mktemp("table") / "features.parquet"
    table.to_parquet(path, index=False)
    return path


def _export(model_dir, table, out, *extra):
    return main(["deploy", "--run-dir", str(model_dir), "--table", str(table), "--out-dir", str(out), *extra])


@pytest.mark.slow
def test_conifer_export_writes_project_emulations_and_report(tree_model_dir, table_file, tmp_path, capsys):
    out = tmp_path / "fw"
    assert _export(tree_model_dir, table_file, out, "--target", "conifer", "--model", "xgboost", "--widths", "16") == 0
    report = json.loads((out / "report.json").read_text())
    (section,) = report["exports"]
    assert section["model"] == "xgboost" and section["splitting_convention"] == "<"
    double, fixed, project = section["scan"]  # the HLS project's own precision is scanned too
    assert double["precision"] == "double" and double["max_abs_probability_difference"] < 1e-6
    assert fixed["width"] == 16 and abs(fixed["auc"] - section["native_auc"]) < 0.01
    assert project["precision"] == section["hls_precision"] and project["width"] == 18
    assert section["events_with_undefined_features_excluded"] > 0
    assert (out / "xgboost" / "hls" / "firmware" / "parameters.h").is_file()
    assert (out / "precision_scan.png").stat().st_size > 10_000
    markdown = (out / "report.md").read_text()
    assert "| precision | AUC |" in markdown
    excluded = section["events_with_undefined_features_excluded"]
    assert f"{excluded} events of the table have an undefined feature and are left out" in markdown
    assert [p.name for p in tmp_path.iterdir()] == ["fw"]
    assert "deploy directory:" in capsys.readouterr().out
    # The inputs are scaled by default: the shifts are in the report and beside the HLS project, which holds the
    # thresholds times 2**shift, and the scan's type has the integer bits of the scores alone.
    scaling = section["input_scaling"]
    names = list(TREE_FEATURE_NAMES)
    assert list(scaling["shifts"]) == names and scaling["file"] == "hls/input_scaling.json"
    written = json.loads((out / "xgboost" / "hls" / "input_scaling.json").read_text())
    assert [(i["feature"], i["shift"]) for i in written["inputs"]] == list(scaling["shifts"].items())
    assert written["precision"] == section["hls_precision"] == firmware.fixed_point(18, section["integer_bits"])
    assert "Inputs scaled by powers of two" in markdown
    assert f"{names[0]} 2^{scaling['shifts'][names[0]]}" in markdown
    raw = firmware.ensemble_from_xgboost(load_tree_model(tree_model_dir, "xgboost").booster)
    assert section["integer_bits"] == firmware.score_integer_bits(raw)
    assert _hls_thresholds(out) == [np.ldexp(t, scaling["shifts"][names[f]]) for f, t in firmware._splits(raw)]
    # The C-simulation data: the checked events as the firmware takes them, and the log-odds the project's
    # precision gives them. Unscaled and fed to the booster, they differ from those log-odds by exactly the
    # scan's worst case at that precision, so both files hold the checked events in the same order.
    testbench = out / "xgboost" / "hls" / "tb_data"
    inputs = np.loadtxt(testbench / "tb_input_features.dat", ndmin=2)
    expected = np.loadtxt(testbench / "egid_expected_logodds.dat", ndmin=1)
    assert inputs.shape == (section["events"], len(names)) and expected.shape == (section["events"],)
    raw_inputs = pd.DataFrame(np.ldexp(inputs, [-scaling["shifts"][n] for n in names]), columns=names)
    native = load_tree_model(tree_model_dir, "xgboost").predict(raw_inputs)
    worst = np.max(np.abs(expected - (np.log(native) - np.log1p(-native))))
    assert worst == pytest.approx(project["max_abs_logodds_difference"], rel=1e-6, abs=1e-9)


def _hls_thresholds(out):
    """The split thresholds of the HLS project's model file, in conifer's order."""
    return [t for f, t in firmware._splits(json.loads((out / "xgboost" / "hls" / "egid_bdt.json").read_text()))]


@pytest.mark.slow
def test_no_input_scaling_gives_the_firmware_raw_inputs(tree_model_dir, table_file, tmp_path):
    """The behaviour before input scaling: one type fitted to the largest threshold or score, raw thresholds."""
    out = tmp_path / "fw"
    options = ["--target", "conifer", "--model", "xgboost", "--widths", "16", "--no-input-scaling"]
    assert _export(tree_model_dir, table_file, out, *options) == 0
    (section,) = json.loads((out / "report.json").read_text())["exports"]
    raw = firmware.ensemble_from_xgboost(load_tree_model(tree_model_dir, "xgboost").booster)
    assert section["input_scaling"] is None and section["integer_bits"] == firmware.integer_bits(raw)
    integer = firmware.integer_bits(raw)
    assert [row["precision"] for row in section["scan"]] == [
        "double",
        firmware.fixed_point(16, integer),
        firmware.fixed_point(18, integer),  # the HLS project's precision
    ]
    assert section["scan"][0]["max_abs_probability_difference"] < 1e-6
    assert not (out / "xgboost" / "hls" / "input_scaling.json").exists()
    assert _hls_thresholds(out) == [t for _, t in firmware._splits(raw)]
    assert "Inputs not scaled" in (out / "report.md").read_text()


@pytest.mark.slow
def test_c_export_builds_both_libraries(tree_model_dir, table_file, tmp_path):
    out = tmp_path / "c"
    assert _export(tree_model_dir, table_file, out, "--target", "c") == 0
    sections = json.loads((out / "report.json").read_text())["exports"]
    assert [s["model"] for s in sections] == ["lightgbm", "xgboost"]
    assert all(s["max_abs_probability_difference"] < 1e-6 for s in sections)
    assert all(
        (out / s["model"] / s["library"]).is_file() and (out / s["model"] / "src" / "main.c").is_file()
        for s in sections
    )


def _one_line_error(capsys, match):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("egid: error: ") and match in err, err
    return err


def test_existing_output_is_refused(tree_model_dir, table_file, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert _export(tree_model_dir, table_file, tmp_path / "out", "--target", "c") == 2
    _one_line_error(capsys, "already exists")


def test_missing_model_dir(table_file, tmp_path, capsys):
    assert _export(tmp_path / "nowhere", table_file, tmp_path / "out", "--target", "c") == 2
    _one_line_error(capsys, "no such model directory")
    assert not (tmp_path / "out").exists()


def test_table_without_the_model_features(tree_model_dir, tmp_path, capsys):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"r9": [0.5, 0.9], LABEL_COLUMN: [0.0, 1.0]}).to_parquet(path)
    assert _export(tree_model_dir, path, tmp_path / "out", "--target", "c") == 2
    _one_line_error(capsys, "lacks the column(s)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_table_with_one_class(tree_model_dir, table_file, tmp_path, capsys):
    table = pd.read_parquet(table_file)
    path = tmp_path / "t.parquet"
    table.assign(**{LABEL_COLUMN: 1.0}).to_parquet(path)
    assert _export(tree_model_dir, path, tmp_path / "out", "--target", "c") == 2
    _one_line_error(capsys, "both classes")


def test_unreadable_table(tree_model_dir, tmp_path, capsys):
    path = tmp_path / "t.parquet"
    path.write_text("not parquet")
    assert _export(tree_model_dir, path, tmp_path / "out", "--target", "conifer") == 2
    _one_line_error(capsys, "cannot read the feature table")


def test_a_precision_too_narrow_for_the_scaled_inputs(tree_model_dir, table_file, tmp_path, capsys):
    """The scaled thresholds fill the scores' integer bits; a project type with fewer would saturate them all."""
    options = ["--target", "conifer", "--model", "xgboost", "--precision", "ap_fixed<18,1>"]
    assert _export(tree_model_dir, table_file, tmp_path / "out", *options) == 2
    _one_line_error(capsys, "precision ap_fixed<18,1>: the input-scaled thresholds and scores need")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value"), [("--widths", "8,x"), ("--widths", "1"), ("--precision", "ap_fixed<4,8>")]
)
def test_bad_options_exit_2(option, value, tree_model_dir, table_file, tmp_path, capsys):
    assert _export(tree_model_dir, table_file, tmp_path / "out", "--target", "conifer", option, value) == 2
    _one_line_error(capsys, option)
    assert not (tmp_path / "out").exists()
