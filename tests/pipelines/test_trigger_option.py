"""``--no-trigger`` (or ``trigger: false`` in a config file) skips the trigger-sized model and everything it adds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from egid.models.bundle import ModelBundle
from egid.pipelines.run import main
from tests.conftest import write_crops

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("trigger_option")
    electrons = write_crops(root / "e.hdf5", 150, label=1.0, seed=1)
    photons = write_crops(root / "p.hdf5", 150, label=0.0, seed=2)
    options = ["--electrons", str(electrons), "--photons", str(photons), "--no-cnn", "--trials", "1"]
    return [*options, "--cache-dir", str(root / "cache")]


@pytest.mark.parametrize("how", ["option", "config"])
def test_no_trigger_skips_the_trigger_model(how: str, sample: list[str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    if how == "option":
        skip = ["--no-trigger"]
    else:
        (tmp_path / "run.yaml").write_text("trigger: false\n")
        skip = ["--config", str(tmp_path / "run.yaml")]
    assert main(["run", *sample, *skip, "--out-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["models"] == ["lightgbm", "xgboost"] and metrics["costs"] == []
    assert not (out / "models" / "trigger").exists() and not (out / "tuning" / "trigger").exists()
    assert "tune trigger" not in json.loads((out / "timings.json").read_text())["seconds"]
    assert list(pd.read_parquet(out / "scores.parquet").columns[-2:]) == ["lightgbm", "xgboost"]
    assert yaml.safe_load((out / "config.yaml").read_text())["trigger"] is False
    assert ModelBundle.load(out).names == ["lightgbm", "xgboost"]
