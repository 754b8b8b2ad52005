"""The deploy targets: deploy_model writing and
checking compiled C, or refusing a precision too small for the scaled firmware before anything is built."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egid.deploy.targets import DEFAULT_HLS_WIDTH, DEFAULT_SCAN_WIDTHS, TARGETS, deploy_model
from egid.detector import InputError
from egid.features.extract import LABEL_COLUMN
from egid.models.trees import TREE_KINDS, TreeKind, TreeModel


def test_the_targets_and_scan_defaults() -> None:
    assert TARGETS == ("conifer", "c")
    assert list(DEFAULT_SCAN_WIDTHS) == sorted(set(DEFAULT_SCAN_WIDTHS))
    assert DEFAULT_HLS_WIDTH in DEFAULT_SCAN_WIDTHS and DEFAULT_HLS_WIDTH == 18  # conifer's default width


@pytest.fixture(scope="module")
def labelled_table(deploy_events: tuple[pd.DataFrame, np.ndarray]) -> pd.DataFrame:
    X, y = deploy_events
    return X.assign(**{LABEL_COLUMN: y}).reset_index(drop=True)


@pytest.mark.parametrize("kind", TREE_KINDS)
def test_compiled_c_is_written_and_checked_on_every_event_when_asked_for_more(
    kind: TreeKind, deploy_models: Mapping[TreeKind, TreeModel], labelled_table: pd.DataFrame, tmp_path: Path
) -> None:
    model = deploy_models[kind]
    section = deploy_model(model, tmp_path, labelled_table, tmp_path / kind, target="c", max_events=10**6)
    undefined = int(labelled_table[list(model.feature_names)].isna().any(axis=1).sum())
    assert undefined > 0
    assert section == {
        "target": "c",
        "model": kind,
        "library": f"{kind}.so",
        "events": len(labelled_table),
        "events_with_undefined_features": undefined,
        "max_abs_probability_difference": pytest.approx(0.0, abs=1e-6),
    }
    assert {p.name for p in (tmp_path / kind).iterdir()} == {"src", f"{kind}.so"}


def test_compiled_c_is_checked_on_at_most_max_events(
    deploy_models: Mapping[TreeKind, TreeModel], labelled_table: pd.DataFrame, tmp_path: Path
) -> None:
    section = deploy_model(
        deploy_models["xgboost"], tmp_path, labelled_table, tmp_path / "c", target="c", max_events=300
    )
    assert section["events"] == 300
    assert 0 < section["events_with_undefined_features"] < 300


def test_a_precision_too_small_for_the_scaled_firmware_is_refused_before_building(
    deploy_models: Mapping[TreeKind, TreeModel], labelled_table: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(
        InputError,
        match=r"^precision ap_fixed<6,1>: the input-scaled thresholds and scores need \d+ integer bits and a width "
        r"above \d+; give more bits or turn the input scaling off$",
    ):
        deploy_model(
            deploy_models["xgboost"],
            tmp_path,
            labelled_table,
            tmp_path / "fw",
            target="conifer",
            max_events=500,
            precision="ap_fixed<6,1>",
        )
    assert list(tmp_path.iterdir()) == []
