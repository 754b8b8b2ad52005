"""How long the CNN head trains: a budget counted in training images seen, adapted to the sample's size.

This module holds no torch, so that the command line and the run's settings read the same numbers as the training
code without importing torch.

Why images and not epochs: a fixed number of epochs is a different amount of training at every sample size. Six
epochs of 2/3 of 11k images are about 175 optimizer steps, far too few (the network underfits: measured on 14k
Geant4 events, 6 epochs gave a test AUC of 0.689 against 0.770 for 30 epochs); six epochs of 2/3 of 348k images
cost 12 minutes on 2 cores for little gain over three. The plan below gives small samples many passes and large
ones a bounded cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = (
    "CNN_INIT_PRETRAINED",
    "CNN_INIT_SCRATCH",
    "DEFAULT_FOLDS",
    "FINE_TUNING_BUDGET",
    "SCRATCH_BUDGET",
    "TrainingBudget",
)

DEFAULT_FOLDS: Final = 3
"""K of the CNN's cross-fitting: each fold's network trains on (K - 1) / K of the training split, so the cost
grows like K - 1; the out-of-fold score needs K >= 2."""

CNN_INIT_PRETRAINED: Final = "pretrained"
"""``--cnn-init`` value: start every fold network from the weights shipped with egid (:mod:`.pretrained`)."""
CNN_INIT_SCRATCH: Final = "scratch"
"""``--cnn-init`` value: start every fold network from random weights (any other value names a weights file)."""


@dataclass(frozen=True)
class TrainingBudget:
    """The training plan of one network: how many images it sees, when it is validated and when it stops.

    With ``n`` training images the plan is

    .. math::

        N_\\mathrm{plan} = \\min\\bigl(\\mathrm{clip}(e\\,n,\\; N_\\mathrm{min},\\; N_\\mathrm{max}),\\;
        e_\\mathrm{cap}\\, n\\bigr)

    images, i.e. ``ceil(N_plan / batch_size)`` optimizer steps. The learning rate follows one cycle over those
    steps: a linear warm-up over the first ``warmup`` fraction to the peak rate, then a cosine decay towards zero
    (L. N. Smith and N. Topin, arXiv:1708.07120; ``torch.optim.lr_scheduler.OneCycleLR``). The validation AUC is
    measured ``evaluations`` times, evenly spaced over the steps (and once before the first step when the network
    starts from pretrained weights, so fine-tuning never returns a network worse on validation than it started
    with); training stops early once ``patience`` evaluations in a row brought no better AUC, and the network of
    the best evaluation is kept.

    Parameters
    ----------
    epochs : float
        ``e``, the passes over the training images the plan aims for. Default 12.
    min_images : int
        ``N_min``, images every network sees at least, however small the sample (a 1,900-image fold sees it
        about 200 times; early stopping guards against overfitting). Default 400,000.
    max_images : int
        ``N_max``, images no network exceeds, however large the sample. Default 1,000,000.
    max_epochs : float or None
        ``e_cap``, an optional cap on the passes over the training images (``egid run --cnn-epochs``), applied
        after the clip; None: no cap. Default None.
    evaluations : int
        Validation checks spread evenly over the plan (each scores up to ``CNNConfig.validation_events`` events).
        Default 12.
    patience : int or None
        Consecutive evaluations without a better validation AUC after which training stops; None trains the
        whole plan (the best evaluation is still kept). Default 4 (a third of the plan).
    warmup : float
        Fraction of the steps over which the learning rate rises linearly to its peak, in (0, 1). Default 0.1.

    Raises
    ------
    ValueError
        When a setting is out of range; the message names it.
    """

    epochs: float = 12.0
    min_images: int = 400_000
    max_images: int = 1_000_000
    max_epochs: float | None = None
    evaluations: int = 12
    patience: int | None = 4
    warmup: float = 0.1

    def __post_init__(self) -> None:
        if not (self.epochs > 0 and 1 <= self.min_images <= self.max_images):
            msg = (
                "TrainingBudget: expected epochs > 0 and 1 <= min_images <= max_images, got "
                f"epochs={self.epochs}, min_images={self.min_images}, max_images={self.max_images}"
            )
            raise ValueError(msg)
        if self.max_epochs is not None and not self.max_epochs > 0:
            msg = f"TrainingBudget: expected max_epochs > 0 or None, got {self.max_epochs}"
            raise ValueError(msg)
        if self.evaluations < 1 or (self.patience is not None and self.patience < 1):
            msg = (
                "TrainingBudget: expected evaluations >= 1 and patience >= 1 or None, got "
                f"{self.evaluations}, {self.patience}"
            )
            raise ValueError(msg)
        if not 0 < self.warmup < 1:
            msg = f"TrainingBudget: expected 0 < warmup < 1, got {self.warmup}"
            raise ValueError(msg)

    def planned_images(self, n_train: int) -> int:
        """``N_plan`` for ``n_train`` training images (at least one image)."""
        planned = min(max(self.epochs * n_train, self.min_images), self.max_images)
        if self.max_epochs is not None:
            planned = min(planned, self.max_epochs * n_train)
        return max(1, round(planned))

    def planned_steps(self, n_train: int, batch_size: int) -> int:
        """Optimizer steps of the plan: ``ceil(N_plan / batch_size)``."""
        return math.ceil(self.planned_images(n_train) / batch_size)

    def evaluation_steps(self, n_steps: int) -> list[int]:
        """The steps (1-based, increasing, the last one ``n_steps``) after which the validation AUC is measured."""
        count = min(self.evaluations, n_steps)
        return sorted({math.ceil(n_steps * (i + 1) / count) for i in range(count)})


SCRATCH_BUDGET: Final = TrainingBudget()
"""The budget of a network trained from random weights."""

FINE_TUNING_BUDGET: Final = TrainingBudget(epochs=4.0, min_images=50_000, max_images=400_000, evaluations=8, patience=3)
"""The budget of a network that starts from pretrained weights (:mod:`egid.models.pretrained`): it already
separates the classes, so a few passes adapt it to the user's data. On the 2000 + 2000 Geant4 events (1,867
training images per fold) the validation AUC peaked after 12k-25k images (0.775 before fine-tuning, 0.780-0.787
after); on egid's own simulation no fold beat the pretrained weights, and early stopping kept them."""
