"""The reference networks egid is compared with: the seeds' LeNet-5 and e2e ResNet-15, the published e/gamma/pi
study's shallow network and CNN, their input transforms and plain training loops.

Used by ``benchmarks/seed_models.py`` (LeNet-5 and ResNet-15 on an egid run's split) and
``benchmarks/published_three_class.py`` (the published networks beside egid, per energy threshold); kept out of
the ``egid`` package because they are alternatives to compare against, not part of egid.

Sources
-------
ResNet-15
    ``ML4SCI/E2E``, ``E2E_Regression_Anis_Ismail/models.py`` ("Defining the Resnet-15 Model", the CMS end-to-end
    group's network) with the settings of ``E2E_Regression_Anis_Ismail/experiment.json`` and ``main.py``:
    ``ResNet(in_channels, nblocks=3, fmaps=[16, 32])``, i.e. a 7x7 convolution (16 maps, padding 1, so 32 -> 28
    crystals), ReLU, 2x2 max pooling, three residual blocks of 16 maps, one block to 32 maps with stride 2, three
    blocks of 32 maps, global max pooling and one linear output: 1 + 3x2 + 2 + 3x2 = 15 convolutions. A block is
    conv3x3-ReLU-conv3x3, plus its input (through a strided 1x1 convolution where the maps double), then ReLU; no
    batch normalisation. Adam, learning rate 1e-3, ``ReduceLROnPlateau(factor=0.5, patience=2)`` on the
    validation loss. The CMS end-to-end group's papers (e.g. M. Andrews et al., "End-to-End Physics Event
    Classification with CMS Open Data", Comput. Softw. Big Sci. 4 (2020) 6, arXiv:1807.11916) use ResNets of
    this family; their text was not available here, so the layer sizes follow the code above, not the paper.
    Changes here: the linear layer reads the 32 pooled maps only (the source appends the crop's i-eta and i-phi
    position in the detector, which the e/gamma crops do not carry); the 1x1 shortcut convolution exists only in
    the block that doubles the maps (the source builds an unused one in every block: same function, fewer listed
    parameters); batches of 64 images instead of the source's 1024 (a mass regression on millions of jet images;
    1024 leaves a 3000-event training split three steps per epoch).
LeNet-5
    No ML4SCI notebook with a LeNet-5 for these crops was found; the ML4SCI e/gamma sample notebook
    (``ML4SCIHackathon/ML4SCI``, read in its mirror ``emanueleusai/ML4SCI-1`` at 40e97d8,
    ``ParticleImagesChallenge/ParticleImages.ipynb``) trains a small Keras CNN (3x3 convolutions of 16, 16, 32,
    32 maps with 2x2 max pooling after each pair, dense 256 and 128, dropout 0.2) on the crops
    as stored in the files (both channels, no scaling) with Adam 1e-3, batches of 64, 20 epochs and
    ``ReduceLROnPlateau(monitor='val_loss', factor=0.2, patience=2, min_lr=1e-6)``. The network here is the
    canonical LeNet-5 (Y. LeCun et al., Proc. IEEE 86 (1998) 2278) with ReLU and average pooling, as commonly
    adapted to two-channel 32x32 e/gamma crops: 5x5 convolution to 6 maps, 2x2 average pooling, 5x5 convolution to
    16 maps, 2x2 average pooling, dense 400 -> 120 -> 84 -> 1; trained with that notebook's settings.
Published e/gamma/pi networks (egid issue 24, "The published networks, side by side")
    A study of electron / photon / charged-pion identification on 28 x 28 ECAL energy images around the seed,
    with its own simulation, trained two networks with Adam (learning rate 1e-3), batches of 128 and 10,000 steps
    on the 3-class cross-entropy, and repeated the training after removing (from training and test events) the
    events whose window energy sum was below T = 0, 10, 20, 30 GeV. It reported 3-class accuracies of
    0.895-0.904 (shallow) and 0.914-0.933 (CNN) over those thresholds. Its text was not available here; the
    settings follow the issue's summary of it.

    * :class:`ShallowNN`: fully connected 784-10-10-3 on the flattened image. The study names the widths only;
      the hidden units here are ReLU, as in the TensorFlow MNIST tutorials the study's networks come from
      (``fully_connected_feed``: ReLU hidden layers, linear logits).
    * :class:`PublishedCNN`: TensorFlow's "Layers" MNIST tutorial network (``cnn_mnist.py``): 5x5 convolution to
      32 maps with ``'same'`` padding and ReLU, 2x2 max pooling (stride 2), 5x5 convolution to 64 maps
      (``'same'``, ReLU), 2x2 max pooling, dense 1024 (ReLU), dropout 0.4 (training only), dense 3 logits.

    Both use TensorFlow's default initialisation of ``tf.layers`` (Glorot-uniform weights, zero biases) instead
    of PyTorch's, so the networks start as the study's did. The input of both is :func:`published_input`: the
    energy channel in GeV (not the files' GeV / 50), cropped to 28 x 28 around the seed.

Inputs
------
The seeds' sources feed the crops as stored (``"file"``: channel 0 energy in GeV / 50, channel 1 time in ns / 50,
the full 32 x 32 crop, no clipping). ``"log1p"`` replaces the energy channel by ``ln(1 + E / 1 GeV)`` (time
unchanged), the input of the LeNet-5 figures in egid's issue 12. Inputs are held as float16 tensors (half the memory
of float32; 2 x 32 x 32 x 2 bytes = 4 KiB per image) and cast to float32 batch by batch.

The published networks read the energy channel alone, in GeV, on rows and columns 2 to 29 (inclusive) of the crop:
an even-sized window cannot be centred on one crystal, so the seed crystal (16, 16) sits at (14, 14) = (28 / 2,
28 / 2) of the window, the convention of the files themselves (16 = 32 / 2). Held as float32 (the study's input
was not rounded to half precision).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import torch
from sklearn.metrics import log_loss, roc_auc_score
from torch import nn

from egid.detector import EventDataset
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, Images, IndexArray
from egid.models.cnn import predict_proba

__all__ = (
    "INPUT_KINDS",
    "PUBLISHED",
    "PUBLISHED_CROP",
    "PUBLISHED_STEPS",
    "RECIPES",
    "InputKind",
    "LeNet5",
    "PublishedCNN",
    "PublishedRecipe",
    "Recipe",
    "ResNet15",
    "ShallowNN",
    "StepsResult",
    "TrainResult",
    "input_tensor",
    "multiply_adds",
    "predict_class_proba",
    "published_input",
    "train_network",
    "train_steps",
    "window_energy_gev",
)

logger = logging.getLogger(__name__)

InputKind = Literal["file", "log1p"]
INPUT_KINDS: Final[tuple[InputKind, ...]] = ("file", "log1p")
"""The input transforms (see the module docstring); ``"file"`` is what both sources use."""
BATCH_SIZE: Final = 64
"""Training batch of both networks: the ML4SCI e/gamma sample notebook's (the ResNet-15 source used 1024)."""
MIN_LEARNING_RATE: Final = 1e-6
"""Floor of the plateau schedule (the ML4SCI sample notebook's ``min_lr``)."""
_READ_CHUNK: Final = 8192
PUBLISHED_CROP: Final = slice(2, 30)
"""Rows and columns of the 32 x 32 crop the published networks see: 2 to 29, the seed (16, 16) at (14, 14)."""
PUBLISHED_SIZE: Final = 28
"""Side of the published networks' window, in crystals."""
PUBLISHED_CLASSES: Final = 3
"""Electron, photon, charged pion."""
PUBLISHED_STEPS: Final = 10_000
"""Optimiser steps of the published study."""
PUBLISHED_BATCH: Final = 128
"""Images per step in the published study."""


class LeNet5(nn.Module):
    """LeNet-5 on a ``(n, 2, 32, 32)`` crop: two 5x5 convolution + average-pooling stages, dense 120 and 84.

    Maps: 2 x 32 x 32 -> 6 x 28 x 28 -> 6 x 14 x 14 -> 16 x 10 x 10 -> 16 x 5 x 5 = 400 -> 120 -> 84 -> 1 logit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(2, 6, 5),
            nn.ReLU(inplace=True),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(inplace=True),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n,)``."""
        logits: torch.Tensor = self.layers(x).squeeze(1)
        return logits


class _ResBlock(nn.Module):
    """conv3x3-ReLU-conv3x3 plus the input, then ReLU; doubling the maps strides by 2 and projects the input."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        stride = c_out // c_in
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride) if stride > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(out + self.shortcut(x))


class ResNet15(nn.Module):
    """The e2e ResNet-15 (``nblocks=3``, ``fmaps=(16, 32)``) on a ``(n, 2, 32, 32)`` crop; one logit per image.

    Maps: 7x7 convolution 2 -> 16 (32 -> 28 crystals), 2x2 max pooling (14), three blocks of 16 maps, one block to
    32 maps with stride 2 (7), three blocks of 32 maps, global max pooling, linear 32 -> 1.
    """

    def __init__(self, *, nblocks: int = 3, fmaps: tuple[int, int] = (16, 32)) -> None:
        super().__init__()
        f0, f1 = fmaps
        self.stem = nn.Sequential(nn.Conv2d(2, f0, 7, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        blocks = [_ResBlock(f0, f0) for _ in range(nblocks)] + [_ResBlock(f0, f1)]
        blocks += [_ResBlock(f1, f1) for _ in range(nblocks)]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(f1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n,)``."""
        logits: torch.Tensor = self.head(self.blocks(self.stem(x))).squeeze(1)
        return logits


@dataclass(frozen=True)
class Recipe:
    """A seed network and how its source trains it.

    Attributes
    ----------
    build : callable
        Returns the untrained network.
    learning_rate : float
        Adam's initial learning rate.
    plateau_factor, plateau_patience : float, int
        ``ReduceLROnPlateau`` on the validation loss: multiply the rate by ``plateau_factor`` after
        ``plateau_patience`` epochs without a lower loss.
    batch_size : int
        Training images per optimiser step.
    source : str
        Where the architecture and settings come from (repository and path).
    """

    build: Callable[[], nn.Module]
    learning_rate: float
    plateau_factor: float
    plateau_patience: int
    batch_size: int = BATCH_SIZE
    source: str = field(default="", compare=False)


RECIPES: Final[dict[str, Recipe]] = {
    "lenet5": Recipe(
        build=LeNet5,
        learning_rate=1e-3,
        plateau_factor=0.2,
        plateau_patience=2,
        source="LeCun et al. 1998; settings of emanueleusai/ML4SCI-1 ParticleImagesChallenge/ParticleImages.ipynb",
    ),
    "resnet15": Recipe(
        build=ResNet15,
        learning_rate=1e-3,
        plateau_factor=0.5,
        plateau_patience=2,
        source="ML4SCI/E2E E2E_Regression_Anis_Ismail/models.py, experiment.json, main.py",
    ),
}
"""The seed networks by name, in the order the table lists them."""


def _tensorflow_init(model: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases in every convolution and dense layer (``tf.layers``' defaults)."""
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


class ShallowNN(nn.Module):
    """The published shallow network on a ``(n, 1, 28, 28)`` energy window: 784 -> 10 -> 10 -> 3, ReLU hidden units.

    7,993 parameters: 784 x 10 + 10, 10 x 10 + 10, 10 x 3 + 3. Returns logits of shape ``(n, 3)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(PUBLISHED_SIZE * PUBLISHED_SIZE, 10),
            nn.ReLU(inplace=True),
            nn.Linear(10, 10),
            nn.ReLU(inplace=True),
            nn.Linear(10, PUBLISHED_CLASSES),
        )
        _tensorflow_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n, 3)``."""
        logits: torch.Tensor = self.layers(x)
        return logits


class PublishedCNN(nn.Module):
    """The published CNN (TensorFlow's MNIST "Layers" tutorial network) on a ``(n, 1, 28, 28)`` energy window.

    Maps: 1 x 28 x 28 -> conv 5x5 'same' 32 x 28 x 28 -> max pool 32 x 14 x 14 -> conv 5x5 'same' 64 x 14 x 14
    -> max pool 64 x 7 x 7 = 3136 -> dense 1024 -> dropout 0.4 -> dense 3 logits; ReLU after every convolution
    and the dense 1024. 3,267,459 parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding="same"),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding="same"),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 1024),
            nn.ReLU(inplace=True),
            nn.Dropout(0.4),
            nn.Linear(1024, PUBLISHED_CLASSES),
        )
        _tensorflow_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n, 3)``."""
        logits: torch.Tensor = self.layers(x)
        return logits


@dataclass(frozen=True)
class PublishedRecipe:
    """A published network and the study's training settings (Adam on the 3-class cross-entropy, fixed steps).

    Attributes
    ----------
    build : callable
        Returns the untrained network.
    learning_rate : float
        Adam's learning rate (constant: the study used no schedule).
    batch_size : int
        Training images per optimiser step.
    steps : int
        Optimiser steps.
    source : str
        Where the architecture and settings come from.
    """

    build: Callable[[], nn.Module]
    learning_rate: float = 1e-3
    batch_size: int = PUBLISHED_BATCH
    steps: int = PUBLISHED_STEPS
    source: str = field(default="", compare=False)


PUBLISHED: Final[dict[str, PublishedRecipe]] = {
    "shallow": PublishedRecipe(
        build=ShallowNN, source="published e/gamma/pi study (egid issue 24); TensorFlow fully_connected_feed"
    ),
    "cnn": PublishedRecipe(
        build=PublishedCNN, source="published e/gamma/pi study (egid issue 24); TensorFlow cnn_mnist.py"
    ),
}
"""The published e/gamma/pi networks by name, in the order the tables list them."""


def published_input(images: Images) -> torch.Tensor:
    """The published networks' input: the energy of the 28 x 28 window around the seed, in GeV.

    Parameters
    ----------
    images : array of shape (n, 32, 32, 2)
        Crops in file units (energy in GeV / 50, time in ns / 50), seed at (16, 16).

    Returns
    -------
    tensor of shape (n, 1, 28, 28), float32
        Rows and columns 2 to 29 of the energy channel times 50 GeV: the seed at (14, 14).
    """
    window = np.asarray(images)[:, PUBLISHED_CROP, PUBLISHED_CROP, ENERGY] * np.float32(ENERGY_SCALE_GEV)
    return torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)).unsqueeze(1)


def window_energy_gev(images: Images) -> npt.NDArray[np.float64]:
    """Summed energy of the published 28 x 28 window, in GeV, shape ``(n,)``: the study's threshold variable."""
    window = np.asarray(images)[:, PUBLISHED_CROP, PUBLISHED_CROP, ENERGY]
    summed: npt.NDArray[np.float64] = window.sum(axis=(1, 2), dtype=np.float64)
    return summed * ENERGY_SCALE_GEV


@dataclass(frozen=True)
class StepsResult:
    """What :func:`train_steps` returns.

    Attributes
    ----------
    model : nn.Module
        The network after the last step, in eval mode.
    steps : int
        Optimiser steps taken.
    seconds : float
        Wall time of the training.
    images_per_second : float
        Training images per second (forward, backward, Adam step).
    last_loss : float
        Mean cross-entropy of the last 100 steps (or of all, if fewer), in nats.
    """

    model: nn.Module
    steps: int
    seconds: float
    images_per_second: float
    last_loss: float


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """``steps`` batches of ``batch_size`` indices from repeated shuffled passes over ``range(n)``.

    A batch may span two passes, as TensorFlow's ``shuffle().repeat().batch()`` input pipeline gives them.
    """
    pending = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while len(pending) < batch_size:
            pending = torch.cat([pending, torch.randperm(n, generator=generator)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def train_steps(
    recipe: PublishedRecipe,
    inputs: torch.Tensor,
    classes: npt.NDArray[np.integer],
    *,
    steps: int | None = None,
    seed: int,
    device: torch.device,
) -> StepsResult:
    """Train ``recipe``'s network as the study did: Adam at a constant rate, fixed steps, no early stopping.

    Parameters
    ----------
    recipe : PublishedRecipe
        The network and its settings.
    inputs : tensor of shape (n, 1, 28, 28)
        :func:`published_input` of the training events.
    classes : array of shape (n,)
        Class indices 0, 1, 2 (the order of :data:`egid.detector.schema.CLASS_LABELS`).
    steps : int, optional
        Optimiser steps; default ``recipe.steps`` (the study's 10,000). Fewer shorten a smoke test or a run on a
        slow machine; the benchmark prints the number used.
    seed : int
        Seeds the weights, the dropout and the batch order.
    device : torch.device
        Where to train.
    """
    steps = recipe.steps if steps is None else steps
    if steps < 1 or len(inputs) == 0:
        msg = f"need at least one step and one training image, got {steps} steps and {len(inputs)} images"
        raise ValueError(msg)
    start = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = recipe.build().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    x, y = inputs.to(device), torch.as_tensor(np.asarray(classes, dtype=np.int64), device=device)
    model.train()
    losses: list[float] = []
    for batch in _batches(len(x), recipe.batch_size, steps, generator):
        rows = batch.to(device)
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[rows]), y[rows])
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    model.eval()
    seconds = time.perf_counter() - start
    return StepsResult(
        model=model,
        steps=steps,
        seconds=seconds,
        images_per_second=steps * recipe.batch_size / seconds,
        last_loss=float(np.mean(losses[-100:])),
    )


def predict_class_proba(model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 1024) -> npt.NDArray[np.float64]:
    """Softmax class probabilities, shape ``(n, 3)``, of a published network in eval mode (dropout off)."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty((len(inputs), PUBLISHED_CLASSES), dtype=np.float64)
    with torch.no_grad():
        for first in range(0, len(inputs), batch_size):
            logits = model(inputs[first : first + batch_size].to(device))
            out[first : first + len(logits)] = torch.softmax(logits, dim=1).cpu().numpy()
    return out


def input_tensor(dataset: EventDataset, indices: IndexArray, kind: InputKind) -> torch.Tensor:
    """The crops at dataset ``indices`` as one float16 tensor ``(n, 2, 32, 32)``, read in chunks.

    ``kind`` is ``"file"`` (file units, as the sources feed them) or ``"log1p"`` (energy channel
    ``ln(1 + E / 1 GeV)``); see the module docstring.
    """
    if kind not in INPUT_KINDS:
        msg = f"input kind must be one of {INPUT_KINDS}, got {kind!r}"
        raise ValueError(msg)
    out = torch.empty((len(indices), 2, 32, 32), dtype=torch.float16)
    for start in range(0, len(indices), _READ_CHUNK):
        block = dataset.read_images(indices[start : start + _READ_CHUNK])
        if kind == "log1p":
            block[..., ENERGY] = np.log1p(block[..., ENERGY] * ENERGY_SCALE_GEV)
        out[start : start + len(block)] = torch.from_numpy(block).permute(0, 3, 1, 2)
    return out


def multiply_adds(model: nn.Module, input_shape: tuple[int, ...] = (2, 32, 32)) -> int:
    """Multiply-adds of one forward pass on one image: convolutions and linear layers (biases, pooling not counted)."""
    total = 0

    def count(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += output[0].numel() * module.in_features

    probe = copy.deepcopy(model).cpu().eval()
    for layer in probe.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            layer.register_forward_hook(count)
    with torch.no_grad():
        probe(torch.zeros(1, *input_shape))
    return total


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_network` returns.

    Attributes
    ----------
    model : nn.Module
        The network of the best validation AUC, in eval mode.
    epochs, best_epoch : int
        Epochs trained and the one kept (1-based).
    validation_auc : list of float
        Validation AUC after each epoch.
    train_seconds : float
        Wall time of the optimiser passes alone (no validation scoring).
    seconds : float
        Wall time of the whole training, validation scoring included.
    images_per_second : float
        Training images per second of ``train_seconds`` (forward, backward, Adam step).
    """

    model: nn.Module
    epochs: int
    best_epoch: int
    validation_auc: list[float]
    train_seconds: float
    seconds: float
    images_per_second: float


def train_network(
    recipe: Recipe,
    train_inputs: torch.Tensor,
    train_labels: npt.NDArray[np.floating],
    validation_inputs: torch.Tensor,
    validation_labels: npt.NDArray[np.floating],
    *,
    max_epochs: int,
    patience: int,
    seed: int,
    device: torch.device,
) -> TrainResult:
    """Train ``recipe``'s network with Adam, its plateau schedule, and early stopping on the validation AUC.

    Stops after ``patience`` epochs without a higher validation AUC (or at ``max_epochs``) and restores the
    weights of the best one. ``seed`` seeds the weights and the batch order.
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = recipe.build().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, mode="min", factor=recipe.plateau_factor, patience=recipe.plateau_patience, min_lr=MIN_LEARNING_RATE
    )
    loss_fn = nn.BCEWithLogitsLoss()
    y_train = torch.as_tensor(np.asarray(train_labels, dtype=np.float32))
    x_train, x_val = train_inputs.to(device), validation_inputs.to(device)
    aucs: list[float] = []
    best_state, best_epoch, train_seconds, seen = copy.deepcopy(model.state_dict()), 0, 0.0, 0
    for epoch in range(max_epochs):
        clock = time.perf_counter()
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        for first in range(0, len(order), recipe.batch_size):
            batch = order[first : first + recipe.batch_size]
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[batch.to(device)].float()), y_train[batch].to(device))
            loss.backward()
            optimiser.step()
        train_seconds += time.perf_counter() - clock
        seen += len(order)
        p_val = predict_proba(model, x_val, device=device)
        schedule.step(log_loss(validation_labels, p_val.astype(np.float64), labels=[0.0, 1.0]))
        aucs.append(float(roc_auc_score(validation_labels, p_val)))
        logger.info("epoch %d: validation AUC %.4f", epoch + 1, aucs[-1])
        if aucs[-1] >= max(aucs):
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model=model,
        epochs=len(aucs),
        best_epoch=best_epoch + 1,
        validation_auc=aucs,
        train_seconds=train_seconds,
        seconds=time.perf_counter() - start,
        images_per_second=seen / train_seconds if train_seconds > 0 else float("nan"),
    )
