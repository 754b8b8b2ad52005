"""A small convolutional network on the central ECAL crop, its input transform and its training loop.

The network sees what hand-made shower shapes miss; :mod:`egid.models.stacking` turns its out-of-fold score into
the ``cnn_score`` column of the boosted trees (with ``n_classes`` = 3, its three class probabilities into the
``cnn_electron``, ``cnn_photon`` and ``cnn_pion`` columns of the three-class trees). It is sized for CPU
training (about 31k parameters with the defaults, always below 200k) and runs on a GPU when one is present.

Physics behind the design: the 3.8 T field spreads electron bremsstrahlung and photon conversions along i-phi
(axis 2), while the i-eta profile (axis 1) of both classes is nearly the same. The first convolution therefore
halves the i-eta resolution (stride (2, 1)) but keeps every i-phi column; only the second stage pools i-phi.
The crop is odd-sized and centred on the seed crystal (16, 16), so mirroring i-eta or i-phi about the seed is
an exact symmetry of the input: i-eta because the detector is symmetric in eta, i-phi because e+ and e- bend
in opposite directions and both charges are present. Training uses both mirrors as augmentation.

This module imports torch; :mod:`models` itself stays importable without it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from tqdm import tqdm

from egid.detector.atomic import atomic_path
from egid.detector.errors import InputError
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, IMAGE_SHAPE, SEED_IETA, SEED_IPHI, TIME, TIME_SCALE_NS
from egid.detector.split import stratified_subsample
from egid.models.boosters.base import BINARY
from egid.models.cnn_budget import SCRATCH_BUDGET, TrainingBudget
from egid.models.cpu import threads_for_next_fit
from egid.models.history import TrainingHistory

__all__ = (
    "GPU_BATCH_FACTOR",
    "MIN_INFERENCE_BATCH",
    "CNNConfig",
    "EgammaCNN",
    "InputTransform",
    "configure_threads",
    "count_parameters",
    "predict_proba",
    "probabilities_of",
    "resolve_device",
    "train_cnn",
)

logger = logging.getLogger(__name__)

MIN_INFERENCE_BATCH = 64
"""Inference batches are padded to at least this many images (see :func:`predict_proba`)."""


@dataclass(frozen=True)
class InputTransform:
    """How a crop in file units becomes the network's input tensor; saved as JSON beside the models.

    For each event the transform keeps the ``(2h+1) x (2h+1)`` crystals centred on the seed (16, 16),
    ``h = crop_half_width``, and maps the two channels to

    .. math::

        x_E = \\ln(1 + E / 1\\,\\mathrm{GeV}), \\qquad
        x_t = [E > 0] \\cdot \\mathrm{clip}(t, -t_\\mathrm{clip}, t_\\mathrm{clip}) / t_\\mathrm{scale},

    with ``E = 50 X[..., 0]`` the crystal energy in GeV and ``t = 50 X[..., 1]`` its time in ns. The logarithm
    compresses the seed (tens of GeV) and the halo (0.1-1 GeV) into comparable ranges; a crystal below the
    zero-suppression threshold gives exactly 0. Only crystals with energy carry a time, so the time of a
    crystal with ``E = 0`` is forced to 0 whatever the file holds. The clip stops the rare far out-of-time
    crystals of the real files (up to +-125 ns: pile-up, spikes) from dominating.

    Output: float32 tensor of shape ``(n, 2, 2h+1, 2h+1)``, channel 0 energy, channel 1 time, axes (i-eta, i-phi).

    Parameters
    ----------
    crop_half_width : int
        ``h`` in crystals, 1 to 15 (15 keeps 31 x 31 of the 32 x 32 crop). Default 7 (15 x 15 crystals).
    time_clip_ns : float
        Times are clipped to ``[-time_clip_ns, time_clip_ns]`` ns. Default 10 ns.
    time_scale_ns : float
        Clipped times are divided by this, in ns. Default 2 ns (the spread of low-energy crystal times).
    """

    crop_half_width: int = 7
    time_clip_ns: float = 10.0
    time_scale_ns: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.crop_half_width <= min(SEED_IETA, SEED_IPHI, IMAGE_SHAPE[0] - 1 - SEED_IETA):
            msg = f"crop_half_width must be in [1, 15], got {self.crop_half_width}"
            raise ValueError(msg)
        if not (self.time_clip_ns > 0 and self.time_scale_ns > 0):
            msg = f"time_clip_ns and time_scale_ns must be positive, got {self.time_clip_ns}, {self.time_scale_ns}"
            raise ValueError(msg)

    @property
    def crop_size(self) -> int:
        """Crystals per side of the crop, ``2 h + 1``."""
        return 2 * self.crop_half_width + 1

    def __call__(self, images: npt.ArrayLike | torch.Tensor) -> torch.Tensor:
        """Transform crops ``(n, 32, 32, 2)`` in file units into the network input ``(n, 2, s, s)``, float32.

        Written with torch operations only, so the exported ONNX graph contains the same computation.
        """
        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images, dtype=np.float32))
        x = x.to(torch.float32)
        h = self.crop_half_width
        x = x[:, SEED_IETA - h : SEED_IETA + h + 1, SEED_IPHI - h : SEED_IPHI + h + 1, :]
        energy_gev = x[..., ENERGY] * ENERGY_SCALE_GEV
        time_ns = x[..., TIME] * TIME_SCALE_NS
        x_energy = torch.log1p(energy_gev)
        lit = (energy_gev > 0).to(torch.float32)
        x_time = lit * torch.clamp(time_ns, -self.time_clip_ns, self.time_clip_ns) / self.time_scale_ns
        return torch.stack((x_energy, x_time), dim=1)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the transform's parameters to ``path`` atomically."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> InputTransform:
        """Read a transform written by :meth:`to_json`; a missing or malformed file raises InputError."""
        return cls(**_read_json_fields(Path(path), cls))


def _read_json_fields(path: Path, cls: type) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise InputError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        msg = f"{path}: not valid JSON ({err})"
        raise InputError(msg) from None
    expected = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(values, dict) or set(values) != expected:
        found = sorted(values) if isinstance(values, dict) else type(values).__name__
        msg = f"{path}: expected the keys {sorted(expected)}, found {found}"
        raise InputError(msg)
    return values


@dataclass(frozen=True)
class CNNConfig:
    """Architecture and training settings of the CNN head.

    Parameters
    ----------
    transform : InputTransform
        Input transform (crop size, energy and time scaling).
    channels : tuple of 3 int
        Feature maps of the three convolution stages. Default (16, 32, 32).
    hidden : int
        Width of the dense layer before the output. Default 64.
    batch_size : int
        Training batch size on the CPU; on a CUDA GPU :data:`GPU_BATCH_FACTOR` times larger. Default 256.
    learning_rate : float
        Peak AdamW learning rate of the one-cycle schedule (on a GPU multiplied by the square root of
        :data:`GPU_BATCH_FACTOR`, as the batches are larger). Default 3e-3.
    weight_decay : float
        AdamW decoupled weight decay. Default 1e-4.
    budget : TrainingBudget
        Images seen, validation checks and early stopping (:mod:`egid.models.cnn_budget`). Default
        :data:`~egid.models.cnn_budget.SCRATCH_BUDGET`.
    augment : bool
        Mirror each training image in i-eta and in i-phi with probability 1/2 each. Default True.
    validation_events : int or None
        Early stopping measures the validation AUC on at most this many validation events, drawn seeded and
        stratified by class (each check then costs a fixed time at any sample size); None uses them all.
        Default 20,000 (a standard error of about 0.003 on an AUC near 0.8).
    inference_batch_size : int
        Images per forward pass when scoring. Default 2048.
    n_classes : int
        Classes the network separates. 2 (the default): one logit, the electron probability ``sigmoid(logit)``,
        binary cross-entropy. 3 or more: one logit per class, the label's value its index (0 photon, 1 electron,
        2 pion), class probabilities ``softmax(logits)``, cross-entropy with each class weighted inversely to its
        training count (every class weighs the same, as in the three-class trees).
    """

    transform: InputTransform = field(default_factory=InputTransform)
    channels: tuple[int, int, int] = (16, 32, 32)
    hidden: int = 64
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    budget: TrainingBudget = SCRATCH_BUDGET
    augment: bool = True
    validation_events: int | None = 20_000
    inference_batch_size: int = 2048
    n_classes: int = BINARY

    def __post_init__(self) -> None:
        if self.n_classes < BINARY:
            msg = f"n_classes must be >= {BINARY}, got {self.n_classes}"
            raise ValueError(msg)
        if len(self.channels) != 3 or min(self.channels) < 1 or self.hidden < 1:
            msg = f"channels must be 3 positive ints and hidden positive, got {self.channels}, {self.hidden}"
            raise ValueError(msg)
        if self.batch_size < 2 or self.inference_batch_size < 1:
            msg_0 = "batch_size must be >= 2 and inference_batch_size >= 1"
            raise ValueError(msg_0)
        if self.validation_events is not None and self.validation_events < 2:
            msg_0 = f"validation_events must be None or >= 2, got {self.validation_events}"
            raise ValueError(msg_0)
        if not (self.learning_rate > 0 and self.weight_decay >= 0):
            msg_0 = "learning_rate must be positive and weight_decay non-negative"
            raise ValueError(msg_0)

    def to_dict(self) -> dict[str, Any]:
        """Every setting but the transform as plain JSON values (the budget as a nested mapping)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "transform"}
        fields["channels"] = list(self.channels)
        fields["budget"] = dataclasses.asdict(self.budget)
        return fields

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any], transform: InputTransform) -> CNNConfig:
        """The inverse of :meth:`to_dict`; raises KeyError, TypeError or ValueError on malformed fields.

        Settings written before ``n_classes`` existed are binary networks."""
        values = {"n_classes": BINARY} | dict(fields)
        values["channels"] = tuple(values["channels"])
        values["budget"] = TrainingBudget(**values["budget"])
        return cls(transform=transform, **values)


class EgammaCNN(nn.Module):
    """Three convolution stages and a dense head; input ``(n, 2, s, s)``, output one logit per image (binary) or
    one per class.

    Stage 1: 3x3 convolution with stride (2, 1), halving i-eta and keeping every i-phi column.
    Stage 2: 3x3 convolution, then 2x2 max pooling. Stage 3: 3x3 convolution, then 2x2 max pooling (pooling
    rounds odd sizes up, so a 15 x 15 crop gives maps of 8 x 15, 4 x 8 and 2 x 4).
    Each convolution is followed by batch normalisation and ReLU. The flattened maps keep their position
    relative to the seed (no global pooling: where the energy sits matters), then dense ``hidden`` -> 1 (binary) or
    -> ``n_classes``.

    Parameters
    ----------
    crop_size : int
        Side ``s`` of the input crop in crystals.
    channels, hidden, n_classes
        As in :class:`CNNConfig`.
    """

    def __init__(
        self,
        *,
        crop_size: int,
        channels: tuple[int, int, int] = (16, 32, 32),
        hidden: int = 64,
        n_classes: int = BINARY,
    ) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            *_conv_bn_relu(2, c1, stride=(2, 1)),
            *_conv_bn_relu(c1, c2),
            nn.MaxPool2d(2, ceil_mode=True),
            *_conv_bn_relu(c2, c3),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.features.eval()(torch.zeros(1, 2, crop_size, crop_size)).shape[1]
        self.features.train()
        self.n_classes = n_classes
        n_out = 1 if n_classes == BINARY else n_classes
        self.head = nn.Sequential(nn.Linear(n_flat, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_out))

    @classmethod
    def from_config(cls, config: CNNConfig) -> EgammaCNN:
        """The untrained network that ``config`` describes."""
        return cls(
            crop_size=config.transform.crop_size,
            channels=config.channels,
            hidden=config.hidden,
            n_classes=config.n_classes,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n,)`` (binary) or ``(n, n_classes)`` for inputs ``(n, 2, s, s)``."""
        logits: torch.Tensor = self.head(self.features(x))
        return logits.squeeze(1) if self.n_classes == BINARY else logits

    def decisions(self, logits: torch.Tensor) -> torch.Tensor:
        """The chosen label of each image: electron (1) where ``logit > 0`` (binary), else the likeliest class."""
        return (logits > 0).long() if self.n_classes == BINARY else logits.argmax(dim=1)

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
        """Summed binary cross-entropy (binary, ``labels`` float) or class-weighted cross-entropy (``labels`` the
        class indices) of a batch, in nats."""
        if self.n_classes == BINARY:
            return nn.functional.binary_cross_entropy_with_logits(logits.float(), labels, reduction="sum")
        return nn.functional.cross_entropy(logits.float(), labels, weight=class_weights, reduction="sum")


def _conv_bn_relu(c_in: int, c_out: int, *, stride: int | tuple[int, int] = 1) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
    return [conv, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch.device; None picks ``cuda`` when a GPU is present, else ``cpu``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to ``n``, by default the cores other jobs leave idle right now; return it.

    torch's OpenMP regions end in barriers like the boosters' (:mod:`egid.models.cpu`): on a 2-core machine
    shared with other CPU-bound jobs (load average 6.8), a fold network on 1,866 Geant4 images trained in 228 s
    with 2 threads and in 44 s with 1. None asks :func:`egid.models.cpu.threads_for_next_fit` (every core on a
    quiet machine); a fixed ``n`` makes the thread count, and with it the last bits of the sums, reproducible.
    """
    if n is None:
        n = threads_for_next_fit()
    torch.set_num_threads(n)
    return n


def probabilities_of(logits: torch.Tensor) -> torch.Tensor:
    """``sigmoid`` of one logit per image ``(n,)`` (the electron probability), ``softmax`` over the classes of
    ``(n, n_classes)`` logits."""
    return torch.sigmoid(logits) if logits.ndim == 1 else torch.softmax(logits, dim=1)


def predict_proba(
    model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 2048, device: torch.device | None = None
) -> npt.NDArray[np.float32]:
    """Electron probabilities ``sigmoid(logit)``, shape (n,), float32, for transformed ``inputs`` (n, 2, s, s);
    for a network with one logit per class the class probabilities ``softmax(logits)``, shape (n, n_classes)
    (:func:`probabilities_of`; any network of that output works, e.g. the seed networks of the benchmarks). No
    inputs give an empty array of shape (0,).

    The model is put in evaluation mode; inputs are cast to float32 batch by batch (they may be stored as
    float16 to save memory). A batch smaller than :data:`MIN_INFERENCE_BATCH` is padded with empty crops:
    on the CPU such small batches take another kernel path whose last bits differ, and padding makes an
    image's score independent of how the caller chunks the images (scores reproduce exactly).
    """
    device = device or next(model.parameters()).device
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start : start + batch_size].to(device=device, dtype=torch.float32)
            n = len(batch)
            if n < MIN_INFERENCE_BATCH:
                batch = torch.cat((batch, batch.new_zeros((MIN_INFERENCE_BATCH - n, *batch.shape[1:]))))
            parts.append(probabilities_of(model(batch))[:n].cpu().numpy())
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.empty(0, dtype=np.float32)


def train_cnn(
    train_inputs: torch.Tensor,
    train_labels: npt.ArrayLike,
    validation_inputs: torch.Tensor,
    validation_labels: npt.ArrayLike,
    *,
    config: CNNConfig,
    seed: int,
    device: str | torch.device | None = None,
    initial_state: Mapping[str, torch.Tensor] | None = None,
    progress: bool = False,
    log_evaluations: bool = False,
) -> tuple[EgammaCNN, TrainingHistory]:
    """Train one network for the plan of ``config.budget``, keeping the network of the best validation AUC.

    Parameters
    ----------
    train_inputs, validation_inputs : tensor of shape (n, 2, s, s)
        Transformed crops (:class:`InputTransform`), float16 or float32, on the CPU or on ``device``.
    train_labels, validation_labels : array-like of shape (n,)
        1 electron, 0 photon (and 2 pion with ``config.n_classes`` = 3). The validation set only chooses the kept
        network (at most ``config.validation_events`` of it, stratified); it is never trained on.
    config : CNNConfig
    seed : int
        Seeds the weights, the batch order, the augmentation and the validation subsample; on the CPU the same
        seed gives the same network bit for bit.
    device : str or torch.device, optional
        Where to train; None picks a GPU when present. On a CUDA GPU the forward and backward passes run in
        mixed precision (bfloat16 where supported, else float16 with loss scaling) on larger batches
        (:data:`GPU_BATCH_FACTOR`).
    initial_state : mapping of str to tensor, optional
        Weights to start from (a pretrained network of the same architecture, :mod:`egid.models.pretrained`);
        they are validated before the first step and kept if no later evaluation beats them.
    progress : bool
        Show a progress bar over the optimizer steps.
    log_evaluations : bool
        Log each evaluation at INFO level (else DEBUG): a long training says how far it got.

    Returns
    -------
    model : EgammaCNN
        The network of the best evaluation, in eval mode.
    history : TrainingHistory
        At each evaluation (``positions`` = optimizer steps): train log loss and accuracy averaged over the
        augmented batches since the previous evaluation (NaN before the first step), validation log loss,
        accuracy and AUC (with more than two classes the macro average of the one-vs-rest AUCs); ``best`` is the
        evaluation kept (1-based).
    """
    dev = resolve_device(device)
    y_val = np.asarray(validation_labels, dtype=np.float32)
    y_train, class_weights = _training_targets(train_labels, config.n_classes)
    if len(train_inputs) != len(y_train) or len(validation_inputs) != len(y_val):
        msg = (
            f"inputs and labels differ in length: train {len(train_inputs)} vs {len(y_train)}, "
            f"validation {len(validation_inputs)} vs {len(y_val)}"
        )
        raise ValueError(msg)
    if len(y_train) < 2:
        msg = f"training needs at least 2 images (batch normalisation), got {len(y_train)}"
        raise ValueError(msg)
    if np.unique(y_val).size != config.n_classes:
        msg = f"validation labels must hold all {config.n_classes} classes: early stopping ranks them by AUC"
        raise ValueError(msg)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = EgammaCNN.from_config(config)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    model.to(dev)
    batch_size, peak_rate = _device_batch(config, dev)
    n_steps = config.budget.planned_steps(len(y_train), batch_size)
    checks = config.budget.evaluation_steps(n_steps)
    optimiser = torch.optim.AdamW(model.parameters(), lr=peak_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=peak_rate, total_steps=n_steps, pct_start=config.budget.warmup
    )
    precision = _MixedPrecision(dev)
    keep = stratified_subsample(y_val, config.validation_events, seed=seed)
    x_val, y_val = validation_inputs[torch.from_numpy(keep).to(validation_inputs.device)], y_val[keep]
    record = _Record(model, x_val, y_val, config.inference_batch_size, dev, n_steps, log_evaluations)
    if initial_state is not None:
        record.evaluate(0, train=None)
    logger.debug("CNN: %d images, batches of %d, %d steps, checks at %s", len(y_train), batch_size, n_steps, checks)
    batches = _batches(len(y_train), batch_size, generator)
    running = _RunningMetrics(dev)
    weights = None if class_weights is None else class_weights.to(dev)
    next_check = iter(checks)
    check = next(next_check)
    for step in tqdm(range(1, n_steps + 1), desc="CNN steps", disable=not progress, leave=False):
        batch = next(batches)
        x = train_inputs[batch.to(train_inputs.device)].to(device=dev, dtype=torch.float32)
        y = y_train[batch].to(dev)
        if config.augment:
            x = _random_mirrors(x, generator)
        model.train()
        optimiser.zero_grad(set_to_none=True)
        with precision.autocast():
            logits = model(x)
            loss = model.loss_sum(logits, y, weights)
        precision.step(loss / len(batch), optimiser)
        schedule.step()
        running.add(loss.detach(), model.decisions(logits.detach()), y)
        if step == check:
            record.evaluate(step, train=running.take())
            if record.stale(config.budget.patience):
                break
            check = next(next_check, 0)
    return record.best_model(), record.history()


def _training_targets(labels: npt.ArrayLike, n_classes: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The training targets (binary: float labels; else int64 class indices) and the class weights (None when
    binary): ``n / (n_classes * n_c)`` for a class of ``n_c`` of the ``n`` training images, so that every class
    weighs the same in the loss whatever the file sizes."""
    y = np.asarray(labels, dtype=np.float32)
    if n_classes == BINARY:
        return torch.as_tensor(y), None
    counts = np.bincount(y.astype(np.int64), minlength=n_classes)
    if counts.size != n_classes or (counts == 0).any():
        msg = f"training labels must hold each of the {n_classes} classes 0 .. {n_classes - 1}, got counts {counts}"
        raise ValueError(msg)
    return torch.as_tensor(y.astype(np.int64)), torch.as_tensor(y.size / (n_classes * counts), dtype=torch.float32)


GPU_BATCH_FACTOR = 4
"""On a CUDA GPU the training batches are this many times :attr:`CNNConfig.batch_size` (small batches leave a GPU
idle between kernels), and the peak learning rate grows by its square root; the budget counts images, so a
larger batch means fewer steps, not more training."""


def _device_batch(config: CNNConfig, device: torch.device) -> tuple[int, float]:
    """The training batch size and peak learning rate on ``device``."""
    factor = GPU_BATCH_FACTOR if device.type == "cuda" else 1
    return config.batch_size * factor, config.learning_rate * factor**0.5


class _MixedPrecision:
    """Autocast and loss scaling on a CUDA GPU (bfloat16 where supported, else float16); plain float32 elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        cuda = device.type == "cuda"
        self.dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16
        self.enabled = cuda
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda and self.dtype == torch.float16)

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        """Back-propagate ``loss`` (scaled when float16 needs it) and take the optimizer step."""
        scaled: torch.Tensor = self.scaler.scale(loss)
        torch.autograd.backward(scaled)
        self.scaler.step(optimiser)
        self.scaler.update()


def _batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless batches of image indices: pass after pass over the ``n`` images, each in a fresh random order.

    A pass's last batch of fewer than 2 images is skipped (batch normalisation needs two); ``n >= 2``.
    """
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            if len(batch) >= 2:
                yield batch


class _RunningMetrics:
    """Summed training loss and correct decisions since the last evaluation, kept on the device (no sync per step)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._reset()

    def _reset(self) -> None:
        self.loss = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device)
        self.seen = 0

    def add(self, loss_sum: torch.Tensor, decisions: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss += loss_sum
        self.correct += (decisions == labels.long()).sum()
        self.seen += len(labels)

    def take(self) -> dict[str, float]:
        """Mean log loss and accuracy since the last call, then start again."""
        means = {"logloss": float(self.loss) / self.seen, "accuracy": float(self.correct) / self.seen}
        self._reset()
        return means


class _Record:
    """The learning curves at each evaluation, and the weights of the best validation AUC so far."""

    def __init__(
        self,
        model: EgammaCNN,
        x_val: torch.Tensor,
        y_val: npt.NDArray[np.float32],
        batch: int,
        device: torch.device,
        n_steps: int,
        log_evaluations: bool,
    ) -> None:
        self.model, self.x_val, self.y_val, self.batch, self.device = model, x_val, y_val, batch, device
        self.n_steps, self.level = n_steps, logging.INFO if log_evaluations else logging.DEBUG
        self.steps: list[int] = []
        self.curves: dict[str, dict[str, list[float]]] = {
            "train": {"logloss": [], "accuracy": []},
            "validation": {"logloss": [], "accuracy": [], "auc": []},
        }
        self.best_index, self.best_auc = -1, -np.inf
        self.best_state: dict[str, torch.Tensor] = {}

    def evaluate(self, step: int, *, train: Mapping[str, float] | None) -> None:
        """Validate the network after ``step`` optimizer steps; ``train`` holds the running training metrics."""
        p_val = predict_proba(self.model, self.x_val, batch_size=self.batch, device=self.device)
        for metric, value in _validation_metrics(p_val, self.y_val).items():
            self.curves["validation"][metric].append(value)
        for metric in ("logloss", "accuracy"):
            self.curves["train"][metric].append(float("nan") if train is None else train[metric])
        self.steps.append(step)
        auc = self.curves["validation"]["auc"][-1]
        logger.log(self.level, "step %d of %d: validation AUC %.4f", step, self.n_steps, auc)
        if auc > self.best_auc:
            self.best_index, self.best_auc = len(self.steps) - 1, auc
            self.best_state = copy.deepcopy(self.model.state_dict())

    def stale(self, patience: int | None) -> bool:
        """Whether the last ``patience`` evaluations brought no better validation AUC."""
        return patience is not None and len(self.steps) - 1 - self.best_index >= patience

    def best_model(self) -> EgammaCNN:
        self.model.load_state_dict(self.best_state)
        return self.model.eval()

    def history(self) -> TrainingHistory:
        return TrainingHistory(
            x_label="optimizer step", curves=self.curves, best=self.best_index + 1, positions=self.steps
        )


def _random_mirrors(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image about the seed in i-eta (dim 2) and in i-phi (dim 3), each with probability 1/2."""
    flips = (torch.rand(2, len(x), generator=generator) < 0.5).to(x.device)[:, :, None, None, None]
    x = torch.where(flips[0], x.flip(2), x)
    return torch.where(flips[1], x.flip(3), x)


def _validation_metrics(p: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> dict[str, float]:
    """Log loss (nats per event), accuracy at p = 0.5 and ROC AUC of probabilities ``p`` for labels ``y``.

    Class probabilities ``p`` of shape (n, n_classes): the cross-entropy, the accuracy of the likeliest class and
    the macro average of the one-vs-rest AUCs (insensitive to the class counts, as early stopping should be)."""
    eps = 1e-7
    if p.ndim == 2:
        index = y.astype(np.int64)
        return {
            "logloss": float(-np.mean(np.log(np.clip(p[np.arange(len(y)), index].astype(np.float64), eps, 1)))),
            "accuracy": float(np.mean(p.argmax(axis=1) == index)),
            "auc": float(roc_auc_score(index, p.astype(np.float64), multi_class="ovr", average="macro")),
        }
    clipped = np.clip(p.astype(np.float64), eps, 1 - eps)
    return {
        "logloss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))),
        "accuracy": float(np.mean((p > 0.5) == (y > 0.5))),
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else float("nan"),
    }
