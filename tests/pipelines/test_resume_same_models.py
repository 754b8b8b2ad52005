"""An interrupted then resumed run gives the models of an uninterrupted one (same seed, one thread), whatever step
the Ctrl-C or SIGTERM landed in: a trial of the features-only or trigger study, the first stacked trial (the
warm start at the features-only best parameters), or after tuning while the report and models were written."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import egid.models.tuning
from egid.features import FEATURE_NAMES
from egid.models.catalogue import CNN_SCORE
from egid.pipelines.run import main
from egid.pipelines.signals import Terminated
from tests.conftest import write_crops

pytestmark = pytest.mark.slow

TOLERANCE = 1e-6
TREES = ["--trials", "3", "--threads", "1", "--seed", "5"]
CNN = ["--stacked-trials", "2", "--cnn-folds", "2", "--cnn-epochs", "1", "--trials", "2", "--threads", "1"]


def _study_of(x: pd.DataFrame) -> str:
    if CNN_SCORE in x.columns:
        return "stacked"
    return "features_only" if len(x.columns) == len(FEATURE_NAMES) else "trigger"


def _interrupt_fit(study: str, kind: str, call: int, error: type[KeyboardInterrupt]) -> Callable[..., Any]:
    """A stand-in for ``fit_tree_model`` raising ``error`` at its ``call``-th fit (from 0) of ``kind`` in ``study``."""
    real = egid.models.tuning.fit_tree_model
    seen = []

    def fit(fit_kind: str, x_train: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        if fit_kind == kind and _study_of(x_train) == study:
            seen.append(1)
            if len(seen) == call + 1:
                raise error
        return real(fit_kind, x_train, *args, **kwargs)

    return fit


def _interrupt_saving(error: type[KeyboardInterrupt]) -> Callable[..., Any]:
    def save(*args: Any, **kwargs: Any) -> Any:
        raise error

    return save


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("same-models")
    electrons = write_crops(root / "e.hdf5", 150, label=1.0, seed=7)
    photons = write_crops(root / "p.hdf5", 150, label=0.0, seed=8)
    return root, ["--electrons", str(electrons), "--photons", str(photons), "--cache-dir", str(root / "cache")]


def _scores(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "scores.parquet")


def _run(argv: list[str]) -> Path:
    assert main(argv) == 0
    return Path(argv[argv.index("--out-dir") + 1])


@pytest.fixture(scope="module")
def uninterrupted(data: tuple[Path, list[str]]) -> pd.DataFrame:
    root, files = data
    return _scores(_run(["run", *files, "--no-cnn", *TREES, "--out-dir", str(root / "whole")]))


@pytest.fixture(scope="module")
def uninterrupted_cnn(data: tuple[Path, list[str]]) -> pd.DataFrame:
    root, files = data
    return _scores(_run(["run", *files, *CNN, "--out-dir", str(root / "whole-cnn")]))


def _interrupted_then_resumed(
    argv: list[str],
    out: Path,
    patch_at: tuple[str, Callable[..., Any]],
    error: type[KeyboardInterrupt],
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> pd.DataFrame:
    """Run ``argv`` into ``out`` with ``patch_at`` (a dotted name and its stand-in raising ``error``), then resume."""
    with monkeypatch.context() as patch:
        patch.setattr(*patch_at)
        status = main([*argv, "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert status == 128 + (signal.SIGTERM if error is Terminated else signal.SIGINT), err
    assert err.count("\n") == 1 and err.startswith(f"egid: interrupted; kept {out}"), err
    assert not list(out.rglob("*.partial-*")) and not list(out.rglob(".*.tmp")), "a partial output was left"
    assert not (out / "metrics.json").exists() and not (out / "models").exists(), "half a run's outputs were kept"
    assert main(["run", "--out-dir", str(out), "--resume"]) == 0
    return _scores(out)


def _assert_same(resumed: pd.DataFrame, whole: pd.DataFrame) -> None:
    assert list(resumed.columns) == list(whole.columns)
    models = [c for c in whole.columns if c not in ("label", "split", "eta")]
    differences = {name: float(np.max(np.abs(resumed[name] - whole[name]))) for name in models}
    assert max(differences.values()) < TOLERANCE, differences


POINTS = {
    "features-only trial": ("egid.models.tuning.fit_tree_model", "features_only", "lightgbm", 1),
    "last xgboost trial": ("egid.models.tuning.fit_tree_model", "features_only", "xgboost", 2),
    "trigger trial": ("egid.models.tuning.fit_tree_model", "trigger", "xgboost", 1),
    "saving": ("egid.pipelines.commands.run_all.save_model_sets", "", "", 0),
}


CASES = [(point, (KeyboardInterrupt, Terminated)[k % 2]) for k, point in enumerate(POINTS)]
"""Each interruption point once, Ctrl-C and SIGTERM in turn (the signal only picks the exception; resume is one
path)."""


@pytest.mark.parametrize(
    ("point", "error"),
    CASES,
    ids=[f"{point}-{'SIGINT' if e is KeyboardInterrupt else 'SIGTERM'}" for point, e in CASES],
)
def test_resumed_run_gives_the_uninterrupted_models(
    point: str,
    error: type[KeyboardInterrupt],
    data: tuple[Path, list[str]],
    uninterrupted: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, files = data
    target, study, kind, call = POINTS[point]
    stand_in = _interrupt_saving(error) if study == "" else _interrupt_fit(study, kind, call, error)
    argv = ["run", *files, "--no-cnn", *TREES]
    resumed = _interrupted_then_resumed(argv, tmp_path / "run", (target, stand_in), error, monkeypatch, capsys)
    _assert_same(resumed, uninterrupted)


def test_resume_after_the_first_stacked_trial_reruns_the_warm_start(
    data: tuple[Path, list[str]],
    uninterrupted_cnn: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, files = data
    stand_in = _interrupt_fit("stacked", "xgboost", 0, KeyboardInterrupt)
    patch_at = ("egid.models.tuning.fit_tree_model", stand_in)
    resumed = _interrupted_then_resumed(
        ["run", *files, *CNN], tmp_path / "run", patch_at, KeyboardInterrupt, monkeypatch, capsys
    )
    _assert_same(resumed, uninterrupted_cnn)
