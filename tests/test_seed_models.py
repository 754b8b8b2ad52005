"""benchmarks/seed_models.py: the seeds' networks as their sources define them, and the script end to end.

The end-to-end test makes a tiny egid run (--max-events below the files' size, so the event selection must be
rebuilt too), runs the script on it for one epoch and checks the JSON table: every model of the run and both seed
networks with AUCs in [0, 1], and the seed networks trained on exactly the run's training events.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from egid.detector import stratified_split
from egid.pipelines.config import load_config
from egid.simulation import write_sample
from tests.runs import egid_run

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "seed_models.py"
EGID_MODELS = ["lightgbm", "xgboost", "trigger", "cnn", "lightgbm+cnn", "xgboost+cnn"]
SEED_MODELS = ["lenet5", "resnet15"]


@pytest.fixture(scope="module")
def networks() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return importlib.import_module("seed_networks")
    finally:
        sys.path.remove(str(SCRIPT.parent))


@pytest.mark.parametrize("name", SEED_MODELS)
def test_networks_give_one_logit_per_crop(networks: ModuleType, name: str) -> None:
    model = networks.RECIPES[name].build()
    assert model(torch.zeros(5, 2, 32, 32)).shape == (5,)


def test_resnet15_has_the_e2e_layers(networks: ModuleType) -> None:
    model = networks.ResNet15()
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(convolutions) == 15  # the 7x7 stem and 7 blocks of two 3x3 convolutions
    assert convolutions[0].kernel_size == (7, 7)
    assert [c.out_channels for c in convolutions] == [16] * 7 + [32] * 8
    assert isinstance(model.head[0], nn.AdaptiveMaxPool2d)


def test_lenet5_has_the_canonical_layers(networks: ModuleType) -> None:
    convolutions = [(m.in_channels, m.out_channels) for m in networks.LeNet5().modules() if isinstance(m, nn.Conv2d)]
    dense = [(m.in_features, m.out_features) for m in networks.LeNet5().modules() if isinstance(m, nn.Linear)]
    assert convolutions == [(2, 6), (6, 16)]
    assert dense == [(400, 120), (120, 84), (84, 1)]


def test_multiply_adds_of_lenet5_by_hand(networks: ModuleType) -> None:
    by_hand = 6 * 28 * 28 * 2 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84
    assert networks.multiply_adds(networks.LeNet5()) == by_hand


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeds")
    electrons, photons = write_sample(root / "sample", 400, seed=21)
    options = ["--max-events", "600", "--trials", "2", "--cnn-folds", "2", "--cnn-epochs", "1", "--seed", "3"]
    return egid_run(electrons, photons, root / "run", *options)


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_script_end_to_end(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "table.json"
    done = _run_script("--run-dir", str(tiny_run), "--epochs", "1", "--threads", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    table = json.loads(out.read_text())
    rows = {row["model"]: row for row in table["rows"]}
    assert list(rows) == EGID_MODELS + SEED_MODELS
    for name, row in rows.items():
        assert 0.0 <= row["auc"] <= 1.0 and row["auc_se"] > 0.0, name
        assert 0.0 <= row["accuracy"] <= 1.0, name
        assert (row["origin"] == "seed") == (name in SEED_MODELS), name
        assert (row["vs_cnn"] is None) == (name == "cnn"), name
        assert name in done.stdout
    for name in SEED_MODELS:
        assert rows[name]["epochs"] == 1 and rows[name]["images_per_second"] > 0
    assert "load average" in done.stdout

    # The seed networks trained on the run's own training events: egid's split of the run's labels and seed.
    labels = pd.read_parquet(tiny_run / "scores.parquet")["label"].to_numpy()
    assert len(labels) == 600
    split = stratified_split(labels, seed=load_config(tiny_run / "config.yaml", {}).seed)
    for part in ("train", "validation", "test"):
        indices = getattr(split, part)
        digest = hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()
        assert table["split"][part] == {"events": len(indices), "sha256": digest}


@pytest.mark.slow
def test_script_refuses_a_folder_that_is_no_run(tmp_path: Path) -> None:
    done = _run_script("--run-dir", str(tmp_path), "--epochs", "1")
    assert done.returncode == 2
    assert done.stderr.startswith("seed_models: error: ") and done.stderr.count("\n") == 1
