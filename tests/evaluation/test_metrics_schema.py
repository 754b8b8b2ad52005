"""The metrics.json schema: a computed document passes, each kind of damage is refused."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

from egid.evaluation.metrics import compute_metrics
from egid.evaluation.metrics_schema import METRICS_SCHEMA, SCHEMA_VERSION, SPLITS, validate_metrics


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    n = 400
    labels = rng.integers(0, 2, n).astype(float)
    scores = pd.DataFrame(
        {
            "label": labels,
            "split": rng.choice(list(SPLITS), n),
            "a": np.clip(0.3 * labels + rng.uniform(0, 0.7, n), 0, 1),
            "b": rng.uniform(0, 1, n),
        }
    )
    return compute_metrics(scores, ["a", "b"])


def test_a_computed_document_follows_the_schema(document: dict[str, Any]) -> None:
    validate_metrics(document)
    assert document["schema_version"] == SCHEMA_VERSION
    assert METRICS_SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert document["splits"] == list(SPLITS)


DAMAGES: dict[str, tuple[Callable[[dict[str, Any]], object], type[Exception]]] = {
    "missing key": (lambda d: d.pop("models"), jsonschema.ValidationError),
    "unknown key": (lambda d: d.__setitem__("unknown_key", 1), jsonschema.ValidationError),
    "other version": (lambda d: d.__setitem__("schema_version", SCHEMA_VERSION + 1), jsonschema.ValidationError),
    "unknown split": (lambda d: d.__setitem__("splits", ["training"]), jsonschema.ValidationError),
    "out of range": (lambda d: d.__setitem__("confidence_level", 1.5), jsonschema.ValidationError),
    "NaN is not JSON": (lambda d: d.__setitem__("confidence_level", math.nan), ValueError),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_damaged_documents_are_refused(document: dict[str, Any], name: str) -> None:
    damage, error = DAMAGES[name]
    damaged = copy.deepcopy(document)
    damage(damaged)
    with pytest.raises(error):
        validate_metrics(damaged)
