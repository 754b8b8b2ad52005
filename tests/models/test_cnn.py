"""The CNN head: input transform, network size and shapes, and the training loop (learning, determinism)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import egid.models.cnn as cnn
from egid.detector import InputError
from egid.detector.schema import ENERGY, IMAGE_SHAPE, SEED_IETA, SEED_IPHI, TIME
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform, count_parameters, predict_proba, train_cnn
from egid.models.cnn_budget import SCRATCH_BUDGET, TrainingBudget
from egid.models.history import TrainingHistory
from tests.conftest import toy_crops

TINY = CNNConfig(transform=InputTransform(crop_half_width=5), channels=(4, 8, 8), hidden=8, batch_size=32)
"""A network small enough to train in about a second on a loaded CPU."""


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and idle-waiting threads crawl on a shared, loaded CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _empty(n: int = 1) -> np.ndarray:
    return np.zeros((n, *IMAGE_SHAPE), dtype=np.float32)


def _toy_problem(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Toy crops (electrons carry an extra deposit 2-5 crystals off the seed in i-phi) and their labels."""
    x = np.concatenate([toy_crops(n_per_class, label=1.0, seed=seed), toy_crops(n_per_class, label=0.0, seed=seed + 1)])
    return x, np.r_[np.ones(n_per_class), np.zeros(n_per_class)].astype(np.float32)


@pytest.mark.parametrize("half_width", [1, 7, 11, 15])
def test_network_stays_below_200k_parameters_and_gives_one_logit_per_image(half_width: int) -> None:
    config = CNNConfig(transform=InputTransform(crop_half_width=half_width))
    model = EgammaCNN.from_config(config)
    assert count_parameters(model) < 200_000
    size = config.transform.crop_size
    assert model(torch.zeros(5, 2, size, size)).shape == (5,)


def test_default_network_is_the_documented_size() -> None:
    # 3 conv stages (16, 32, 32) on 15 x 15 -> 32 maps of 2 x 4 after pooling -> dense 64 -> 1.
    model = EgammaCNN.from_config(CNNConfig())
    conv = 2 * 16 * 9 + 16 * 32 * 9 + 32 * 32 * 9
    batch_norm = 2 * (16 + 32 + 32)
    dense = (32 * 2 * 4) * 64 + 64 + 64 + 1
    assert count_parameters(model) == conv + batch_norm + dense


def test_transform_maps_energy_to_log1p_gev_and_time_to_clipped_scaled_ns() -> None:
    transform = InputTransform(crop_half_width=2, time_clip_ns=10.0, time_scale_ns=2.0)
    x = _empty()
    x[0, SEED_IETA, SEED_IPHI] = (25.0 / 50, 3.0 / 50)  # seed: 25 GeV at 3 ns
    x[0, SEED_IETA - 2, SEED_IPHI + 2] = (0.5 / 50, 40.0 / 50)  # crop corner: 0.5 GeV, far out of time
    x[0, SEED_IETA + 1, SEED_IPHI] = (0.0, 7.0 / 50)  # no energy: its time must not count
    x[0, SEED_IETA, SEED_IPHI + 3] = (9.0 / 50, 1.0 / 50)  # outside the 5 x 5 crop
    out = transform(x).numpy()
    assert out.shape == (1, 2, 5, 5) and out.dtype == np.float32
    expected = np.zeros((2, 5, 5), dtype=np.float32)
    expected[:, 2, 2] = (np.log1p(25.0), 3.0 / 2.0)
    expected[:, 0, 4] = (np.log1p(0.5), 10.0 / 2.0)
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


def test_transform_of_an_empty_crop_is_zero() -> None:
    assert not InputTransform().__call__(_empty(3)).any()


def test_crop_is_centred_so_mirroring_about_the_seed_is_exact() -> None:
    """Mirroring the 32 x 32 crop about the seed (index 16) equals flipping the transformed crop."""
    rng = np.random.default_rng(0)
    x = rng.exponential(0.05, size=(4, *IMAGE_SHAPE)).astype(np.float32)
    mirrored_phi, mirrored_eta = _empty(4), _empty(4)
    mirrored_phi[:, :, 1:] = x[:, :, :0:-1]  # column j <- column 32 - j
    mirrored_eta[:, 1:] = x[:, :0:-1]
    transform = InputTransform(crop_half_width=15)
    torch.testing.assert_close(transform(mirrored_phi), transform(x).flip(3), rtol=0, atol=0)
    torch.testing.assert_close(transform(mirrored_eta), transform(x).flip(2), rtol=0, atol=0)


def test_transform_round_trips_through_json(tmp_path: Path) -> None:
    transform = InputTransform(crop_half_width=11, time_clip_ns=20.0, time_scale_ns=4.0)
    transform.to_json(tmp_path / "t.json")
    assert InputTransform.from_json(tmp_path / "t.json") == transform
    assert json.loads((tmp_path / "t.json").read_text())["crop_half_width"] == 11


def test_transform_json_errors_are_one_line_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.json: no such file"):
        InputTransform.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"crop_half_width": 7}')
    with pytest.raises(InputError, match=r"bad\.json: expected the keys \['crop_half_width', 'time_clip_ns'"):
        InputTransform.from_json(tmp_path / "bad.json")


@pytest.mark.parametrize("half_width", [0, 16])
def test_transform_rejects_crops_that_do_not_fit_around_the_seed(half_width: int) -> None:
    with pytest.raises(ValueError, match="crop_half_width must be in"):
        InputTransform(crop_half_width=half_width)


def _budget(passes: float, *, evaluations: int, patience: int | None = None) -> TrainingBudget:
    """A plan of exactly ``passes`` passes over the training images, whatever the sample size."""
    return TrainingBudget(epochs=passes, min_images=1, max_images=10**9, evaluations=evaluations, patience=patience)


def test_training_learns_the_i_phi_spread_of_a_toy_problem() -> None:
    x, y = _toy_problem(150, seed=1)
    x_val, y_val = _toy_problem(100, seed=11)
    config = dataclasses.replace(TINY, budget=_budget(8, evaluations=4))
    model, history = train_cnn(TINY.transform(x), y, TINY.transform(x_val), y_val, config=config, seed=0)
    train_loss, validation_loss = history.curves["train"]["logloss"], history.curves["validation"]["logloss"]
    assert train_loss[-1] < 0.75 * train_loss[0]
    assert validation_loss[-1] < validation_loss[0]
    assert max(history.curves["validation"]["auc"]) > 0.95
    # 8 x 300 images in batches of 32 are 75 steps, validated 4 times; the best evaluation is kept.
    assert history.x.tolist() == [19, 38, 57, 75] and history.x_label == "optimizer step"
    assert history.best == 1 + int(np.argmax(history.curves["validation"]["auc"]))
    assert set(history.curves["train"]) == {"logloss", "accuracy"}
    p = predict_proba(model, TINY.transform(x_val))
    assert p.shape == (200,) and ((p >= 0) & (p <= 1)).all()


def test_training_with_a_seed_is_deterministic_on_the_cpu() -> None:
    x, y = _toy_problem(60, seed=2)
    inputs = TINY.transform(x).to(torch.float16)
    config = dataclasses.replace(TINY, budget=_budget(2, evaluations=2))

    def weights(seed: int) -> list[torch.Tensor]:
        model, _ = train_cnn(inputs, y, inputs, y, config=config, seed=seed, device="cpu")
        return list(model.state_dict().values())

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_early_stopping_stops_after_patience_evaluations_and_restores_the_best(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = _toy_problem(40, seed=4)
    inputs = TINY.transform(x)

    def train(aucs: list[float], patience: int | None) -> tuple[torch.nn.Module, TrainingHistory]:
        values = iter(aucs)
        monkeypatch.setattr(cnn, "roc_auc_score", lambda *_: next(values))
        config = dataclasses.replace(TINY, budget=_budget(5, evaluations=5, patience=patience))
        return train_cnn(inputs, y, inputs, y, config=config, seed=1)

    falling = [0.9, 0.8, 0.7, 0.6, 0.5]
    whole_plan, whole_history = train(falling, None)
    stopped, history = train(falling, 2)
    rising, _ = train(falling[::-1], None)
    assert whole_history.steps == 5 and whole_history.best == 1  # no patience: every step, best kept
    assert history.curves["validation"]["auc"] == (0.9, 0.8, 0.7) and history.best == 1
    assert history.x.tolist() == [3, 6, 8]  # 5 x 80 images in batches of 32: 13 steps, 5 checks planned
    assert _same_weights(stopped, whole_plan)  # both restored the first evaluation's network
    assert not _same_weights(stopped, rising)  # which is not the network of the last step


def test_fine_tuning_starts_from_the_given_weights_and_never_returns_worse_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = _toy_problem(40, seed=5)
    inputs = TINY.transform(x)
    start = EgammaCNN.from_config(TINY)
    torch.nn.init.normal_(start.head[0].weight)  # weights no seed would draw
    initial = copy.deepcopy(start.state_dict())
    values = iter([0.9, 0.8, 0.7])
    monkeypatch.setattr(cnn, "roc_auc_score", lambda *_: next(values))
    config = dataclasses.replace(TINY, budget=_budget(2, evaluations=2))
    model, history = train_cnn(inputs, y, inputs, y, config=config, seed=0, initial_state=initial)
    assert history.x.tolist() == [0, 3, 5] and history.best == 1  # validated before the first step, and kept
    assert np.isnan(history.curves["train"]["logloss"][0])  # no training yet at step 0
    assert _same_weights(model, start)


@pytest.mark.parametrize(
    ("n_train", "images"),
    [(1_000, 400_000), (60_000, 720_000), (100_000, 1_000_000), (10**6, 1_000_000)],
)
def test_the_default_budget_adapts_to_the_sample_and_is_clipped(n_train: int, images: int) -> None:
    assert SCRATCH_BUDGET.planned_images(n_train) == images
    assert SCRATCH_BUDGET.planned_steps(n_train, 256) == -(-images // 256)


def test_an_epoch_cap_limits_the_plan_and_evaluations_end_on_the_last_step() -> None:
    capped = TrainingBudget(epochs=12, min_images=400_000, max_images=10**6, max_epochs=3)
    assert capped.planned_images(1_000) == 3_000 and capped.planned_images(10**6) == 10**6
    assert TrainingBudget(evaluations=4).evaluation_steps(10) == [3, 5, 8, 10]
    assert TrainingBudget(evaluations=20).evaluation_steps(3) == [1, 2, 3]


@pytest.mark.parametrize(
    "settings",
    [{"epochs": 0}, {"min_images": 10, "max_images": 5}, {"max_epochs": 0}, {"patience": 0}, {"warmup": 1.0}],
)
def test_budget_rejects_impossible_settings(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="TrainingBudget: expected"):
        TrainingBudget(**settings)


def test_training_refuses_a_validation_set_of_one_class() -> None:
    x, y = _toy_problem(10, seed=3)
    inputs = TINY.transform(x)
    with pytest.raises(ValueError, match="validation labels must hold all 2 classes"):
        train_cnn(inputs, y, inputs[:10], y[:10], config=TINY, seed=0)


def test_config_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="validation_events"):
        CNNConfig(validation_events=1)
    with pytest.raises(ValueError, match="channels"):
        CNNConfig(channels=(8, 0, 8))


def test_toy_crops_put_the_electron_deposit_along_i_phi() -> None:
    """Guards the toy problem above: the signal sits in i-phi, inside the TINY crop."""
    x = toy_crops(20, label=1.0, seed=0)
    off_seed = x[:, SEED_IETA, SEED_IPHI + 2 : SEED_IPHI + 6, ENERGY].sum(axis=1)
    assert (off_seed > 0).all() and (x[..., TIME][x[..., ENERGY] == 0] == 0).all()


def test_a_gpu_trains_on_larger_batches_at_a_higher_rate_and_the_cpu_as_configured() -> None:
    """The device rule alone (no GPU here): batches GPU_BATCH_FACTOR times larger, peak rate times its root."""
    config = CNNConfig(batch_size=64, learning_rate=1e-3)
    assert cnn._device_batch(config, torch.device("cpu")) == (64, 1e-3)
    batch, rate = cnn._device_batch(config, torch.device("cuda"))
    assert batch == 64 * cnn.GPU_BATCH_FACTOR
    assert rate == pytest.approx(1e-3 * cnn.GPU_BATCH_FACTOR**0.5)


def _three_class_toy(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Toy electrons (extra deposit along i-phi), photons, and a third class with the deposit along i-eta (the
    electron crops transposed), labelled 1, 0 and 2."""
    x, y = _toy_problem(n_per_class, seed)
    third = toy_crops(n_per_class, label=1.0, seed=seed + 2).transpose(0, 2, 1, 3)
    return np.concatenate([x, third]), np.r_[y, np.full(n_per_class, 2.0)].astype(np.float32)


THREE = dataclasses.replace(TINY, n_classes=3)


def test_a_three_class_network_gives_one_logit_per_class_and_probabilities_summing_to_one() -> None:
    torch.manual_seed(0)
    model = EgammaCNN.from_config(THREE)
    x, _ = _three_class_toy(5, seed=4)
    inputs = THREE.transform(x)
    assert model(inputs).shape == (15, 3)
    p = predict_proba(model, inputs)
    assert p.shape == (15, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(p.argmax(axis=1), model.decisions(model.eval()(inputs)).numpy())


def test_three_class_training_learns_the_toy_problem_and_selects_on_the_macro_auc() -> None:
    x, y = _three_class_toy(120, seed=5)
    x_val, y_val = _three_class_toy(80, seed=15)
    config = dataclasses.replace(THREE, budget=_budget(10, evaluations=4))
    model, history = train_cnn(THREE.transform(x), y, THREE.transform(x_val), y_val, config=config, seed=0)
    p = predict_proba(model, THREE.transform(x_val))
    assert np.mean(p.argmax(axis=1) == y_val) > 0.85
    aucs = history.curves["validation"]["auc"]
    assert history.best == 1 + int(np.argmax(aucs)) and max(aucs) > 0.95
    train_loss = history.curves["train"]["logloss"]
    assert train_loss[-1] < 0.6 * train_loss[0]


def test_three_class_weights_make_every_class_weigh_the_same() -> None:
    labels = np.r_[np.zeros(10), np.ones(30), np.full(60, 2.0)]
    targets, weights = cnn._training_targets(labels, 3)
    assert targets.dtype == torch.int64 and targets.tolist() == labels.astype(int).tolist()
    assert weights is not None
    np.testing.assert_allclose(weights.numpy() * np.array([10, 30, 60]), 100 / 3, rtol=1e-6)
    assert cnn._training_targets(labels[:40], 2)[1] is None  # binary training is unweighted, as before
    with pytest.raises(ValueError, match="each of the 3 classes"):
        cnn._training_targets(labels[10:], 3)


def test_three_class_training_refuses_a_validation_set_without_every_class() -> None:
    x, y = _three_class_toy(10, seed=6)
    inputs = THREE.transform(x)
    with pytest.raises(ValueError, match="validation labels must hold all 3 classes"):
        train_cnn(inputs, y, inputs[:20], y[:20], config=THREE, seed=0)


def test_settings_written_before_n_classes_existed_read_as_binary() -> None:
    fields = TINY.to_dict()
    assert fields.pop("n_classes") == 2
    assert CNNConfig.from_dict(fields, TINY.transform) == TINY
    assert CNNConfig.from_dict(THREE.to_dict(), THREE.transform) == THREE
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        CNNConfig(n_classes=1)


def test_predict_proba_reads_the_output_shape_of_any_network() -> None:
    torch.manual_seed(1)
    inputs = torch.randn(70, 2, 3, 3)
    one_logit = nn.Sequential(nn.Flatten(), nn.Linear(18, 1), nn.Flatten(0))
    three_logits = nn.Sequential(nn.Flatten(), nn.Linear(18, 3))
    with torch.no_grad():
        np.testing.assert_allclose(
            predict_proba(one_logit, inputs), torch.sigmoid(one_logit(inputs)).numpy(), rtol=1e-6
        )
        expected = torch.softmax(three_logits(inputs), dim=1).numpy()
    np.testing.assert_allclose(predict_proba(three_logits, inputs, batch_size=32), expected, rtol=1e-6)
    assert predict_proba(one_logit, inputs[:0]).shape == (0,)
