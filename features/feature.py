"""The record that documents one feature: name, unit, formula, physics meaning and the family that computes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from egid.detector.schema import FloatArray

if TYPE_CHECKING:
    from egid.features.crops import CropBatch

__all__ = ("Family", "Feature")

Family = Callable[["CropBatch"], Mapping[str, FloatArray]]
"""A function computing all the features of one family at once: batch -> {name: (N,) float64}."""


@dataclass(frozen=True)
class Feature:
    """One named per-event quantity of the feature table.

    Attributes
    ----------
    name : str
        Column name in the feature table (snake_case, stable: other code depends on it).
    unit : str
        ``"GeV"``, ``"ns"``, ``"crystals"``, ``"count"``, ``"flag"`` or ``"dimensionless"``.
    formula : str
        The definition, in the notation of the family module (E_i crystal energy in GeV, (i, j) = (i-eta, i-phi)
        index, the seed at (16, 16)).
    latex : str
        The same definition as LaTeX maths, without the surrounding ``$`` (for the rendered feature reference);
        empty only for a feature defined outside egid's registry.
    description : str
        One line of physics: what the quantity measures and why it separates electrons from photons.
    compute : Family
        The family function that computes this feature together with its siblings (shared intermediates).
    """

    name: str
    unit: str
    formula: str
    description: str
    compute: Family = field(repr=False, compare=False)
    latex: str = ""

    @property
    def doc(self) -> str:
        """The one-paragraph documentation: ``name [unit]: description  Formula: ...``."""
        return f"{self.name} [{self.unit}]: {self.description} Formula: {self.formula}"
