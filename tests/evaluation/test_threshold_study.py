"""The energy-threshold study: the cut, the one-model and retrained rows, the files and the published figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egid.detector import InputError
from egid.evaluation.threshold_study import (
    MODES,
    PUBLISHED_ACCURACY,
    Cut,
    above_threshold,
    check_thresholds,
    threshold_study,
    write_threshold_study,
)


def _sample(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energies 0-60 GeV, labels 0/1/2 and probabilities that are right above 20 GeV and random below."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0.0, 1.0, 2.0], n // 3)
    energy = rng.uniform(0, 60, labels.size)
    p = rng.dirichlet(np.ones(3), labels.size)
    sure = energy > 20
    p[sure] = 0.05
    p[sure, labels[sure].astype(int)] = 0.9
    return energy, labels, p


def test_the_cut_keeps_the_events_at_or_above_the_threshold() -> None:
    np.testing.assert_array_equal(
        above_threshold([0.0, 9.99, 10.0, 10.5, 30.0], 10.0), [False, False, True, True, True]
    )
    assert above_threshold([0.0], 0.0)[0]  # as published: only events below T go, so T = 0 keeps an empty crop


def test_one_model_rows_are_the_accuracy_of_the_kept_test_events() -> None:
    energy, labels, p = _sample()
    test = np.arange(100, 300)
    study = threshold_study(
        energy, labels, train=np.arange(70), validation=np.arange(70, 100), test=test, test_probabilities={"m": p[test]}
    )
    assert list(study["threshold_gev"]) == [0.0, 10.0, 20.0, 30.0] and set(study["mode"]) == {MODES[0]}
    for _, row in study.iterrows():
        kept = test[energy[test] > row["threshold_gev"]]
        assert row["n_test"] == kept.size
        assert row["accuracy"] == pytest.approx(np.mean(p[kept].argmax(axis=1) == labels[kept]))
    above_20 = study.set_index("threshold_gev").loc[20.0]
    assert above_20["accuracy"] == 1.0 and above_20["pion_eff_at_99"] == 0.0 and above_20["e_vs_gamma_auc"] == 1.0


def test_retrained_models_see_only_events_above_the_threshold() -> None:
    energy, labels, p = _sample()
    train, validation, test = np.arange(150), np.arange(150, 200), np.arange(200, 300)
    calls = []

    def retrain(cuts: Sequence[Cut]) -> list[dict[str, np.ndarray]]:
        calls.append(cuts)
        return [{"m": p[te]} for _, _, te in cuts]

    study = threshold_study(
        energy,
        labels,
        train=train,
        validation=validation,
        test=test,
        test_probabilities={},
        retrain=retrain,
        thresholds=(0, 25),
    )
    assert len(calls) == 1  # every threshold at once, so that the fits may run side by side
    for (tr, va, te), threshold in zip(calls[0], (0, 25), strict=True):
        for rows, part in ((tr, train), (va, validation), (te, test)):
            np.testing.assert_array_equal(rows, part[energy[part] >= threshold])
    assert list(study["mode"]) == [MODES[1]] * 2
    assert list(study["threshold_gev"]) == [0, 25]
    assert list(study["n_train"]) == [cut[0].size for cut in calls[0]]
    assert list(study["n_test"]) == [cut[2].size for cut in calls[0]]


def test_a_class_missing_above_a_threshold_gives_accuracy_only() -> None:
    energy = np.array([5, 5, 5, 50, 50, 50, 5, 5, 5.0])
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2.0])
    p = np.eye(3)[labels.astype(int)]
    test = np.arange(9)
    study = threshold_study(
        energy, labels, train=test, validation=test, test=test, test_probabilities={"m": p}, thresholds=(10,)
    )
    assert study["accuracy"].iloc[0] == 1.0 and np.isnan(study["balanced_accuracy"].iloc[0])


@pytest.mark.parametrize("bad", [(), (-1.0,), (10.0, 10.0), (float("nan"),), (float("inf"),)])
def test_bad_thresholds_are_one_line(bad: tuple[float, ...]) -> None:
    with pytest.raises(InputError, match=r"^--thresholds: expected distinct finite energies >= 0 GeV, got "):
        check_thresholds(bad)


def test_the_files_carry_the_published_figures_labelled_as_another_simulation(tmp_path: Path) -> None:
    energy, labels, p = _sample()
    test = np.arange(300)
    study = threshold_study(energy, labels, train=test, validation=test, test=test, test_probabilities={"m": p})
    paths = write_threshold_study(study, tmp_path, data="Geant4 sample", simulated=True)
    assert all(path.is_file() for path in paths.values())
    document = json.loads(paths["json"].read_text())
    assert document["published"]["accuracy"] == {name: list(v) for name, v in PUBLISHED_ACCURACY.items()}
    assert "different simulation" in document["published"]["note"]
    assert len(document["rows"]) == 4
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"]), study, check_dtype=False)
    assert PUBLISHED_ACCURACY == {"shallow NN (784-10-10-3)": (0.895, 0.904), "CNN": (0.914, 0.933)}


def test_a_model_that_could_not_be_retrained_gives_nan_figures() -> None:
    energy, labels, _ = _sample()
    rows = np.arange(300)

    def retrain(cuts: Sequence[Cut]) -> list[dict[str, np.ndarray]]:
        return [{"m": np.full((te.size, 3), np.nan)} for _, _, te in cuts]

    study = threshold_study(
        energy, labels, train=rows, validation=rows, test=rows, test_probabilities={}, retrain=retrain, thresholds=(0,)
    )
    assert study[["accuracy", "balanced_accuracy", "pion_eff_at_99", "e_vs_gamma_auc"]].isna().all(axis=None)
