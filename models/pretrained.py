"""Pretrained weights of the CNN head: made by egid from its own simulation, shipped with it, fine-tuned per fold.

A network trained from scratch on the few thousand events of a small sample underfits or overfits; the same
network pretrained on a large simulated sample already separates electrons from photons, and a short fine-tuning
adapts it to the user's events (their detector conditions, their simulation or real data). :func:`pretrain`
simulates ``n`` electrons and ``n`` photons (and ``n`` charged pions for a three-class network) with egid's own
simulation from the reserved pretraining streams (:data:`egid.simulation.generate.PRETRAINING_STREAM`: none of
these events is ever part of an ``egid simulate`` sample or of the default sample), trains one network on them
with :data:`PRETRAINING_BUDGET` and keeps the one of the best AUC (three classes: the macro one-vs-rest AUC) on a
held-out part. ``egid pretrain`` (``--with-pions``) runs it; the package ships both results,
:data:`SHIPPED_WEIGHTS` and :data:`SHIPPED_THREE_CLASS_WEIGHTS` (nothing is downloaded).

In a run (``egid run --cnn-init pretrained``, the default), every fold network of the cross-fitting starts from the
shipped weights of its number of classes and is fine-tuned on its fold's training events
(:data:`~egid.models.cnn_budget.FINE_TUNING_BUDGET`, :data:`FINE_TUNING_LEARNING_RATE`), so the out-of-fold
guarantee of :mod:`egid.models.stacking` is kept: no network, pretrained or fine-tuned, has trained on an event
whose score a tree sees. A file of weights pretrained by
the user on their own sample (``egid pretrain --output FILE``, ``--cnn-init FILE``) keeps it only if that sample
shares no events with the run's data.

File format: one ``torch.save`` dictionary (read with ``weights_only=True``) holding ``state_dict``, ``config``
(:meth:`~egid.models.cnn.CNNConfig.to_dict` plus the ``transform``) and ``provenance``; a JSON copy of the last two
sits beside it (same name, ``.json``) for people and version control.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch

from egid._version import __version__
from egid.detector.atomic import atomic_path
from egid.detector.errors import InputError
from egid.detector.schema import CLASS_LABELS, CLASS_NAMES
from egid.detector.split import stratified_subsample
from egid.models.artifacts import reading
from egid.models.boosters.base import BINARY
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform, configure_threads, resolve_device, train_cnn
from egid.models.cnn_budget import (
    CNN_INIT_PRETRAINED,
    CNN_INIT_SCRATCH,
    FINE_TUNING_BUDGET,
    SCRATCH_BUDGET,
    TrainingBudget,
)
from egid.models.history import TrainingHistory
from egid.simulation.generate import SIMULATION_VERSION, iter_chunks

__all__ = (
    "FINE_TUNING_LEARNING_RATE",
    "MIN_PRETRAINING_EVENTS_PER_CLASS",
    "PRETRAINING_BUDGET",
    "PRETRAINING_CONFIG",
    "PRETRAINING_EVENTS_PER_CLASS",
    "SHIPPED_THREE_CLASS_WEIGHTS",
    "SHIPPED_WEIGHTS",
    "PretrainedCNN",
    "cnn_start",
    "load_pretrained",
    "pretrain",
    "shipped_weights",
)

logger = logging.getLogger(__name__)

SHIPPED_WEIGHTS: Final = Path(__file__).with_name("pretrained") / "egid_cnn_simulation.pt"
"""The electron/photon weights ``egid pretrain`` made for this release, installed with the package."""
SHIPPED_THREE_CLASS_WEIGHTS: Final = SHIPPED_WEIGHTS.with_name("egid_cnn_simulation_three_class.pt")
"""The electron/photon/charged-pion weights ``egid pretrain --with-pions`` made for this release (a three-way
softmax output), installed with the package."""
_SHIPPED: Final = {BINARY: SHIPPED_WEIGHTS, len(CLASS_LABELS): SHIPPED_THREE_CLASS_WEIGHTS}

PRETRAINING_BUDGET: Final = TrainingBudget(
    epochs=8.0, min_images=1_000_000, max_images=8_000_000, evaluations=32, patience=None
)
"""A long plan on a large sample: every evaluation is kept in the history and the best one wins."""

PRETRAINING_EVENTS_PER_CLASS: Final = 250_000
"""Events of each class simulated for the shipped weights (as many as each class of the public CMS files)."""

PRETRAINING_CONFIG: Final = CNNConfig(budget=PRETRAINING_BUDGET)
"""The architecture and training settings of the shipped weights."""

FINE_TUNING_LEARNING_RATE: Final = 1e-3
"""Peak learning rate when fine-tuning pretrained weights (a third of the from-scratch rate): large enough to adapt
the network to the user's events within :data:`~egid.models.cnn_budget.FINE_TUNING_BUDGET`, small enough not to
undo what it learned."""

_HELD_OUT: Final = 0.05
"""Fraction of the pretraining sample held out to choose the kept network."""
MIN_PRETRAINING_EVENTS_PER_CLASS: Final = math.ceil(2 / _HELD_OUT)
"""Fewest events per class that :func:`pretrain` takes: the held-out share must hold 2 of each class (an AUC)."""


@dataclass(frozen=True)
class PretrainedCNN:
    """A pretrained network's weights, the settings it was built and trained with, and where it came from.

    Attributes
    ----------
    state : mapping of str to tensor
        The ``state_dict`` of an :class:`~egid.models.cnn.EgammaCNN` built from ``config``.
    config : CNNConfig
        Architecture, input transform and pretraining settings.
    provenance : mapping
        How the weights were made: egid and simulation versions, seed, events, images seen, held-out AUC.
    """

    state: Mapping[str, torch.Tensor]
    config: CNNConfig
    provenance: Mapping[str, Any]

    def fine_tuning_config(self, budget: TrainingBudget = FINE_TUNING_BUDGET) -> CNNConfig:
        """The settings of a fold network fine-tuned from these weights: same network and transform, the fine-tuning
        budget and learning rate."""
        return dataclasses.replace(self.config, budget=budget, learning_rate=FINE_TUNING_LEARNING_RATE)

    def save(self, path: str | os.PathLike[str]) -> list[Path]:
        """Write the weights file ``path`` and its JSON description ``path`` with suffix ``.json``, atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        description = {"config": _config_document(self.config), "provenance": dict(self.provenance)}
        with atomic_path(target) as tmp:
            torch.save({"state_dict": dict(self.state), **description}, tmp)
        sidecar = target.with_suffix(".json")
        with atomic_path(sidecar) as tmp:
            tmp.write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
        return [target, sidecar]


def _config_document(config: CNNConfig) -> dict[str, Any]:
    return {**config.to_dict(), "transform": dataclasses.asdict(config.transform)}


def shipped_weights(n_classes: int = BINARY) -> Path:
    """The shipped weights file of a network separating ``n_classes`` classes (2: electron/photon, 3: with pions).

    Raises
    ------
    ValueError
        No weights are shipped for ``n_classes``.
    """
    if n_classes not in _SHIPPED:
        msg = f"Expected n_classes among {sorted(_SHIPPED)} (the shipped pretrained networks); got {n_classes}."
        raise ValueError(msg)
    return _SHIPPED[n_classes]


def load_pretrained(
    path: str | os.PathLike[str] | None = None, *, n_classes: int = BINARY, device: str | torch.device = "cpu"
) -> PretrainedCNN:
    """Read a weights file written by :meth:`PretrainedCNN.save` (default: the shipped one of ``n_classes``,
    :func:`shipped_weights`).

    Raises
    ------
    InputError
        One line naming the file: missing, not a torch file, or not egid's pretrained weights.
    """
    source = shipped_weights(n_classes) if path is None else Path(path)
    if not source.is_file():
        msg = f"{source}: no such file; make one with `egid pretrain --output {source}`"
        raise InputError(msg)
    with reading(source, "pretrained CNN weights (egid pretrain)"):
        document = torch.load(source, map_location=device, weights_only=True)
        if not isinstance(document, dict) or set(document) != {"state_dict", "config", "provenance"}:
            msg = f"{source}: not a file of egid pretrain (expected the keys state_dict, config, provenance)"
            raise InputError(msg)
        fields = dict(document["config"])
        config = CNNConfig.from_dict(fields, InputTransform(**fields.pop("transform")))
        EgammaCNN.from_config(config).load_state_dict(document["state_dict"])  # the weights fit the network
    return PretrainedCNN(state=document["state_dict"], config=config, provenance=document["provenance"])


def pretrain(
    n_per_class: int = PRETRAINING_EVENTS_PER_CLASS,
    *,
    n_classes: int = BINARY,
    seed: int = 0,
    config: CNNConfig = PRETRAINING_CONFIG,
    device: str | torch.device | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> tuple[PretrainedCNN, TrainingHistory]:
    """Simulate a pretraining sample and train one network on it.

    Parameters
    ----------
    n_per_class : int
        Events of each class simulated from the pretraining streams; 5 % of them (stratified) are held out to
        choose the kept network.
    n_classes : {2, 3}
        2: electrons and photons, one output (the electron logit); 3: charged pions too, a three-way softmax
        output (:data:`egid.detector.schema.CLASS_LABELS`).
    seed : int
        Seed of the simulation and of the training.
    config : CNNConfig
        Network, transform and training plan (default :data:`PRETRAINING_CONFIG`); its ``n_classes`` is
        replaced by ``n_classes``.
    device, threads, progress
        As for :func:`egid.models.stacking.cross_fit_cnn`.

    Returns
    -------
    pretrained : PretrainedCNN
    history : TrainingHistory
        The learning curves of the pretraining.
    """
    shipped_weights(n_classes)  # refuses a number of classes egid has no simulation for
    config = dataclasses.replace(config, n_classes=n_classes)
    dev = resolve_device(device)
    configure_threads(threads)
    inputs, labels = _simulated_inputs(n_per_class, seed=seed, config=config)
    held_out = stratified_subsample(labels, round(_HELD_OUT * len(labels)), seed=seed)
    train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
    logger.info("pretraining on %d simulated images, %d held out, %s", len(train_rows), len(held_out), dev)
    model, history = train_cnn(
        inputs[torch.from_numpy(train_rows)],
        labels[train_rows],
        inputs[torch.from_numpy(held_out)],
        labels[held_out],
        config=dataclasses.replace(config, validation_events=None),
        seed=seed,
        device=dev,
        progress=progress,
        log_evaluations=True,
    )
    best = (history.best or history.steps) - 1
    provenance = {
        "egid_version": __version__,
        "simulation_version": SIMULATION_VERSION,
        "simulation_streams": "pretraining",
        "seed": seed,
        "events_per_class": n_per_class,
        "classes": list(CLASS_NAMES[:n_classes]),
        "training_images": len(train_rows),
        "held_out_images": len(held_out),
        "optimizer_steps": int(history.x[best]),
        "held_out_auc": history.curves["validation"]["auc"][best],
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    return PretrainedCNN(state=state, config=config, provenance=provenance), history


def _simulated_inputs(n_per_class: int, *, seed: int, config: CNNConfig) -> tuple[torch.Tensor, np.ndarray]:
    """The transformed pretraining images (float16, in the order of :data:`CLASS_NAMES`) and their labels, for the
    first ``config.n_classes`` classes, simulated chunk by chunk."""
    blocks, labels = [], []
    classes = zip(CLASS_NAMES, CLASS_LABELS, strict=True)
    for particle, label in list(classes)[: config.n_classes]:
        for images, _ in iter_chunks(n_per_class, particle=particle, seed=seed, pretraining=True):  # type: ignore[arg-type]
            blocks.append(config.transform(images).to(torch.float16))
            labels.append(np.full(len(images), label, dtype=np.float32))
    return torch.cat(blocks), np.concatenate(labels)


def cnn_start(
    init: str, *, max_epochs: int | None = None, n_classes: int = BINARY
) -> tuple[CNNConfig, Mapping[str, torch.Tensor] | None]:
    """The settings and initial weights of the CNN fold networks for ``--cnn-init`` = ``init``.

    ``"scratch"``: the default network from random weights with the from-scratch budget. ``"pretrained"`` or the
    path of an ``egid pretrain`` file: that file's network and weights with the fine-tuning budget and learning
    rate (:meth:`egid.models.pretrained.PretrainedCNN.fine_tuning_config`). ``max_epochs`` caps the passes over
    the training images in both cases.

    ``n_classes`` = 3 (the three-class job): a network with one output per class; ``"pretrained"`` takes the
    shipped three-class weights (:data:`SHIPPED_THREE_CLASS_WEIGHTS`). A weights file of another number of classes
    (a binary ``egid pretrain`` file in a three-class run) gives every layer but the output one (the convolutions
    already know electromagnetic showers; the fine-tuning has to teach the rest), and the output layer starts
    from PyTorch's default initialisation under a fixed seed.

    Raises
    ------
    InputError
        When the weights file cannot be read (one line naming it).
    """
    if init == CNN_INIT_SCRATCH:
        budget = dataclasses.replace(SCRATCH_BUDGET, max_epochs=max_epochs)
        return CNNConfig(budget=budget, n_classes=n_classes), None
    pretrained = load_pretrained(None if init == CNN_INIT_PRETRAINED else init, n_classes=n_classes)
    tuned = pretrained.fine_tuning_config()
    capped = dataclasses.replace(
        tuned, budget=dataclasses.replace(tuned.budget, max_epochs=max_epochs), n_classes=n_classes
    )
    if n_classes == pretrained.config.n_classes:
        return capped, pretrained.state
    return capped, _with_new_output_layer(pretrained.state, capped)


_OUTPUT_LAYER_SEED = 0


def _with_new_output_layer(state: Mapping[str, torch.Tensor], config: CNNConfig) -> dict[str, torch.Tensor]:
    """``state`` with the output layer's weights replaced by a fresh, seeded one of ``config``'s shape."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_OUTPUT_LAYER_SEED)
        fresh = EgammaCNN.from_config(config).state_dict()
    return {name: value if fresh[name].shape == value.shape else fresh[name] for name, value in state.items()}
