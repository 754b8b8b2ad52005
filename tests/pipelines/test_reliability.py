"""No data lost: an output never replaces an input, a run being read or an existing file unasked; a full,
read-only or forbidden output is one line and exit 2 with nothing half-written; numeric options are bounded; the
library refuses unusable arrays with one InputError line; a refused input gives exactly one stderr line."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import egid
from egid.detector import InputError
from egid.pipelines.options import BOUNDS, MAX_THREADS
from egid.pipelines.run import main
from tests.conftest import toy_crops, write_crops
from tests.runs import egid_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("reliability-data")
    return write_crops(root / "e.hdf5", 120, label=1.0, seed=3), write_crops(root / "p.hdf5", 120, label=0.0, seed=4)


@pytest.fixture(scope="module")
def run_dir(files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reliability-run") / "run"
    return egid_run(*files, out, "--no-cnn", "--trials", "1", "--no-trigger", "--threads", "1")


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its inode and bytes (a replaced or rewritten file shows)."""
    return {str(p): (p.stat().st_ino, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], says: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("egid: error: ") and says in err, err
    return err


# ---- 1. Outputs that name an input, a run being read, or an existing file -----------------------------------------

Case = Callable[[Path, tuple[Path, Path], Path], list[str]]


def _link(target: Path, link: Path, *, hard: bool = False) -> Path:
    (os.link if hard else os.symlink)(target, link)
    return link


def _crops_named_csv(tmp: Path, files: tuple[Path, Path]) -> Path:
    """An HDF5 crop file whose name ends in .csv, so predict's --output could name it."""
    data = tmp / "crops.csv"
    data.write_bytes(files[0].read_bytes())
    return data


INPUT_CASES: dict[str, Case] = {
    "features --output = --electrons": lambda t, f, r: [
        "features", "--electrons", str(f[0]), "--photons", str(f[1]), "--output", str(f[0])],
    "features --output = a symlink to --photons": lambda t, f, r: [
        "features", "--electrons", str(f[0]), "--photons", str(f[1]), "--output", str(_link(f[1], t / "l.parquet"))],
    "features --output = a hard link to --photons": lambda t, f, r: [
        "features", "--electrons", str(f[0]), "--photons", str(f[1]),
        "--output", str(_link(f[1], t / "h.parquet", hard=True))],
    "features --output = --data through a dotted path": lambda t, f, r: [
        "features", "--data", str(f[0]), "--output", str(f[0].parent / "." / f[0].name)],
    "predict --output = --data": lambda t, f, r: [
        "predict", "--run-dir", str(r), "--data", str(_crops_named_csv(t, f)), "--output", str(t / "crops.csv")],
    "predict --output = a symlink to --data": lambda t, f, r: [
        "predict", "--run-dir", str(r), "--data", str(_crops_named_csv(t, f)),
        "--output", str(_link(t / "crops.csv", t / "scores.csv"))],
    "predict --output inside the run": lambda t, f, r: [
        "predict", "--run-dir", str(r), "--data", str(f[0]), "--output", str(r / "scores.parquet"), "--overwrite"],
    "evaluate --out-dir = the run": lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--data", str(f[0]), "--out-dir", str(r), "--overwrite"],
    "evaluate --out-dir = the run's models/": lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--data", str(f[0]), "--out-dir", str(r / "models"), "--overwrite"],
    "evaluate --run-dir models/ --out-dir = the run": lambda t, f, r: [
        "evaluate", "--run-dir", str(r / "models"), "--data", str(f[0]), "--out-dir", str(r), "--overwrite"],
    "evaluate --out-dir = a symlink to the run": lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--data", str(f[0]), "--out-dir", str(_link(r, t / "run-link")),
        "--overwrite"],
    "evaluate --out-dir = a new folder in the run's plots/": lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--data", str(f[0]), "--out-dir", str(r / "plots" / "mine")],
    "deploy --out-dir inside the run": lambda t, f, r: [
        "deploy", "--run-dir", str(r), "--target", "c", "--table", str(t / "t.parquet"),
        "--out-dir", str(r / "models" / "deployed")],
}  # fmt: skip


@pytest.mark.parametrize("case", INPUT_CASES)
def test_an_output_naming_an_input_or_the_run_read_is_refused(
    case: str, files: tuple[Path, Path], run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = INPUT_CASES[case](tmp_path, files, run_dir)
    watched = [files[0].parent, run_dir, tmp_path]
    before = [_snapshot(root) for root in watched]
    err = _refused(argv, capsys, "")
    assert "is the input" in err or "which this command reads" in err, err
    assert [_snapshot(root) for root in watched] == before, "a file was created, replaced or changed"


def test_pretrain_output_naming_the_shipped_weights_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from egid.models.pretrained import SHIPPED_WEIGHTS

    before = SHIPPED_WEIGHTS.read_bytes()
    for path in (SHIPPED_WEIGHTS, SHIPPED_WEIGHTS.with_suffix(".json")):
        _refused(["pretrain", "--output", str(path.with_suffix(".pt")), "--overwrite"], capsys, "is the input")
    assert SHIPPED_WEIGHTS.read_bytes() == before


EXISTING_CASES: dict[str, tuple[str, Case]] = {
    "features": ("out.parquet", lambda t, f, r: [
        "features", "--electrons", str(f[0]), "--photons", str(f[1]), "--output", str(t / "out.parquet")]),
    "predict": ("out.csv", lambda t, f, r: [
        "predict", "--run-dir", str(r), "--data", str(f[0]), "--output", str(t / "out.csv")]),
    "pretrain": ("w.pt", lambda t, f, r: ["pretrain", "--output", str(t / "w.pt"), "--events-per-class", "4"]),
    "pretrain (its .json)": ("w.json", lambda t, f, r: [
        "pretrain", "--output", str(t / "w.pt"), "--events-per-class", "4"]),
    "simulate": ("sim/photon.hdf5", lambda t, f, r: [
        "simulate", "--events-per-class", "4", "--out-dir", str(t / "sim")]),
    "evaluate": ("evaluation/notes.txt", lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--data", str(f[0]), "--out-dir", str(t / "evaluation")]),
}  # fmt: skip


@pytest.mark.parametrize("case", EXISTING_CASES)
def test_an_existing_output_is_not_replaced_without_overwrite(
    case: str, files: tuple[Path, Path], run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing, argv = EXISTING_CASES[case]
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("the user's file")
    before = _snapshot(tmp_path)
    _refused(argv(tmp_path, files, run_dir), capsys, "already exists; give --overwrite to replace it")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["features", "simulate"])
def test_overwrite_replaces_an_existing_output(
    command: str, files: tuple[Path, Path], run_dir: Path, tmp_path: Path
) -> None:
    existing, argv = EXISTING_CASES[command]
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("old")
    assert main([*argv(tmp_path, files, run_dir), "--overwrite"]) == 0
    assert (tmp_path / existing).read_bytes()[:4] != b"old"
    assert not [p for p in tmp_path.rglob(".*") if ".partial-" in p.name or p.name.endswith(".tmp")]


# ---- 3. A full, read-only or forbidden output (monkeypatched writes: always runs) ---------------------------------

DISK_ERRORS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}


def _full_sink(code: int) -> Callable[..., Any]:
    """``_FailSafeFile.write`` on a disk that fails with ``code``: the error recorded, HDF5 told nothing."""

    def write(self: Any, data: Any) -> int:
        self.error = self.error or OSError(code, os.strerror(code))
        return memoryview(data).nbytes

    return write


def _failing(code: int, *, text: bool = False) -> Callable[..., Any]:
    """A write that fails as the disk would: with ``errno``, or (``text``) only in the message, as HDF5/Arrow do."""

    def write(*args: Any, **kwargs: Any) -> Any:
        if text:
            raise OSError(f"IOError: error writing to file: {os.strerror(code)}")
        raise OSError(code, os.strerror(code))

    return write


WRITES: dict[str, tuple[str, Callable[[Path, tuple[Path, Path], Path], list[str]], str]] = {
    "features": ("pandas.DataFrame.to_parquet", lambda t, f, r: [
        "features", "--electrons", str(f[0]), "--photons", str(f[1]), "--output", str(t / "out" / "f.parquet")],
        "out/f.parquet"),
    "predict": ("pandas.DataFrame.to_csv", lambda t, f, r: [
        "predict", "--run-dir", str(r), "--data", str(f[0]), "--output", str(t / "out" / "s.csv")], "out/s.csv"),
    "simulate": ("egid.detector.writer._FailSafeFile.write", lambda t, f, r: [
        "simulate", "--events-per-class", "3", "--out-dir", str(t / "out")], "out"),
    "evaluate": ("egid.pipelines.commands.evaluate.publish", lambda t, f, r: [
        "evaluate", "--run-dir", str(r), "--electrons", str(f[0]), "--photons", str(f[1]), "--out-dir", str(t / "out")],
        "out"),
    "run (report)": ("egid.pipelines.commands.run_all.publish", lambda t, f, r: [
        "run", "--electrons", str(f[0]), "--photons", str(f[1]), "--no-cnn", "--trials", "1", "--no-trigger",
        "--cache-dir", str(t / "cache"), "--out-dir", str(t / "out")], "out"),
    "run (tuning journal)": ("egid.models.tuning.fit_tree_model", lambda t, f, r: [
        "run", "--electrons", str(f[0]), "--photons", str(f[1]), "--no-cnn", "--trials", "1", "--no-trigger",
        "--cache-dir", str(t / "cache"), "--out-dir", str(t / "out")], "out"),
}  # fmt: skip


@pytest.mark.parametrize("code", DISK_ERRORS, ids=[errno.errorcode[c] for c in DISK_ERRORS])
@pytest.mark.parametrize("command", WRITES)
def test_a_failing_write_is_one_line_and_leaves_nothing(
    command: str,
    code: int,
    files: tuple[Path, Path],
    run_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target, argv, output = WRITES[command]
    runs_before = _snapshot(run_dir)
    with monkeypatch.context() as patch:
        if command == "simulate":
            patch.setattr(target, _full_sink(code))
        else:
            patch.setattr(target, _failing(code, text=code == errno.ENOSPC and command == "features"))
        _refused(argv(tmp_path, files, run_dir), capsys, f"{DISK_ERRORS[code]} while writing")
    assert not (tmp_path / output).exists(), f"{output} was left half-written"
    left = [p for p in tmp_path.rglob("*") if ".partial-" in p.name or p.name.endswith(".tmp")]
    assert left == [], left
    assert _snapshot(run_dir) == runs_before


# ---- 6. Numeric options -------------------------------------------------------------------------------------------

BOUNDED = {
    "--threads": ("run", MAX_THREADS + 1),
    "--workers": ("features", MAX_THREADS + 1),
    "--top": ("importances", 10**9),
    "--trials": ("run", 10**9),
    "--stacked-trials": ("run", 10**9),
    "--heartbeat": ("tune", 10**7),
    "--timeout": ("run", 10.0**12),
    "--cnn-folds": ("run", 10**6),
    "--max-events": ("run", 10**15),
    "--events-per-class": ("simulate", 10**15),
}


@pytest.mark.parametrize("option", BOUNDED)
def test_a_numeric_option_beyond_its_upper_bound_is_one_line(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command, value = BOUNDED[option]
    argv = [
        command,
        option,
        str(value),
        *(["--out-dir", str(tmp_path / "out")] if command in ("run", "simulate") else []),
    ]
    _refused(argv, capsys, f"argument {option}: must be")
    assert not (tmp_path / "out").exists()


def test_every_bound_has_an_upper_limit() -> None:
    assert all(bound.high is not None for bound in BOUNDS.values())


# ---- 8. The library: one InputError line for arrays it cannot use -------------------------------------------------


def _arrays() -> dict[str, Any]:
    import torch

    crops = toy_crops(4, label=1.0, seed=5)
    huge = crops.astype(np.float64)
    huge[1, 3, 3, 0] = 1e30
    late = crops.copy()
    late[2, 16, 16, 1] = 1e9
    return {
        "torch tensor that requires grad": torch.tensor(crops, requires_grad=True),
        "complex array": crops.astype(np.complex64),
        "huge finite energy": huge,
        "huge finite time": late,
        "NaN": np.where(np.arange(2)[None, None, None, :] == 0, np.nan, crops),
        "strings": np.full((4, 32, 32, 2), "a"),
        "wrong shape": crops[:, :16],
        "no crops": crops[:0],
    }


@pytest.mark.parametrize("case", list(_arrays()))
def test_library_predict_refuses_an_unusable_array(case: str, run_dir: Path) -> None:
    with pytest.raises(InputError) as caught:
        egid.load(run_dir).predict(_arrays()[case])
    assert "\n" not in str(caught.value) and str(caught.value).startswith("images"), caught.value


def test_library_predict_scores_a_detached_tensor(run_dir: Path) -> None:
    import torch

    crops = toy_crops(4, label=1.0, seed=5)
    scores = egid.load(run_dir).predict(torch.tensor(crops, requires_grad=True).detach())
    pd.testing.assert_frame_equal(scores, egid.load(run_dir).predict(crops))


# ---- 9. A refused input gives exactly one stderr line, whatever the command ---------------------------------------

BAD_INPUTS: dict[str, Callable[[Path, Path], list[str]]] = {
    "run": lambda t, r: ["run", "--electrons", str(t / "no.hdf5"), "--photons", str(t / "no.hdf5"),
                         "--out-dir", str(t / "out")],
    "run (huge values)": lambda t, r: ["run", "--data", str(_huge_file(t)), "--out-dir", str(t / "out"),
                                       "--cache-dir", str(t / "cache")],
    "run (bad --cnn-init after the inputs)": lambda t, r: [
        "run", "--electrons", str(write_crops(t / "e.hdf5", 40, label=1.0)), "--photons",
        str(write_crops(t / "p.hdf5", 40, label=0.0, seed=1)), "--cnn-init", str(t / "missing.pt"),
        "--out-dir", str(t / "out"), "--cache-dir", str(t / "cache")],
    "tune": lambda t, r: ["tune", "--storage", f"sqlite:///{t}/missing/db.sqlite", "--study-name", "s"],
    "check": lambda t, r: ["check", "--data", str(_huge_file(t))],
    "features": lambda t, r: ["features", "--data", str(_huge_file(t)), "--output", str(t / "f.parquet")],
    "simulate": lambda t, r: ["simulate", "--events-per-class", "0", "--out-dir", str(t / "out")],
    "pretrain": lambda t, r: ["pretrain", "--output", str(t / "no-dir-file" / "w.pt")],
    "importances": lambda t, r: ["importances", "--run-dir", str(t / "no-run")],
    "evaluate": lambda t, r: ["evaluate", "--run-dir", str(r), "--data", str(_huge_file(t)),
                              "--out-dir", str(t / "out")],
    "predict": lambda t, r: ["predict", "--run-dir", str(r), "--data", str(_huge_file(t)),
                             "--output", str(t / "s.csv")],
    "deploy": lambda t, r: ["deploy", "--run-dir", str(r), "--target", "c", "--table", str(t / "none.parquet"),
                            "--out-dir", str(t / "out")],
}  # fmt: skip


def _huge_file(tmp: Path) -> Path:
    """A labelled file of both classes whose last event holds a finite energy far beyond physics (1e30 GeV/50)."""
    from egid.detector import EventWriter

    x = np.concatenate([toy_crops(30, label=1.0, seed=1), toy_crops(30, label=0.0, seed=2)])
    x[-1, 16, 16, 0] = 1e30
    path = tmp / "huge.hdf5"
    with EventWriter(path) as writer:
        writer.append(x, np.r_[np.ones(30), np.zeros(30)].astype(np.float32))
    return path


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_a_refused_input_is_exactly_one_stderr_line(
    case: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "no-dir-file").write_text("a file where a folder is expected")
    argv = BAD_INPUTS[case](tmp_path, run_dir)
    capsys.readouterr()
    before = sorted(p.name for p in tmp_path.rglob("*") if p.name != "cache")
    _refused(argv, capsys, "")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.name != "cache") == before
