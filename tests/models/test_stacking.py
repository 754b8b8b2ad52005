"""Cross-fitting of the CNN: no score from a network that saw the image, exact save/load, ONNX parity."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import torch
from sklearn.metrics import roc_auc_score

import egid.models.cnn_ensemble as cnn_ensemble
import egid.models.stacking as stacking
from egid.detector import EventDataset, EventWriter, InputError, Split, load_dataset, stratified_folds, stratified_split
from egid.detector.schema import IMAGE_SHAPE
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform
from egid.models.cnn_budget import TrainingBudget
from egid.models.cnn_ensemble import CNNEnsemble
from egid.models.onnx_parity import ONNX_TOLERANCE
from egid.models.stacking import CrossFitResult, cross_fit_cnn
from tests.conftest import write_crops

CNN_TINY = CNNConfig(
    transform=InputTransform(crop_half_width=5),
    channels=(4, 8, 8),
    hidden=8,
    batch_size=32,
    budget=TrainingBudget(epochs=2, min_images=1, max_images=10**6, evaluations=2),
)
CNN_SEED = 5


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and idle-waiting threads crawl on a shared, loaded CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass(frozen=True)
class CrossFit:
    dataset: EventDataset
    split: Split
    result: CrossFitResult
    train_calls: list[dict[str, Any]]


@pytest.fixture(scope="module")
def cnn_cross_fit(tmp_path_factory: pytest.TempPathFactory) -> CrossFit:
    """A 3-fold cross-fit on 300 toy crops, with every call of ``train_cnn`` recorded."""
    directory = tmp_path_factory.mktemp("cnn_data")
    dataset = load_dataset(
        electrons=write_crops(directory / "electron.hdf5", 150, label=1.0, seed=21),
        photons=write_crops(directory / "photon.hdf5", 150, label=0.0, seed=22),
    )
    split = stratified_split(dataset.labels, seed=CNN_SEED)
    calls: list[dict[str, Any]] = []
    original = stacking.train_cnn

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append({"args": args, "kwargs": kwargs})
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stacking, "train_cnn", spy)
        torch.set_num_threads(1)
        result = cross_fit_cnn(dataset, split, n_folds=3, config=CNN_TINY, seed=CNN_SEED, threads=1, progress=False)
    return CrossFit(dataset, split, result, calls)


def test_no_image_is_scored_by_a_network_that_trained_on_it(cnn_cross_fit: CrossFit) -> None:
    split, result = cnn_cross_fit.split, cnn_cross_fit.result
    held_out = np.union1d(split.validation, split.test)
    folds = stratified_folds(cnn_cross_fit.dataset.labels[split.train], n_folds=3, seed=CNN_SEED)
    for k in range(3):
        assert np.intersect1d(result.trained_on[k], result.oof_scored[k]).size == 0
        assert np.intersect1d(result.trained_on[k], held_out).size == 0  # never trains on validation or test
        np.testing.assert_array_equal(np.sort(result.trained_on[k]), split.train[folds != k])
        np.testing.assert_array_equal(np.sort(result.oof_scored[k]), split.train[folds == k])
    np.testing.assert_array_equal(np.sort(np.concatenate(result.oof_scored)), split.train)
    np.testing.assert_array_equal(result.folds[split.train], folds)
    assert (result.folds[held_out] == -1).all()
    assert np.isfinite(result.scores).all() and result.scores.shape == (len(cnn_cross_fit.dataset),)


def test_each_network_received_exactly_the_images_recorded_for_it(cnn_cross_fit: CrossFit) -> None:
    """The recorded indices are what training saw: the tensors passed to train_cnn are those images."""
    dataset, split, result = cnn_cross_fit.dataset, cnn_cross_fit.split, cnn_cross_fit.result
    assert len(cnn_cross_fit.train_calls) == 3
    for k, call in enumerate(cnn_cross_fit.train_calls):
        train_inputs, train_labels, validation_inputs, validation_labels = call["args"]
        expected = CNN_TINY.transform(dataset.read_images(result.trained_on[k])).to(torch.float16)
        torch.testing.assert_close(train_inputs, expected, rtol=0, atol=0)
        np.testing.assert_array_equal(train_labels, dataset.labels[result.trained_on[k]])
        expected_val = CNN_TINY.transform(dataset.read_images(split.validation)).to(torch.float16)
        torch.testing.assert_close(validation_inputs, expected_val, rtol=0, atol=0)
        np.testing.assert_array_equal(validation_labels, dataset.labels[split.validation])


def test_held_out_scores_are_the_mean_of_the_fold_networks(cnn_cross_fit: CrossFit) -> None:
    dataset, split, result = cnn_cross_fit.dataset, cnn_cross_fit.split, cnn_cross_fit.result
    members = result.ensemble.member_scores(dataset.read_images(split.test))
    np.testing.assert_allclose(result.scores[split.test], members.mean(axis=0), rtol=0, atol=1e-7)
    assert len(result.histories) == 3 and all(h.steps == 2 for h in result.histories)
    assert set(result.seconds) == {"prepare", "train", "score"}


def test_saved_ensemble_reproduces_the_training_time_scores_exactly(cnn_cross_fit: CrossFit, tmp_path: Path) -> None:
    dataset, split, result = cnn_cross_fit.dataset, cnn_cross_fit.split, cnn_cross_fit.result
    written = result.ensemble.save(tmp_path / "model")
    names = sorted(p.name for p in written)
    folds = [f"cnn_fold{k}.{ext}" for k in range(3) for ext in ("onnx", "pt")]
    expected = ["cnn_config.json", "cnn_transform.json", *folds]
    assert names == sorted(expected)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == names  # no temporary files left behind
    loaded = CNNEnsemble.load(tmp_path / "model", device="cpu")
    assert loaded.config == CNN_TINY
    for part in (split.validation, split.test):
        np.testing.assert_array_equal(loaded.score(dataset.read_images(part)), result.scores[part])


def test_onnx_graphs_score_raw_crops_like_torch(cnn_cross_fit: CrossFit, tmp_path: Path) -> None:
    dataset, split, result = cnn_cross_fit.dataset, cnn_cross_fit.split, cnn_cross_fit.result
    result.ensemble.save(tmp_path)
    images = dataset.read_images(split.test)
    members = []
    for k in range(3):
        session = onnxruntime.InferenceSession(str(tmp_path / f"cnn_fold{k}.onnx"), providers=["CPUExecutionProvider"])
        members.append(session.run(["probability"], {"images": images})[0])
    onnx_scores = np.mean(members, axis=0)
    np.testing.assert_allclose(onnx_scores, result.scores[split.test], rtol=0, atol=ONNX_TOLERANCE)


def test_onnx_file_is_skipped_with_a_warning_when_parity_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ensemble = CNNEnsemble([EgammaCNN.from_config(CNN_TINY)], CNN_TINY, device="cpu")
    (tmp_path / "cnn_fold0.onnx").write_bytes(b"an older export")
    monkeypatch.setattr(cnn_ensemble, "ONNX_TOLERANCE", -1.0)  # no difference is small enough
    with caplog.at_level(logging.WARNING, logger="egid.models.stacking"):
        written = ensemble.save(tmp_path)
    assert "cnn_fold0.onnx: not written, onnxruntime differs from torch" in caplog.text
    assert sorted(p.name for p in written) == ["cnn_config.json", "cnn_fold0.pt", "cnn_transform.json"]
    assert not (tmp_path / "cnn_fold0.onnx").exists()


def test_saving_fewer_folds_removes_the_old_fold_files(tmp_path: Path) -> None:
    models = [EgammaCNN.from_config(CNN_TINY) for _ in range(3)]
    CNNEnsemble(models, CNN_TINY, device="cpu").save(tmp_path)
    CNNEnsemble(models[:2], CNN_TINY, device="cpu").save(tmp_path)
    assert not list(tmp_path.glob("cnn_fold2*"))
    assert len(CNNEnsemble.load(tmp_path)) == 2


def test_loading_a_directory_without_a_model_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cnn_config\.json: no such file; is .* a model directory\?"):
        CNNEnsemble.load(tmp_path)
    (tmp_path / "cnn_config.json").write_text("{not json")
    with pytest.raises(InputError, match=r"cnn_config\.json: not a CNN configuration"):
        CNNEnsemble.load(tmp_path)


def test_scoring_rejects_crops_of_the_wrong_shape() -> None:
    ensemble = CNNEnsemble([EgammaCNN.from_config(CNN_TINY)], CNN_TINY, device="cpu")
    with pytest.raises(ValueError, match=r"expected crops of shape \(n, 32, 32, 2\), got \(4, 32, 32\)"):
        ensemble.score(np.zeros((4, 32, 32), dtype=np.float32))


def test_cross_fitting_with_a_seed_is_deterministic(cnn_cross_fit: CrossFit) -> None:
    again = cross_fit_cnn(
        cnn_cross_fit.dataset,
        cnn_cross_fit.split,
        n_folds=3,
        config=CNN_TINY,
        seed=CNN_SEED,
        threads=1,
        progress=False,
    )
    np.testing.assert_array_equal(again.scores, cnn_cross_fit.result.scores)


@pytest.mark.slow
def test_a_network_that_memorises_noise_labels_scores_at_chance_out_of_fold(tmp_path: Path) -> None:
    """Behavioural leakage check: pure-noise labels are memorised in-fold yet give AUC ~ 0.5 out of fold."""
    rng = np.random.default_rng(0)
    n = 400
    energy = rng.exponential(0.02, size=(n, *IMAGE_SHAPE[:2])) * (rng.random((n, *IMAGE_SHAPE[:2])) < 0.5)
    images = np.stack((energy, np.zeros_like(energy)), axis=-1).astype(np.float32)
    labels = rng.permutation(np.r_[np.ones(n // 2), np.zeros(n // 2)]).astype(np.float32)
    with EventWriter(tmp_path / "noise.hdf5") as writer:
        writer.append(images, labels)
    dataset = load_dataset(data=tmp_path / "noise.hdf5")
    split = stratified_split(dataset.labels, seed=0, validation=0.1, test=0.1)
    memoriser = CNNConfig(
        transform=InputTransform(crop_half_width=5),
        channels=(8, 16, 16),
        hidden=64,
        batch_size=32,
        learning_rate=3e-3,
        weight_decay=0.0,
        budget=TrainingBudget(epochs=25, min_images=1, max_images=10**6, evaluations=1),  # keeps the last network
        augment=False,
    )
    result = cross_fit_cnn(dataset, split, n_folds=2, config=memoriser, seed=0, threads=1, progress=False)
    for k, model_inputs in enumerate(result.trained_on):
        in_fold = result.ensemble.member_scores(dataset.read_images(model_inputs))[k]
        assert roc_auc_score(dataset.labels[model_inputs], in_fold) > 0.95  # it did memorise its images
    oof = roc_auc_score(dataset.labels[split.train], result.scores[split.train])
    assert abs(oof - 0.5) < 0.12, f"out-of-fold AUC {oof:.3f} on noise labels: scores leak the training labels"


@pytest.fixture(scope="module")
def three_class_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventDataset, Split]:
    directory = tmp_path_factory.mktemp("cnn_three")
    dataset = load_dataset(
        electrons=write_crops(directory / "electron.hdf5", 90, label=1.0, seed=41),
        photons=write_crops(directory / "photon.hdf5", 90, label=0.0, seed=42),
        pions=write_crops(directory / "pion.hdf5", 90, label=2.0, seed=43),
    )
    return dataset, stratified_split(dataset.labels, seed=CNN_SEED)


def test_three_class_cross_fitting_scores_class_probabilities_out_of_fold(
    three_class_data: tuple[EventDataset, Split],
) -> None:
    dataset, split = three_class_data
    config = dataclasses.replace(CNN_TINY, n_classes=3)
    result = cross_fit_cnn(dataset, split, n_folds=2, config=config, seed=CNN_SEED, threads=1, progress=False)
    assert result.scores.shape == (len(dataset), 3)
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, rtol=1e-5)
    for k, model in enumerate(result.ensemble.models):
        mine = split.train[result.folds[split.train] == k]
        assert not np.isin(mine, result.trained_on[k]).any()
        own = CNNEnsemble([model], config, device="cpu").score(dataset.read_images(mine))
        np.testing.assert_array_equal(result.scores[mine], own)
    held_out = result.ensemble.score(dataset.read_images(split.test))
    np.testing.assert_allclose(result.scores[split.test], held_out, atol=1e-7)


def test_a_binary_network_is_refused_three_class_labels_and_the_other_way_round(
    three_class_data: tuple[EventDataset, Split], cnn_cross_fit: CrossFit
) -> None:
    dataset, split = three_class_data
    with pytest.raises(ValueError, match="a CNN of 2 classes cannot learn labels"):
        cross_fit_cnn(dataset, split, n_folds=2, config=CNN_TINY, seed=0, threads=1, progress=False)
    three = dataclasses.replace(CNN_TINY, n_classes=3)
    with pytest.raises(ValueError, match="a CNN of 3 classes cannot learn labels"):
        cross_fit_cnn(cnn_cross_fit.dataset, cnn_cross_fit.split, config=three, seed=0, threads=1, progress=False)
