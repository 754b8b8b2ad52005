"""The published e/gamma/pi networks (benchmarks/seed_networks.py) and benchmarks/published_three_class.py.

Pins the layer shapes and parameter counts the study states, the 28 x 28 energy window around the seed (in GeV),
the benchmark's threshold rule (egid's: summed crop energy ``e_sum`` >= T, for the networks and egid alike), the
batch stream of the fixed-steps training, how egid's stacked column cuts its split at a threshold, and a smoke run
of the benchmark on toy per-class files with 5 optimiser steps and one epoch of egid's CNN.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import nn

from egid.detector import Split, load_dataset
from egid.detector.schema import ELECTRON, ENERGY, IMAGE_SHAPE, PHOTON, SEED_IETA, SEED_IPHI
from egid.evaluation import threshold_study
from egid.features import build_table
from tests.benchmark_modules import load_benchmark
from tests.conftest import write_crops
from tests.three_class_fixtures import write_pions

SHALLOW_PARAMETERS = (784 * 10 + 10) + (10 * 10 + 10) + (10 * 3 + 3)
CNN_PARAMETERS = (5 * 5 * 1 * 32 + 32) + (5 * 5 * 32 * 64 + 64) + (7 * 7 * 64 * 1024 + 1024) + (1024 * 3 + 3)


@pytest.fixture(scope="module")
def networks() -> ModuleType:
    return load_benchmark("seed_networks")


@pytest.fixture(scope="module")
def study() -> ModuleType:
    return load_benchmark("published_three_class")


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def single_hot_pixel(ieta: int, iphi: int, energy_gev: float = 25.0) -> np.ndarray:
    """One crop, in file units, with ``energy_gev`` in crystal (ieta, iphi) and nothing else."""
    crop = np.zeros((1, *IMAGE_SHAPE), dtype=np.float32)
    crop[0, ieta, iphi, ENERGY] = energy_gev / 50.0
    return crop


def test_shallow_network_is_784_10_10_3(networks: ModuleType) -> None:
    model = networks.ShallowNN()
    dense = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert dense == [(784, 10), (10, 10), (10, 3)]
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 2
    assert _parameters(model) == SHALLOW_PARAMETERS == 7993
    assert model(torch.zeros(4, 1, 28, 28)).shape == (4, 3)


def test_cnn_has_the_tutorial_layers(networks: ModuleType) -> None:
    model = networks.PublishedCNN()
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convolutions] == [
        (1, 32, (5, 5), "same"),
        (32, 64, (5, 5), "same"),
    ]
    assert [m.kernel_size for m in model.modules() if isinstance(m, nn.MaxPool2d)] == [2, 2]
    dense = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert dense == [(7 * 7 * 64, 1024), (1024, 3)]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.4]
    assert _parameters(model) == CNN_PARAMETERS == 3_267_459
    assert model(torch.zeros(4, 1, 28, 28)).shape == (4, 3)


@pytest.mark.parametrize("name", ["shallow", "cnn"])
def test_published_recipes_carry_the_study_settings(networks: ModuleType, name: str) -> None:
    recipe = networks.PUBLISHED[name]
    assert (recipe.learning_rate, recipe.batch_size, recipe.steps) == (1e-3, 128, 10_000)
    model = recipe.build()
    assert not any(m.bias.detach().any() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))


def test_window_is_centred_on_the_seed_in_gev(networks: ModuleType) -> None:
    window = networks.published_input(single_hot_pixel(SEED_IETA, SEED_IPHI, 25.0))
    assert window.shape == (1, 1, 28, 28) and window.dtype == torch.float32
    assert torch.nonzero(window[0, 0]).tolist() == [[14, 14]]
    assert float(window[0, 0, 14, 14]) == pytest.approx(25.0)


@pytest.mark.parametrize(("crystal", "inside"), [((2, 2), (0, 0)), ((29, 29), (27, 27)), ((2, 29), (0, 27))])
def test_window_keeps_rows_and_columns_2_to_29(networks: ModuleType, crystal: tuple[int, int], inside: tuple) -> None:
    window = networks.published_input(single_hot_pixel(*crystal))
    assert torch.nonzero(window[0, 0]).tolist() == [list(inside)]


@pytest.mark.parametrize("crystal", [(1, 16), (16, 1), (30, 16), (16, 30), (0, 0), (31, 31)])
def test_window_drops_the_outer_crystals(networks: ModuleType, crystal: tuple[int, int]) -> None:
    image = single_hot_pixel(*crystal)
    assert float(networks.published_input(image).abs().sum()) == 0.0
    assert networks.window_energy_gev(image).tolist() == [0.0]


def test_window_energy_sums_the_window_in_gev(networks: ModuleType) -> None:
    images = np.concatenate([single_hot_pixel(16, 16, 12.5), single_hot_pixel(3, 28, 30.0), single_hot_pixel(0, 5)])
    images[0, 10, 20, ENERGY] = 2.5 / 50.0
    assert networks.window_energy_gev(images) == pytest.approx([15.0, 30.0, 0.0])


def test_threshold_is_egids_rule(study: ModuleType) -> None:
    assert study.above_threshold is threshold_study.above_threshold
    assert study.ENERGY_COLUMN == threshold_study.ENERGY_COLUMN == "e_sum"
    energy = np.array([0.0, 9.999, 10.0, 10.001, 29.99, 30.0, 55.0])
    assert study.above_threshold(energy, 0.0).tolist() == [True] * 7
    assert study.above_threshold(energy, 10.0).tolist() == [False, False, True, True, True, True, True]
    assert study.above_threshold(energy, 30.0).tolist() == [False] * 5 + [True, True]


def test_batches_are_repeated_shuffled_passes(networks: ModuleType) -> None:
    batches = list(networks._batches(5, 2, 5, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [2] * 5
    stream = torch.cat(batches).tolist()
    assert sorted(stream[:5]) == sorted(stream[5:]) == [0, 1, 2, 3, 4]


def test_train_steps_takes_the_steps_asked(networks: ModuleType) -> None:
    inputs = networks.published_input(np.concatenate([single_hot_pixel(16, 16, e) for e in (5.0, 20.0, 40.0)]))
    result = networks.train_steps(
        networks.PUBLISHED["shallow"], inputs, np.array([0, 1, 2]), steps=3, seed=1, device=torch.device("cpu")
    )
    assert result.steps == 3 and not result.model.training and np.isfinite(result.last_loss)
    probabilities = networks.predict_class_proba(result.model, inputs)
    assert probabilities.shape == (3, 3) and probabilities.sum(axis=1) == pytest.approx(1.0)


def test_class_indices_follow_the_schema_order(study: ModuleType) -> None:
    labels = np.array([ELECTRON, PHOTON, 2.0, PHOTON], dtype=np.float32)
    assert study.class_indices(labels, name="x").tolist() == [0, 1, 2, 1]
    with pytest.raises(ValueError, match=r"^x: no pion events"):
        study.class_indices(labels[:2], name="x")


@pytest.fixture
def toy_files(tmp_path: Path) -> list[str]:
    return [
        "--electrons",
        str(write_crops(tmp_path / "electron.hdf5", 24, label=ELECTRON, seed=1)),
        "--photons",
        str(write_crops(tmp_path / "photon.hdf5", 24, label=PHOTON, seed=2)),
        "--pions",
        str(write_pions(tmp_path / "pion.hdf5", 24)),
    ]


@pytest.mark.slow
def test_benchmark_smoke_run(
    study: ModuleType, toy_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "table.json"
    options = ["--steps", "5", "--folds", "2", "--thresholds", "0,20", "--threads", "1", "--out", str(out)]
    assert study.main([*toy_files, *options, "--cnn-epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "fit_three_class" in printed and "published (other simulation)" in printed and "load average" in printed
    assert "egid-stacked: egid's lightgbm+cnn" in printed and "cross_fit_cnn" in printed
    table = json.loads(out.read_text())
    assert table["steps"] == {"shallow": 5, "cnn": 5}
    assert table["cnn"] == {"init": "pretrained", "epochs": 1, "folds": 3}
    assert "e_sum" in table["threshold_rule"] and ">= T" in table["threshold_rule"]
    rows = table["rows"]
    assert [r["threshold_gev"] for r in rows] == [0.0, 20.0]
    assert rows[0]["kept"] == [24, 24, 24]
    assert rows[1]["kept"][:2] == [24, 24] and rows[1]["kept"][2] < 24  # toy e/gamma all above 20 GeV, pions not
    electrons, photons, pions = toy_files[1::2]
    dataset = load_dataset(electrons=electrons, photons=photons, pions=pions)
    above = build_table(dataset.read_images(), names=["e_sum"])["e_sum"].to_numpy() > 20.0
    assert rows[1]["kept"] == [int(np.sum(above & (dataset.labels == y))) for y in (ELECTRON, PHOTON, 2.0)]
    for row in rows:
        assert list(row["cells"]) == ["shallow", "cnn", "egid-lightgbm", "egid-stacked"]
        for cell in row["cells"].values():
            assert 0.0 <= cell["accuracy"] <= 1.0 and 0.0 <= cell["balanced_accuracy"] <= 1.0


def test_benchmark_refuses_a_missing_file_in_one_line(
    study: ModuleType, toy_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toy_files[-1] = str(tmp_path / "absent.hdf5")
    assert study.main([*toy_files, "--steps", "1", "--threads", "1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("published_three_class: error: ") and error.count("\n") == 1
    assert "absent.hdf5" in error


def test_validation_rows_keep_every_class(study: ModuleType) -> None:
    labels = np.repeat(np.array([ELECTRON, PHOTON, 2.0]), [40, 40, 3])
    train = np.arange(labels.size)
    validation = study.validation_rows(labels, train, seed=0)
    assert sorted(set(labels[validation])) == [0.0, 1.0, 2.0]
    assert set(validation) <= set(train) and len(validation) == len(set(validation))
    assert 12 <= len(validation) <= 14  # 15 % of 83, plus at most one pion


def test_rows_above_cut_the_first_thresholds_split(study: ModuleType) -> None:
    labels = np.repeat(np.array([ELECTRON, PHOTON, 2.0]), 10)  # electrons 0-9, photons 10-19, pions 20-29
    validation = np.array([0, 10, 20])
    split = Split(train=np.setdiff1d(np.arange(30), validation), validation=validation, test=np.empty(0, np.int64))
    keep = np.ones(30, dtype=bool)
    keep[[1, 20, 21]] = False  # a training electron, the validation pion and a training pion fall below
    train, validation = study.rows_above(labels, split, keep)
    assert validation.tolist() == [0, 10, 22]  # the first pion still above moves to validation
    assert train.tolist() == [i for i in range(30) if i not in {0, 1, 10, 20, 21, 22}]
    keep[20:29] = False  # a single pion left: it stays in training, validation goes without pions
    train, validation = study.rows_above(labels, split, keep)
    assert validation.tolist() == [0, 10] and train[-1] == 29
