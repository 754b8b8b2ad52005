"""Tests for egid.features.feature: the Feature record documents one column (doc text, unit, latex, family)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from egid.features.feature import Feature
from egid.features.registry import REGISTRY

UNITS = {"GeV", "ns", "crystals", "count", "flag", "dimensionless"}


def _family(batch: object) -> dict[str, np.ndarray]:
    return {"toy": np.zeros(1)}


def _other_family(batch: object) -> dict[str, np.ndarray]:
    return {"toy": np.ones(1)}


TOY = Feature("toy", "GeV", "E_toy = sum_i E_i", "A toy energy sum.", _family, latex=r"E_\mathrm{toy}")


def test_doc_is_name_unit_description_and_formula() -> None:
    assert TOY.doc == "toy [GeV]: A toy energy sum. Formula: E_toy = sum_i E_i"


def test_fields_are_stored_as_given() -> None:
    assert (TOY.name, TOY.unit, TOY.formula, TOY.description) == (
        "toy",
        "GeV",
        "E_toy = sum_i E_i",
        "A toy energy sum.",
    )
    assert TOY.latex == r"E_\mathrm{toy}"
    assert TOY.compute is _family


def test_latex_defaults_to_empty() -> None:
    plain = Feature("toy", "GeV", "f", "d", _family)
    assert plain.latex == ""
    assert "latex" not in plain.doc


def test_record_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TOY.unit = "ns"  # type: ignore[misc]


def test_equality_ignores_the_family_function_but_not_the_text() -> None:
    same_text = Feature("toy", "GeV", "E_toy = sum_i E_i", "A toy energy sum.", _other_family, latex=r"E_\mathrm{toy}")
    assert same_text == TOY
    assert hash(same_text) == hash(TOY)
    assert dataclasses.replace(TOY, unit="ns") != TOY
    assert dataclasses.replace(TOY, latex="x") != TOY


def test_repr_leaves_the_family_function_out() -> None:
    text = repr(TOY)
    assert "toy" in text
    assert "GeV" in text
    assert "_family" not in text
    assert "compute" not in text


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_feature_is_documented(name: str) -> None:
    feature = REGISTRY[name]
    assert feature.name == name
    assert feature.unit in UNITS
    assert feature.formula.strip()
    assert feature.description.strip()
    assert feature.latex.strip(), f"{name}: registry features carry LaTeX"
    assert not feature.latex.startswith("$")
    assert not feature.latex.endswith("$")
    assert feature.doc.startswith(f"{name} [{feature.unit}]: ")
    assert feature.doc.endswith(f"Formula: {feature.formula}")
    assert callable(feature.compute)
