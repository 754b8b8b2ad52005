"""Faults: a run killed during tuning resumes without losing a finished trial, an interrupted export keeps the
previous artifact, and the same seed on the same input gives identical metrics."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from egid.detector import InputError
from egid.models import export_tree_model, load_tree_model
from egid.pipelines.run import main
from tests.conftest import write_crops

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("faults")
    electrons = write_crops(root / "e.hdf5", 300, label=1.0, seed=1)
    photons = write_crops(root / "p.hdf5", 300, label=0.0, seed=2)
    return ["--electrons", str(electrons), "--photons", str(photons), "--no-cnn", "--cache-dir", str(root / "cache")]


def _finished(journal: Path) -> list[optuna.trial.FrozenTrial]:
    if not journal.exists():
        return []
    storage = JournalStorage(JournalFileBackend(str(journal)))
    try:
        study = optuna.load_study(study_name="egid-lightgbm", storage=storage)
    except KeyError:  # the study is not created yet
        return []
    return study.get_trials(deepcopy=False, states=FINISHED)


def _finished_trials(journal: Path) -> dict[int, float | None]:
    return {t.number: t.value for t in _finished(journal)}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_tuning_resumes_without_losing_trials(sig: signal.Signals, sample: list[str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    journal = out / "tuning" / "features_only" / "optuna.journal"
    command = [
        sys.executable,
        str(REPO / "pipelines" / "run.py"),
        "run",
        *sample,
        "--trials",
        "500",
        "--out-dir",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(_finished_trials(journal)) < 3:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no three finished trials within 240 s"
        time.sleep(0.2)
    os.kill(process.pid, sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), err
    if sig == signal.SIGINT:
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"egid: interrupted; kept {out}") and "--resume" in last and "Traceback" not in err
    before = _finished_trials(journal)

    argv = ["run", *sample, "--trials", str(len(before) + 2), "--out-dir", str(out), "--resume"]
    assert main(argv) == 0
    after = _finished_trials(journal)
    assert len(after) == len(before) + 2
    assert {n: after[n] for n in before} == before, "a finished trial changed or was lost"
    # The resumed sampler continues: no trial repeats the parameters of one before the kill.
    parameters = [tuple(sorted(t.params.items())) for t in _finished(journal)]
    assert len(set(parameters)) == len(parameters), parameters
    assert (out / "metrics.json").is_file()


def test_rerun_without_resume_refuses_to_overwrite(
    sample: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    assert main(["run", *sample, "--trials", "1", "--out-dir", str(out)]) == 2
    assert "already exists and is not empty (use --resume" in capsys.readouterr().err
    assert (out / "metrics.json").read_text() == "{}"


def test_same_seed_gives_identical_tree_metrics(sample: list[str], tmp_path: Path) -> None:
    texts = []
    for name in ("first", "second"):
        out = tmp_path / name
        assert main(["run", *sample, "--trials", "2", "--seed", "4", "--out-dir", str(out)]) == 0
        texts.append((out / "metrics.json").read_bytes())
    assert texts[0] == texts[1]


@pytest.fixture(scope="module")
def finished_run(sample: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["run", *sample, "--trials", "1", "--out-dir", str(out)]) == 0
    return out


def test_interrupted_export_keeps_the_previous_model(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = Path(shutil.copytree(finished_run, tmp_path / "run"))
    model_dir = out / "models" / "features_only"
    model = load_tree_model(model_dir, "lightgbm")
    booster = model_dir / "lightgbm.txt"
    previous = booster.read_bytes()

    real_write_bytes = Path.write_bytes

    def dies_halfway(path: Path, data: bytes) -> int:
        real_write_bytes(path, data[: len(data) // 2])
        raise KeyboardInterrupt  # the user's Ctrl-C in the middle of the write

    monkeypatch.setattr(Path, "write_bytes", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        export_tree_model(model, model_dir, check_X=None)
    monkeypatch.undo()
    assert booster.read_bytes() == previous
    assert not list(model_dir.glob(".*.tmp"))
    assert load_tree_model(model_dir, "lightgbm").best_iteration == model.best_iteration


def test_a_half_written_model_would_be_refused(finished_run: Path, tmp_path: Path) -> None:
    out = Path(shutil.copytree(finished_run, tmp_path / "run"))
    booster = out / "models" / "features_only" / "lightgbm.txt"
    booster.write_bytes(booster.read_bytes()[:1000])
    with pytest.raises(InputError, match="SHA-256 differs"):
        load_tree_model(booster.parent, "lightgbm")
