"""Cross-fitting of the CNN head: an out-of-fold ``cnn_score`` for every event, from the fold ensemble of
:mod:`egid.models.cnn_ensemble`.

The boosted trees take the CNN's score as one more feature column, ``cnn_score``. A tree must never see a
score produced by a network that trained on the same image, or it would learn to trust a memorised score.
:func:`cross_fit_cnn` therefore splits the training part of the dataset into K folds with
:func:`egid.detector.stratified_folds` (the same call, labels and seed give the trees the same folds):

* fold model k trains on the training events outside fold k, and uses the validation split only to choose
  its epoch (early stopping); it never trains on validation or test events;
* a training event in fold k gets the score of model k (out of fold);
* every other event (validation, test, or any event outside the split) gets the mean of the K models'
  scores, which is exactly what :meth:`CNNEnsemble.score` computes on a new file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from egid.detector.dataset import EventDataset, is_three_class, require_classes
from egid.detector.schema import FloatArray, IndexArray
from egid.detector.split import Split, stratified_folds
from egid.models.boosters.base import BINARY
from egid.models.cnn import (
    CNNConfig,
    InputTransform,
    configure_threads,
    predict_proba,
    resolve_device,
    train_cnn,
)
from egid.models.cnn_budget import DEFAULT_FOLDS
from egid.models.cnn_ensemble import CNNEnsemble
from egid.models.history import TrainingHistory

__all__ = ("DEFAULT_FOLDS", "CrossFitResult", "cross_fit_cnn")

logger = logging.getLogger(__name__)


_PREPARE_CHUNK = 8192


@dataclass(frozen=True)
class CrossFitResult:
    """What :func:`cross_fit_cnn` returns.

    Attributes
    ----------
    scores : ndarray of shape (n_events,) or (n_events, n_classes), float32
        ``cnn_score`` of every dataset event: out of fold for training events, the fold-model mean otherwise
        (a network of ``n_classes`` > 2: the class probabilities).
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
    if is_three_class(labels) != (config.n_classes > BINARY):
        msg = f"a CNN of {config.n_classes} classes cannot learn labels {np.unique(labels).tolist()}"
        raise ValueError(msg)
    require_classes(labels[split.train], name="training split")
    require_classes(labels[split.validation], name="validation split")
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
    scores = np.full((len(dataset), *ensemble.score_shape), np.nan, dtype=np.float32)
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
