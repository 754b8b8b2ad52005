"""Tests for egid.models.cnn_ensemble: the fold mean, the save/load round trip and one-line errors on bad files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from egid.detector.errors import InputError
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform
from egid.models.cnn_ensemble import CONFIG_FILE, TRANSFORM_FILE, CNNEnsemble
from tests.conftest import toy_crops

TINY = CNNConfig(
    transform=InputTransform(crop_half_width=4), channels=(2, 4, 4), hidden=4, batch_size=8, inference_batch_size=7
)


def _network(seed: int) -> EgammaCNN:
    torch.manual_seed(seed)
    model = EgammaCNN.from_config(TINY)
    # Untrained networks score every crop near 0.5; larger output weights spread the members apart.
    with torch.no_grad():
        model.head[-1].weight.mul_(20.0)
    return model.eval()


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.concatenate([toy_crops(12, label=1.0, seed=3), toy_crops(11, label=0.0, seed=4)])


@pytest.fixture(scope="module")
def ensemble() -> CNNEnsemble:
    return CNNEnsemble([_network(0), _network(1), _network(2)], TINY, device="cpu")


def _by_hand(model: EgammaCNN, transform: InputTransform, crops: np.ndarray) -> np.ndarray:
    """One network's electron probability, event by event."""
    out = []
    with torch.no_grad():
        for crop in crops:
            out.append(float(torch.sigmoid(model.cpu().eval()(transform(crop[None])))[0]))
    return np.array(out)


def test_member_scores_are_each_networks_probability(ensemble: CNNEnsemble, crops: np.ndarray) -> None:
    members = ensemble.member_scores(crops)
    assert members.shape == (3, len(crops))
    assert members.dtype == np.float32
    for k, model in enumerate(ensemble.models):
        np.testing.assert_allclose(members[k], _by_hand(model, TINY.transform, crops), atol=1e-5)
    # The members differ, so the mean is a real average and not any one of them.
    assert np.max(np.abs(members[0] - members[1])) > 1e-3


def test_score_is_the_mean_of_the_members(ensemble: CNNEnsemble, crops: np.ndarray) -> None:
    expected = np.mean([_by_hand(m, TINY.transform, crops) for m in ensemble.models], axis=0)
    score = ensemble.score(crops)
    assert score.shape == (len(crops),)
    assert score.dtype == np.float32
    np.testing.assert_allclose(score, expected, atol=1e-5)
    assert np.all((score > 0) & (score < 1))


def test_scores_do_not_depend_on_the_batching(ensemble: CNNEnsemble, crops: np.ndarray) -> None:
    # inference_batch_size 7 splits 23 crops as 7 + 7 + 7 + 2; one crop at a time must agree.
    one_by_one = np.concatenate([ensemble.score(crops[i : i + 1]) for i in range(len(crops))])
    np.testing.assert_allclose(ensemble.score(crops), one_by_one, atol=1e-6)


def test_single_member_ensemble_scores_like_its_network(crops: np.ndarray) -> None:
    model = _network(5)
    solo = CNNEnsemble([model], TINY, device="cpu")
    assert len(solo) == 1
    np.testing.assert_allclose(solo.score(crops), _by_hand(model, TINY.transform, crops), atol=1e-5)


def test_transform_is_the_configs(ensemble: CNNEnsemble) -> None:
    assert ensemble.transform is TINY.transform
    assert len(ensemble) == 3


def test_no_member_is_refused() -> None:
    with pytest.raises(ValueError, match="a CNNEnsemble needs at least one model"):
        CNNEnsemble([], TINY, device="cpu")


def test_crops_of_the_wrong_shape_are_refused(ensemble: CNNEnsemble) -> None:
    with pytest.raises(ValueError, match=r"expected crops of shape \(n, 32, 32, 2\), got \(4, 32, 32\)"):
        ensemble.score(np.zeros((4, 32, 32), np.float32))


def test_save_then_load_scores_the_same(ensemble: CNNEnsemble, crops: np.ndarray, tmp_path: Path) -> None:
    written = ensemble.save(tmp_path / "model", probe_images=crops)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [CONFIG_FILE, TRANSFORM_FILE] + [f"cnn_fold{k}.{ext}" for k in range(3) for ext in ("pt", "onnx")]
    )
    assert all(p.is_file() for p in written)
    loaded = CNNEnsemble.load(tmp_path / "model", device="cpu")
    assert len(loaded) == 3
    assert loaded.config == TINY
    np.testing.assert_array_equal(loaded.member_scores(crops), ensemble.member_scores(crops))
    settings = json.loads((tmp_path / "model" / CONFIG_FILE).read_text())
    assert settings["n_folds"] == 3
    assert settings["config"]["channels"] == [2, 4, 4]


def test_saved_onnx_graph_scores_raw_crops_like_torch(ensemble: CNNEnsemble, crops: np.ndarray, tmp_path: Path) -> None:
    ensemble.save(tmp_path, probe_images=crops)
    session = onnxruntime.InferenceSession(str(tmp_path / "cnn_fold1.onnx"), providers=["CPUExecutionProvider"])
    (probability,) = session.run(None, {"images": crops.astype(np.float32)})
    np.testing.assert_allclose(probability, ensemble.member_scores(crops)[1], atol=1e-5)


def test_save_removes_the_folds_of_a_larger_earlier_ensemble(
    ensemble: CNNEnsemble, crops: np.ndarray, tmp_path: Path
) -> None:
    ensemble.save(tmp_path, probe_images=crops[:4])
    CNNEnsemble([_network(7)], TINY, device="cpu").save(tmp_path, probe_images=crops[:4])
    assert sorted(p.name for p in tmp_path.glob("cnn_fold*")) == ["cnn_fold0.onnx", "cnn_fold0.pt"]
    assert len(CNNEnsemble.load(tmp_path, device="cpu")) == 1


@pytest.fixture
def saved(ensemble: CNNEnsemble, crops: np.ndarray, tmp_path: Path) -> Path:
    ensemble.save(tmp_path, probe_images=crops[:4])
    return tmp_path


def _one_line(err: pytest.ExceptionInfo[InputError]) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_a_directory_without_a_configuration_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(tmp_path)
    assert _one_line(err) == f"{tmp_path / CONFIG_FILE}: no such file; is {tmp_path} a model directory?"


def test_a_damaged_configuration_is_one_line(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text('{"n_folds": 3, "config": ')
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(saved)
    assert _one_line(err).startswith(f"{saved / CONFIG_FILE}: not a CNN configuration (JSONDecodeError: ")


def test_a_configuration_without_its_settings_is_one_line(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text('{"n_folds": 3}')
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(saved)
    assert _one_line(err) == f"{saved / CONFIG_FILE}: not a CNN configuration (KeyError: 'config')"


def test_a_missing_fold_is_one_line(saved: Path) -> None:
    (saved / "cnn_fold2.pt").unlink()
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(saved)
    assert _one_line(err) == f"{saved / 'cnn_fold2.pt'}: no such file; the ensemble has 3 folds"


def test_damaged_weights_are_one_line(saved: Path) -> None:
    weights = saved / "cnn_fold1.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(saved)
    assert _one_line(err).startswith(f"{weights}: unreadable CNN weights (torch state dict) (")


def test_weights_of_another_architecture_are_one_line(saved: Path) -> None:
    torch.save(EgammaCNN(crop_size=9, channels=(3, 3, 3), hidden=3).state_dict(), saved / "cnn_fold0.pt")
    with pytest.raises(InputError) as err:
        CNNEnsemble.load(saved)
    assert _one_line(err).startswith(f"{saved / 'cnn_fold0.pt'}: unreadable CNN weights (torch state dict) (")


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_bad_transform_file_is_named_as_such(
    ensemble: CNNEnsemble, crops: np.ndarray, tmp_path: Path, damage: str
) -> None:
    ensemble.save(tmp_path, probe_images=crops)
    transform = tmp_path / TRANSFORM_FILE
    if damage == "missing":
        transform.unlink()
    else:
        transform.write_text("{not json")
    with pytest.raises(InputError) as caught:
        CNNEnsemble.load(tmp_path)
    assert str(caught.value).startswith(str(transform)), str(caught.value)


def test_a_three_class_ensemble_scores_saves_and_exports_class_probabilities(crops: np.ndarray, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, n_classes=3)
    networks = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        networks.append(EgammaCNN.from_config(config).eval())
    three = CNNEnsemble(networks, config, device="cpu")
    members = three.member_scores(crops)
    assert members.shape == (2, len(crops), 3) and three.n_classes == 3
    np.testing.assert_allclose(members.sum(axis=2), 1.0, rtol=1e-6)
    np.testing.assert_allclose(three.score(crops), members.mean(axis=0), rtol=1e-6)
    three.save(tmp_path, probe_images=crops)
    loaded = CNNEnsemble.load(tmp_path, device="cpu")
    assert loaded.config == config
    np.testing.assert_array_equal(loaded.score(crops), three.score(crops))
    session = onnxruntime.InferenceSession(str(tmp_path / "cnn_fold1.onnx"), providers=["CPUExecutionProvider"])
    (probability,) = session.run(None, {"images": crops.astype(np.float32)})
    np.testing.assert_allclose(probability, members[1], atol=1e-5)
