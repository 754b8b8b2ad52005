"""The seeds' networks, LeNet-5 and the e2e ResNet-15, their input transforms and a plain training loop.

Used by ``benchmarks/seed_models.py``, which trains them on an egid run's split; kept out of the ``egid`` package
because they are alternatives to compare against, not part of egid.

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

Inputs
------
Both sources feed the crops as stored (``"file"``: channel 0 energy in GeV / 50, channel 1 time in ns / 50, the
full 32 x 32 crop, no clipping). ``"log1p"`` replaces the energy channel by ``ln(1 + E / 1 GeV)`` (time unchanged),
the input of the LeNet-5 figures in egid's issue 12. Inputs are held as float16 tensors (half the memory of
float32; 2 x 32 x 32 x 2 bytes = 4 KiB per image) and cast to float32 batch by batch.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import torch
from sklearn.metrics import log_loss, roc_auc_score
from torch import nn

from egid.detector import EventDataset
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, IndexArray
from egid.models.cnn import predict_proba

__all__ = (
    "INPUT_KINDS",
    "RECIPES",
    "InputKind",
    "LeNet5",
    "Recipe",
    "ResNet15",
    "TrainResult",
    "input_tensor",
    "multiply_adds",
    "train_network",
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
