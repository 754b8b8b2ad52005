"""``egid importances``: a ranked table from a run directory, without the data; bad directories exit 2."""

from __future__ import annotations

import shutil

import pytest

from egid.models.export import load_tree_model
from egid.models.importance import ranked, read_importances
from egid.pipelines.run import main


@pytest.fixture
def run_dir(tree_model_dir, tmp_path):
    shutil.copytree(tree_model_dir, tmp_path / "run" / "models")
    return tmp_path / "run"


def ranked_rows(output: str, model: str) -> list[list[str]]:
    block = next(part for part in output.split("\n\n") if part.startswith(f"{model}:"))
    return [line.split() for line in block.splitlines()[2:]]


@pytest.mark.parametrize("kind", ["gain", "split", "shap"])
def test_prints_each_models_ranking(kind, run_dir, capsys):
    assert main(["importances", "--run-dir", str(run_dir), "--top", "3", "--measure", kind]) == 0
    output = capsys.readouterr().out
    for model in ("lightgbm", "xgboost"):
        if kind == "shap":
            values = read_importances(run_dir / "models", model)["shap"]
        else:
            values = load_tree_model(run_dir / "models", model).importance(kind)
        expected = ranked(values, 3)
        rows = ranked_rows(output, model)
        assert [row[0] for row in rows] == ["1", "2", "3"]
        assert [row[1] for row in rows] == list(expected.index)
        assert [float(row[2]) for row in rows] == pytest.approx(expected.to_numpy(), rel=1e-5)
        assert f"{model}: {kind} (" in output and f"top 3 of {len(values)} features" in output


def test_accepts_the_models_folder_and_one_model(run_dir, capsys):
    assert main(["importances", "--run-dir", str(run_dir / "models"), "--model", "xgboost"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("xgboost: gain") and "lightgbm" not in output


def test_lists_every_model_set_of_a_run(tree_model_dir, tmp_path, capsys):
    for model_set in ("features_only", "stacked"):
        shutil.copytree(tree_model_dir, tmp_path / "run" / "models" / model_set)
    assert main(["importances", "--run-dir", str(tmp_path / "run"), "--top", "2", "--model", "lightgbm"]) == 0
    output = capsys.readouterr().out
    headers = [block.split(":")[0] for block in output.split("\n\n")]
    assert headers == ["features_only/lightgbm", "stacked/lightgbm"]


def test_a_corrupted_run_is_one_line_and_exit_2(run_dir, capsys):
    (run_dir / "models" / "xgboost_params.json").write_text("{}")
    assert main(["importances", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("egid: error: ") and err.endswith(
        "xgboost_params.json: SHA-256 differs from "
        f"{run_dir / 'models' / 'manifest.json'}; the file is "
        "corrupted or was replaced"
    )
    assert "\n" not in err


def test_a_directory_that_is_not_a_run_exits_2(tmp_path, capsys):
    assert main(["importances", "--run-dir", str(tmp_path)]) == 2
    assert "not an egid run directory" in capsys.readouterr().err
