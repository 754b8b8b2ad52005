"""Cross-fitting of the CNN head: an out-of-fold ``cnn_score`` for every event, and the saved fold ensemble.

The boosted trees take the CNN's score as one more feature column, ``cnn_score``. A tree must never see a
score produced by a network that trained on the same image, or it would learn to trust a memorised score.
:func:`cross_fit_cnn` therefore splits the training part of the dataset into K folds with
:func:`egid.detector.stratified_folds` (the same call, labels and seed give the trees the same folds):

* fold model k trains on the training events outside fold k, and uses the validation split only to choose
  its epoch (early stopping); it never trains on validation or test events;
* a training event in fold k gets the score of model k (out of fold);
* every other event (validation, test, or any event outside the split) gets the mean of the K models'
  scores, which is exactly what :meth:`CNNEnsemble.score` computes on a new file.

The ensemble is saved as one PyTorch ``state_dict`` (``cnn_fold{k}.pt``) and one ONNX graph
(``cnn_fold{k}.onnx``, raw crops in file units -> electron probability, transform included) per fold, plus the
input transform (``cnn_transform.json``) and the architecture/training settings (``cnn_config.json``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from tqdm import tqdm

from egid.detector.atomic import atomic_path
from egid.detector.dataset import EventDataset, require_both_classes
from egid.detector.errors import InputError
from egid.detector.schema import IMAGE_SHAPE, FloatArray, Images, IndexArray
from egid.detector.split import Split, stratified_folds
from egid.models.artifacts import reading
from egid.models.cnn import (
    CNNConfig,
    EgammaCNN,
    InputTransform,
    configure_threads,
    predict_proba,
    resolve_device,
    train_cnn,
)
from egid.models.cnn_budget import DEFAULT_FOLDS
from egid.models.history import TrainingHistory
from egid.models.onnx_parity import ONNX_TOLERANCE

__all__ = ("CNN_FILES", "DEFAULT_FOLDS", "CNNEnsemble", "CrossFitResult", "cross_fit_cnn")

logger = logging.getLogger(__name__)


CONFIG_FILE = "cnn_config.json"
TRANSFORM_FILE = "cnn_transform.json"
CNN_FILES = (CONFIG_FILE, TRANSFORM_FILE, "cnn_fold{k}.pt", "cnn_fold{k}.onnx")
"""The files :meth:`CNNEnsemble.save` writes into a model directory (``{k}`` = 0 .. K-1)."""

ONNX_OPSET = 17
_PREPARE_CHUNK = 8192


class CNNEnsemble:
    """The K fold networks and their input transform; scores crops in file units.

    Parameters
    ----------
    models : sequence of EgammaCNN
        The fold networks, fold 0 first.
    config : CNNConfig
        The settings they were built and trained with (its ``transform`` is applied to every input).
    device : str or torch.device, optional
        Where to run; None picks a GPU when present.
    """

    def __init__(
        self, models: Sequence[EgammaCNN], config: CNNConfig, *, device: str | torch.device | None = None
    ) -> None:
        if not models:
            msg = "a CNNEnsemble needs at least one model"
            raise ValueError(msg)
        self.device = resolve_device(device)
        self.models = [m.to(self.device).eval() for m in models]
        self.config = config

    @property
    def transform(self) -> InputTransform:
        """The input transform shared by every fold network."""
        return self.config.transform

    def __len__(self) -> int:
        return len(self.models)

    def member_scores(self, images: Images) -> npt.NDArray[np.float32]:
        """Electron probability of each fold network, shape (K, n), float32, for crops (n, 32, 32, 2)."""
        x = _check_crops(images)
        out = np.empty((len(self.models), len(x)), dtype=np.float32)
        step = self.config.inference_batch_size
        for start in range(0, len(x), step):
            inputs = self.transform(x[start : start + step])
            for k, model in enumerate(self.models):
                out[k, start : start + len(inputs)] = predict_proba(model, inputs, batch_size=step, device=self.device)
        return out

    def score(self, images: Images) -> npt.NDArray[np.float32]:
        """``cnn_score``: the mean electron probability of the fold networks, shape (n,), float32."""
        mean: npt.NDArray[np.float32] = self.member_scores(images).mean(axis=0, dtype=np.float32)
        return mean

    def save(self, model_dir: str | os.PathLike[str], *, probe_images: Images | None = None) -> list[Path]:
        """Write the ensemble into ``model_dir`` (created if needed), each file atomically; return the paths.

        Writes ``cnn_config.json``, ``cnn_transform.json``, ``cnn_fold{k}.pt`` and ``cnn_fold{k}.onnx``. Each
        ONNX graph takes crops ``images`` (n, 32, 32, 2) float32 in file units and returns ``probability``
        (n,); it is checked against torch with onnxruntime on ``probe_images`` (default: 256 synthetic
        crops) and skipped with a logged warning when they differ by more than :data:`ONNX_TOLERANCE`.
        Fold files of an earlier, larger ensemble in the same directory are removed.
        """
        directory = Path(model_dir)
        directory.mkdir(parents=True, exist_ok=True)
        probe = _synthetic_probe() if probe_images is None else _check_crops(probe_images)
        settings = {"n_folds": len(self.models), "config": self.config.to_dict()}
        written = [directory / CONFIG_FILE]
        with atomic_path(written[0]) as tmp:
            tmp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        written.append(directory / TRANSFORM_FILE)
        self.transform.to_json(written[-1])
        for k, model in enumerate(self.models):
            weights = directory / f"cnn_fold{k}.pt"
            with atomic_path(weights) as tmp:
                torch.save(model.state_dict(), tmp)
            written.append(weights)
            onnx_path = directory / f"cnn_fold{k}.onnx"
            if _export_onnx(model, self.transform, onnx_path, probe):
                written.append(onnx_path)
        for stale in set(directory.glob("cnn_fold*")) - set(written):
            stale.unlink()
        return written

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], *, device: str | torch.device | None = None) -> CNNEnsemble:
        """Read an ensemble written by :meth:`save`; missing or malformed files raise InputError."""
        directory = Path(model_dir)
        config_path = directory / CONFIG_FILE
        try:
            settings = json.loads(config_path.read_text())
            n_folds = int(settings["n_folds"])
            config = CNNConfig.from_dict(settings["config"], InputTransform.from_json(directory / TRANSFORM_FILE))
        except FileNotFoundError:
            msg = f"{config_path}: no such file; is {directory} a model directory?"
            raise InputError(msg) from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            msg = f"{config_path}: not a CNN configuration ({type(err).__name__}: {err})"
            raise InputError(msg) from None
        dev = resolve_device(device)
        models = []
        for k in range(n_folds):
            weights = directory / f"cnn_fold{k}.pt"
            if not weights.exists():
                msg = f"{weights}: no such file; the ensemble has {n_folds} folds"
                raise InputError(msg)
            model = EgammaCNN.from_config(config)
            with reading(weights, "CNN weights (torch state dict)"):
                model.load_state_dict(torch.load(weights, map_location=dev, weights_only=True))
            models.append(model)
        return cls(models, config, device=dev)


@dataclass(frozen=True)
class CrossFitResult:
    """What :func:`cross_fit_cnn` returns.

    Attributes
    ----------
    scores : ndarray of shape (n_events,), float32
        ``cnn_score`` of every dataset event: out of fold for training events, the fold-model mean otherwise.
    folds : ndarray of shape (n_events,), int64
        Fold of each training event, -1 for events outside the training split.
    trained_on : tuple of ndarray
        For each fold model, the dataset indices of the images it was trained on.
    oof_scored : tuple of ndarray
        For each fold model, the dataset indices it gave their final out-of-fold score.
    histories : tuple of TrainingHistory
        Per-fold training curves.
    ensemble : CNNEnsemble
        The fold models; ``ensemble.score`` reproduces ``scores`` of the non-training events.
    seconds : dict of str to float
        Wall time of the phases ``prepare``, ``train`` and ``score``.
    """

    scores: FloatArray
    folds: IndexArray
    trained_on: tuple[IndexArray, ...]
    oof_scored: tuple[IndexArray, ...]
    histories: tuple[TrainingHistory, ...]
    ensemble: CNNEnsemble
    seconds: dict[str, float]


def cross_fit_cnn(
    dataset: EventDataset,
    split: Split,
    *,
    n_folds: int = DEFAULT_FOLDS,
    config: CNNConfig | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    threads: int | None = None,
    initial_state: Mapping[str, torch.Tensor] | None = None,
    progress: bool = True,
) -> CrossFitResult:
    """Train K fold networks on the training split and score every event without leakage.

    Parameters
    ----------
    dataset : EventDataset
    split : Split
        Train/validation/test indices into ``dataset``.
    n_folds : int
        K; the folds are ``egid.detector.stratified_folds(dataset.labels[split.train], n_folds=K, seed=seed)``.
    config : CNNConfig, optional
        Network and training settings; the defaults when None.
    seed : int
        Seeds the folds and every network.
    device : str or torch.device, optional
        None picks a GPU when present; everything also runs on the CPU.
    threads : int, optional
        torch threads; None takes, before each fold, the cores other jobs leave idle
        (:func:`egid.models.cnn.configure_threads`).
    initial_state : mapping of str to tensor, optional
        Pretrained weights every fold network starts from (:mod:`egid.models.pretrained`; they must come from
        a network that never trained on this dataset's events); None: random weights.
    progress : bool
        Show progress bars.

    Returns
    -------
    CrossFitResult
    """
    config = config or CNNConfig()
    dev = resolve_device(device)
    labels = dataset.labels
    require_both_classes(labels[split.train], name="training split")
    require_both_classes(labels[split.validation], name="validation split")
    clock = time.perf_counter()
    train_folds = stratified_folds(labels[split.train], n_folds=n_folds, seed=seed)
    x_train = _transformed(dataset, split.train, config.transform, device=dev)
    x_val = _transformed(dataset, split.validation, config.transform, device=dev)
    seconds = {"prepare": time.perf_counter() - clock}
    logger.info(
        "CNN cross-fitting: %d folds, %d training and %d validation images, %s",
        n_folds,
        len(split.train),
        len(split.validation),
        dev,
    )

    clock = time.perf_counter()
    models, histories, trained_on = [], [], []
    for k in tqdm(range(n_folds), desc="CNN folds", disable=not progress):
        fold_threads = configure_threads(threads)  # None: the cores idle now, asked again for every fold
        keep = np.flatnonzero(train_folds != k)
        fold_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        model, history = train_cnn(
            x_train[torch.from_numpy(keep).to(x_train.device)],
            labels[split.train[keep]],
            x_val,
            labels[split.validation],
            config=config,
            seed=fold_seed,
            device=dev,
            initial_state=initial_state,
            progress=progress,
        )
        models.append(model)
        histories.append(history)
        trained_on.append(split.train[keep])
        best = (history.best or history.steps) - 1
        logger.info(
            "fold %d: kept step %d of %d, validation AUC %.4f (%d threads)",
            k,
            history.x[best],
            history.x[-1],
            history.curves["validation"]["auc"][best],
            fold_threads,
        )
    del x_train, x_val
    seconds["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ensemble = CNNEnsemble(models, config, device=dev)
    folds = np.full(len(dataset), -1, dtype=np.int64)
    folds[split.train] = train_folds
    scores, oof_scored = _score_dataset(dataset, ensemble, folds)
    seconds["score"] = time.perf_counter() - clock
    return CrossFitResult(
        scores=scores,
        folds=folds,
        trained_on=tuple(trained_on),
        oof_scored=oof_scored,
        histories=tuple(histories),
        ensemble=ensemble,
        seconds=seconds,
    )


def _transformed(
    dataset: EventDataset, indices: IndexArray, transform: InputTransform, *, device: torch.device
) -> torch.Tensor:
    """The transformed images at ``indices`` as one float16 tensor (half the memory; training only)."""
    size = transform.crop_size
    out = torch.empty((len(indices), 2, size, size), dtype=torch.float16)
    for start in range(0, len(indices), _PREPARE_CHUNK):
        block = indices[start : start + _PREPARE_CHUNK]
        out[start : start + len(block)] = transform(dataset.read_images(block)).to(torch.float16)
    return out.to(device)


def _score_dataset(
    dataset: EventDataset, ensemble: CNNEnsemble, folds: IndexArray
) -> tuple[FloatArray, tuple[IndexArray, ...]]:
    """Score every event in one streaming pass: fold model k for training events of fold k, the mean otherwise."""
    scores = np.full(len(dataset), np.nan, dtype=np.float32)
    scored: list[list[IndexArray]] = [[] for _ in range(len(ensemble))]
    for start, images in dataset.iter_images():
        index = np.arange(start, start + len(images))
        for k, model in enumerate(ensemble.models):
            mine = folds[index] == k
            if mine.any():
                inputs = ensemble.transform(images[mine])
                scores[index[mine]] = predict_proba(
                    model, inputs, batch_size=ensemble.config.inference_batch_size, device=ensemble.device
                )
                scored[k].append(index[mine])
        outside = folds[index] < 0
        if outside.any():
            scores[index[outside]] = ensemble.score(images[outside])
    return scores, tuple(np.concatenate(s) if s else np.empty(0, np.int64) for s in scored)


def _check_crops(images: npt.ArrayLike) -> Images:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        msg = f"expected crops of shape (n, 32, 32, 2), got {x.shape}"
        raise ValueError(msg)
    return x


def _synthetic_probe(n: int = 256, seed: int = 0) -> Images:
    """Crops that exercise every branch of the transform: empty crystals, a hot seed, clipped times."""
    rng = np.random.default_rng(seed)
    energy_gev = rng.exponential(0.3, size=(n, *IMAGE_SHAPE[:2])) * (rng.random((n, *IMAGE_SHAPE[:2])) < 0.3)
    energy_gev[:, 16, 16] += rng.uniform(5, 60, size=n)
    time_ns = np.where(energy_gev > 0, rng.normal(0, 15, size=energy_gev.shape), 0.0)
    return (np.stack((energy_gev, time_ns), axis=-1) / 50.0).astype(np.float32)


class _ScoringGraph(nn.Module):
    """Crops in file units -> electron probability: the transform and one fold network, for ONNX export."""

    def __init__(self, model: EgammaCNN, transform: InputTransform) -> None:
        super().__init__()
        self.model = model
        self.transform = transform

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(self.transform(images)))


def _export_onnx(model: EgammaCNN, transform: InputTransform, path: Path, probe: Images) -> bool:
    """Export one fold's scoring graph to ``path`` if onnxruntime reproduces torch; return whether it did."""
    import onnxruntime

    graph = _ScoringGraph(copy.deepcopy(model).cpu(), transform).eval()  # export and check on the CPU
    with torch.no_grad():
        expected = graph(torch.from_numpy(probe)).numpy()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # The dynamo exporter needs onnxscript, which egid does not depend on; the TorchScript exporter and
            # its internals warn that they are deprecated, but it is exact for this graph (checked below).
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                graph,
                (torch.from_numpy(probe[:2]),),
                str(tmp),
                input_names=["images"],
                output_names=["probability"],
                dynamic_axes={"images": {0: "n"}, "probability": {0: "n"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
            session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
            got = session.run(None, {"images": probe})[0]
            diff = float(np.max(np.abs(got - expected)))
            if not diff < ONNX_TOLERANCE:
                raise _ParityError(diff)
    except _ParityError as err:
        logger.warning("%s: not written, onnxruntime differs from torch by %.3g (> %g)", path, err.diff, ONNX_TOLERANCE)
        path.unlink(missing_ok=True)
        return False
    return True


class _ParityError(Exception):
    def __init__(self, diff: float) -> None:
        super().__init__(diff)
        self.diff = diff
