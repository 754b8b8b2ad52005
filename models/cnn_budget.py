"""The CNN head's budget defaults, in a module without torch so that the command line and the run's settings
read the same numbers as the training code without importing torch.
"""

from __future__ import annotations

from typing import Final

__all__ = ("DEFAULT_FOLDS", "DEFAULT_MAX_EPOCHS")

DEFAULT_FOLDS: Final = 3
"""K of the CNN's cross-fitting: each fold's network trains on (K - 1) / K of the training split, so the cost
grows like K - 1; the out-of-fold score needs K >= 2."""

DEFAULT_MAX_EPOCHS: Final = 6
"""Upper limit of training epochs per network (early stopping may stop sooner). On 100k simulated images the
validation AUC still rises slowly at epoch 6; 3 folds of 6 epochs fit the default run's budget on 2 CPU cores."""
