"""The ``metrics.json`` document: its JSON Schema, its version, and the check that a document follows it.

Everything :func:`egid.evaluation.metrics.compute_metrics` returns, and every ``metrics.json`` a run or an evaluation
writes, follows :data:`METRICS_SCHEMA`; readers (the report, users' scripts) can rely on its keys and types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import jsonschema

__all__ = ("METRICS_SCHEMA", "SCHEMA_VERSION", "SPLITS", "validate_metrics")

SPLITS: Final = ("train", "validation", "test")
"""The values of the ``split`` column, in the order tables list them."""
SCHEMA_VERSION: Final = 2
"""Version 2 added ``costs``."""

_NUMBER = {"type": ["number", "null"]}
_FRACTION = {"type": ["number", "null"], "minimum": 0.0, "maximum": 1.0}
_COUNT = {"type": "integer", "minimum": 0}
_SAMPLE = {
    "n_events": _COUNT,
    "n_signal": _COUNT,
    "n_background": _COUNT,
    "auc": _FRACTION,
    "auc_std": {"type": ["number", "null"], "minimum": 0.0},
    "auc_ci": {
        "oneOf": [
            {"type": "null"},
            {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 2, "maxItems": 2},
        ]
    },
    "accuracy": _FRACTION,
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema object requiring exactly ``properties``."""
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


#: JSON Schema (draft 2020-12) of :func:`egid.evaluation.metrics.compute_metrics`'s result. ``null`` marks an
#: undefined value (for example the AUC of a sample holding one class only); see each function's docstring for when.
METRICS_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "egid classifier metrics",
    **_object(
        {
            "schema_version": {"const": SCHEMA_VERSION},
            "models": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
            "splits": {"type": "array", "items": {"enum": list(SPLITS)}, "uniqueItems": True},
            "confidence_level": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "accuracy_threshold": {"type": "number"},
            "signal_efficiencies": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}},
            "eta_bins": {
                "description": "|eta| bin edges, or null when the scores carry no eta",
                "oneOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2},
                ],
            },
            "thresholds_from_test": {
                "type": "boolean",
                "description": "true when some working point's threshold was chosen on the test split itself",
            },
            "results": {"type": "object", "additionalProperties": {"$ref": "#/$defs/model_result"}},
            "comparisons": {
                "description": "paired DeLong tests of AUC_a - AUC_b on the test split (or the last split present)",
                "type": "array",
                "items": {"$ref": "#/$defs/comparison"},
            },
            "costs": {
                "description": "AUC cost of each constrained model against the best of its references, on the "
                "events of the comparisons; empty when none was asked for or there are no comparisons",
                "type": "array",
                "items": {"$ref": "#/$defs/cost"},
            },
        }
    ),
    "$defs": {
        "sample": _object(_SAMPLE),
        "eta_bin": _object({**_SAMPLE, "abs_eta_low": {"type": "number"}, "abs_eta_high": {"type": "number"}}),
        "working_point": _object(
            {
                "target_signal_efficiency": {"type": "number"},
                "threshold": _NUMBER,
                "threshold_source": {"enum": ["validation", "given", "test"]},
                "chosen_signal_efficiency": {
                    **_FRACTION,
                    "description": "signal efficiency on the split the threshold was chosen on (null when given)",
                },
                "evaluated_on": {"const": "test"},
                "n_signal": _COUNT,
                "n_background": _COUNT,
                "n_signal_pass": _COUNT,
                "n_background_pass": _COUNT,
                "signal_efficiency": _FRACTION,
                "background_efficiency": _FRACTION,
                "background_rejection": {
                    "type": ["number", "null"],
                    "minimum": 1.0,
                    "description": "1 / background_efficiency; null when no background passes (infinite) or exists",
                },
            }
        ),
        "model_result": _object(
            {
                "splits": {
                    "type": "object",
                    "propertyNames": {"enum": list(SPLITS)},
                    "additionalProperties": {"$ref": "#/$defs/sample"},
                },
                "working_points": {"type": "array", "items": {"$ref": "#/$defs/working_point"}},
                "eta_bins": {
                    "type": "object",
                    "propertyNames": {"enum": list(SPLITS)},
                    "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/eta_bin"}},
                },
            }
        ),
        "comparison": _object(
            {
                "split": {"enum": list(SPLITS)},
                "model_a": {"type": "string"},
                "model_b": {"type": "string"},
                "auc_difference": {"type": "number"},
                "std": {"type": "number", "minimum": 0},
                "p_value": {**_FRACTION, "description": "two-sided; null when both models rank events identically"},
            }
        ),
        "cost": _object(
            {
                "split": {"enum": list(SPLITS)},
                "model": {"type": "string"},
                "reference": {"type": "string", "description": "the candidate with the highest AUC on this split"},
                "candidates": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "auc": _FRACTION,
                "reference_auc": _FRACTION,
                "auc_cost": {"type": "number", "description": "reference_auc - auc (positive: the model is worse)"},
                "std": {"type": "number", "minimum": 0, "description": "paired DeLong standard deviation"},
                "p_value": {**_FRACTION, "description": "two-sided paired DeLong test of no difference"},
            }
        ),
    },
}


def validate_metrics(metrics: Mapping[str, Any]) -> None:
    """Raise if ``metrics`` does not follow :data:`METRICS_SCHEMA` or is not strict JSON.

    Raises
    ------
    jsonschema.ValidationError
        On a missing or misspelt key, a wrong type, or a value out of range; the message names the path.
    ValueError
        If a number is NaN or infinite (strict JSON has neither; undefined values are ``null``).
    """
    json.dumps(metrics, allow_nan=False)
    jsonschema.validate(metrics, METRICS_SCHEMA, cls=jsonschema.Draft202012Validator)
