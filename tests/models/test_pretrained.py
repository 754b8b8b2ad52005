"""Pretrained CNN weights: made from the reserved simulation streams, saved and read back exactly, refused when
damaged, and the shipped files are current and separate electrons from photons (and from pions)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from egid.detector import InputError
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform, predict_proba
from egid.models.cnn_budget import FINE_TUNING_BUDGET, TrainingBudget
from egid.models.history import TrainingHistory
from egid.models.pretrained import (
    FINE_TUNING_LEARNING_RATE,
    PRETRAINING_CONFIG,
    SHIPPED_THREE_CLASS_WEIGHTS,
    SHIPPED_WEIGHTS,
    load_pretrained,
    pretrain,
)
from egid.simulation import SIMULATION_VERSION, simulate_events

TINY = CNNConfig(
    transform=InputTransform(crop_half_width=3),
    channels=(4, 8, 8),
    hidden=8,
    batch_size=32,
    budget=TrainingBudget(epochs=2, min_images=1, max_images=10**6, evaluations=2, patience=None),
)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainingHistory]:
    """A tiny network pretrained on 150 + 150 simulated events, saved, and its learning curves."""
    torch.set_num_threads(1)
    pretrained, history = pretrain(150, seed=3, config=TINY, progress=False)
    path = tmp_path_factory.mktemp("pretrained") / "tiny.pt"
    assert pretrained.save(path) == [path, path.with_suffix(".json")]
    return path, history


@pytest.fixture(scope="module")
def tiny_pretrained(tiny_run: tuple[Path, TrainingHistory]) -> Path:
    return tiny_run[0]


def test_pretraining_records_where_the_weights_came_from(tiny_run: tuple[Path, TrainingHistory]) -> None:
    tiny_pretrained, history = tiny_run
    provenance = load_pretrained(tiny_pretrained).provenance
    assert provenance["simulation_version"] == SIMULATION_VERSION
    assert provenance["simulation_streams"] == "pretraining"
    assert (provenance["seed"], provenance["events_per_class"]) == (3, 150)
    assert provenance["training_images"] + provenance["held_out_images"] == 300
    assert provenance["held_out_images"] == 15  # 5 % held out, stratified
    best = (history.best or history.steps) - 1
    assert provenance["held_out_auc"] == history.curves["validation"]["auc"][best]
    assert provenance["optimizer_steps"] == history.x[best]
    sidecar = json.loads(tiny_pretrained.with_suffix(".json").read_text())
    assert sidecar["provenance"] == provenance and sidecar["config"]["transform"]["crop_half_width"] == 3


def test_saved_weights_read_back_exactly(tiny_pretrained: Path) -> None:
    first, again = load_pretrained(tiny_pretrained), load_pretrained(tiny_pretrained)
    assert first.config == TINY
    model = EgammaCNN.from_config(first.config)
    model.load_state_dict(first.state)
    x = torch.rand(70, 2, 7, 7)
    np.testing.assert_array_equal(predict_proba(model, x), predict_proba(model, x))
    assert all(torch.equal(first.state[k], again.state[k]) for k in first.state)


def test_fine_tuning_keeps_the_network_and_lowers_the_learning_rate(tiny_pretrained: Path) -> None:
    pretrained = load_pretrained(tiny_pretrained)
    tuned = pretrained.fine_tuning_config()
    assert dataclasses.replace(tuned, budget=TINY.budget, learning_rate=TINY.learning_rate) == TINY
    assert tuned.budget == FINE_TUNING_BUDGET and tuned.learning_rate == FINE_TUNING_LEARNING_RATE


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "unreadable"),
        (b"not a torch file", "unreadable"),
        (None, "not a file of egid pretrain"),
    ],
)
def test_a_damaged_or_foreign_weights_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "weights.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=rf"weights\.pt: .*{problem}") as caught:
        load_pretrained(path)
    assert "\n" not in str(caught.value)


def test_a_missing_weights_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.pt: no such file; make one with `egid pretrain"):
        load_pretrained(tmp_path / "nothing.pt")


def test_the_shipped_weights_are_current_and_separate_electrons_from_photons() -> None:
    """The package's weights come from this simulation version and score an unseen simulated sample well."""
    shipped = load_pretrained()
    assert SHIPPED_WEIGHTS.is_file() and shipped.config == PRETRAINING_CONFIG
    assert shipped.provenance["simulation_version"] == SIMULATION_VERSION
    model = EgammaCNN.from_config(shipped.config)
    model.load_state_dict(shipped.state)
    electrons, _ = simulate_events(1500, particle="electron", seed=11)
    photons, _ = simulate_events(1500, particle="photon", seed=11)
    scores = predict_proba(model, shipped.config.transform(np.concatenate([electrons, photons])))
    auc = roc_auc_score(np.r_[np.ones(1500), np.zeros(1500)], scores)
    assert auc > 0.78, f"shipped weights reach AUC {auc:.3f} on 3000 simulated events"


def test_the_shipped_three_class_weights_are_current_and_separate_the_three_classes() -> None:
    """The three-class weights (a three-way output) come from this simulation version, were pretrained on the
    three classes, and tell pions from e/gamma far better than electrons from photons on an unseen sample."""
    shipped = load_pretrained(n_classes=3)
    assert SHIPPED_THREE_CLASS_WEIGHTS.is_file() and shipped.config == dataclasses.replace(
        PRETRAINING_CONFIG, n_classes=3
    )
    assert shipped.provenance["simulation_version"] == SIMULATION_VERSION
    assert shipped.provenance["classes"] == ["electron", "photon", "pion"]
    model = EgammaCNN.from_config(shipped.config)
    model.load_state_dict(shipped.state)
    n = 1000
    images = [simulate_events(n, particle=particle, seed=11)[0] for particle in ("electron", "photon", "pion")]
    probabilities = predict_proba(model, shipped.config.transform(np.concatenate(images)))
    assert probabilities.shape == (3 * n, 3)
    is_pion = np.r_[np.zeros(2 * n), np.ones(n)]
    pion_auc = roc_auc_score(is_pion, probabilities[:, 2])
    electron_auc = roc_auc_score(np.r_[np.ones(n), np.zeros(n)], probabilities[: 2 * n, 1])
    assert pion_auc > 0.97 and electron_auc > 0.75, f"AUC pion vs e/gamma {pion_auc:.3f}, e vs gamma {electron_auc:.3f}"


def test_pretraining_with_pions_makes_a_three_class_network(tmp_path: Path) -> None:
    from egid.models.pretrained import cnn_start

    pretrained, _ = pretrain(60, n_classes=3, seed=1, config=TINY, progress=False)
    assert pretrained.config.n_classes == 3 and pretrained.provenance["classes"] == ["electron", "photon", "pion"]
    assert pretrained.provenance["training_images"] + pretrained.provenance["held_out_images"] == 180
    assert pretrained.state["head.2.weight"].shape == (3, TINY.hidden)
    path = tmp_path / "three.pt"
    pretrained.save(path)
    config, state = cnn_start(str(path), n_classes=3)
    assert config.n_classes == 3 and state is not None
    assert all(torch.equal(state[name], value) for name, value in pretrained.state.items())  # kept whole
    with pytest.raises(ValueError, match=r"n_classes among \[2, 3\]"):
        pretrain(60, n_classes=4, config=TINY, progress=False)


def test_weights_of_another_network_are_refused_naming_the_file(tmp_path: Path) -> None:
    """A file with egid's layout whose tensors do not fit the network it declares (here a layer's weights
    missing) is refused before any training, like a damaged one."""
    document = torch.load(SHIPPED_WEIGHTS, weights_only=True)
    document["state_dict"].pop(next(iter(document["state_dict"])))
    path = tmp_path / "other.pt"
    torch.save(document, path)
    with pytest.raises(InputError, match=r"other\.pt: unreadable pretrained CNN weights") as caught:
        load_pretrained(path)
    assert "\n" not in str(caught.value)


def test_a_three_class_start_keeps_every_pretrained_layer_but_the_output_one(tiny_pretrained: Path) -> None:
    from egid.models.pretrained import cnn_start

    pretrained = load_pretrained(tiny_pretrained)
    config, state = cnn_start(str(tiny_pretrained), n_classes=3)
    assert config.n_classes == 3 and config.budget == FINE_TUNING_BUDGET and state is not None
    model = EgammaCNN.from_config(config)
    model.load_state_dict(state)  # strict: every name and shape of a three-class network
    changed = {name for name, value in state.items() if not torch.equal(value, pretrained.state[name])}
    assert changed == {"head.2.weight", "head.2.bias"} and state["head.2.weight"].shape == (3, TINY.hidden)
    again = cnn_start(str(tiny_pretrained), n_classes=3)[1]
    assert again is not None and all(torch.equal(again[name], state[name]) for name in state)  # seeded
    binary_config, binary_state = cnn_start(str(tiny_pretrained))
    assert binary_config.n_classes == 2 and binary_state is not None
    assert all(torch.equal(binary_state[name], value) for name, value in pretrained.state.items())
