"""SIGINT and SIGTERM at several points of every writing command: exit 130 / 143, one ``egid: interrupted`` line and
no traceback, no temporary file or partial folder left, and the same command then succeeds.

Each command runs as ``python -c _SLOWED`` (a subprocess, as a user's shell runs it) with one function of egid or
pandas wrapped so that it stops and waits, before or after doing its work, having touched a marker file; the signal
is sent once the marker appears, so it lands at that point every time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from egid.pipelines.run import main
from tests.conftest import write_crops
from tests.runs import egid_run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240
SLOW_TO_RERUN = ("pretrain",)
"""Commands whose rerun takes minutes whatever the events (pretraining runs a fixed budget of CNN steps)."""

_SLOWED = """
import importlib, os, sys, time
from pathlib import Path

target, when, marker = sys.argv[1:4]
parts = target.split(".")
for cut in range(len(parts) - 1, 0, -1):
    try:
        owner = importlib.import_module(".".join(parts[:cut]))
    except ImportError:
        continue
    for name in parts[cut:-1]:
        owner = getattr(owner, name)
    break
original = getattr(owner, parts[-1])

def slowed(*args, **kwargs):
    if when == "after":
        original(*args, **kwargs)
    Path(marker).touch()
    time.sleep(600)

setattr(owner, parts[-1], slowed)
sys.path.insert(0, os.getcwd())
from egid.pipelines.run import main
sys.exit(main(sys.argv[4:]))
"""

Argv = Callable[[Path, "Inputs"], list[str]]


class Inputs:
    """The data every command reads: crop files, a finished run and a feature table of it."""

    def __init__(self, root: Path) -> None:
        self.electrons = write_crops(root / "e.hdf5", 120, label=1.0, seed=11)
        self.photons = write_crops(root / "p.hdf5", 120, label=0.0, seed=12)
        self.run = egid_run(self.electrons, self.photons, root / "run", "--no-cnn", "--trials", "1", "--no-trigger")
        self.table = root / "table.parquet"
        assert main(["features", *self.files, "--output", str(self.table)]) == 0

    @property
    def files(self) -> list[str]:
        return ["--electrons", str(self.electrons), "--photons", str(self.photons)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("signals"))


def _tune(t: Path, i: Inputs) -> list[str]:
    return ["tune", *i.files, "--cache-dir", str(t / "cache"), "--storage", f"sqlite:///{t}/tune.db",
            "--study-name", "s", "--trials", "2", "--no-trigger", "--threads", "1"]  # fmt: skip


def _run(t: Path, i: Inputs) -> list[str]:
    return ["run", *i.files, "--no-cnn", "--trials", "1", "--no-trigger", "--threads", "1",
            "--cache-dir", str(t / "cache"), "--out-dir", str(t / "out")]  # fmt: skip


#: Command -> its command line, and (point name -> the wrapped function and whether it stops before or after it).
COMMANDS: dict[str, tuple[Argv, dict[str, tuple[str, str]]]] = {
    "features": (
        lambda t, i: ["features", *i.files, "--output", str(t / "out.parquet")],
        {"computing": ("egid.features.extract_table", "before"),
         "writing": ("pandas.DataFrame.to_parquet", "after")},
    ),
    "predict": (
        lambda t, i: ["predict", "--run-dir", str(i.run), "--data", str(i.electrons), "--output", str(t / "s.csv")],
        {"scoring": ("egid.models.bundle.ModelBundle.predict", "before"),
         "writing": ("pandas.DataFrame.to_csv", "after")},
    ),
    "simulate": (
        lambda t, i: ["simulate", "--events-per-class", "20", "--out-dir", str(t / "out")],
        {"first file": ("egid.detector.writer.EventWriter.append", "after"),
         "starting": ("egid.simulation.write_sample", "before")},
    ),
    "pretrain": (
        lambda t, i: ["pretrain", "--output", str(t / "w.pt"), "--events-per-class", "40", "--threads", "1"],
        {"training": ("egid.models.pretrained.pretrain", "before")},
    ),
    "run": (
        _run,
        {"features": ("egid.features.cached_table", "before"),
         "first trial": ("egid.models.tuning.fit_tree_model", "before"),
         "report": ("egid.evaluation.publish.publish", "after")},
    ),
    "evaluate": (
        lambda t, i: ["evaluate", "--run-dir", str(i.run), *i.files, "--out-dir", str(t / "out")],
        {"scoring": ("egid.models.bundle.ModelBundle.score", "before"),
         "report": ("egid.evaluation.publish.publish", "after")},
    ),
    "deploy": (
        lambda t, i: ["deploy", "--run-dir", str(i.run), "--target", "c", "--table", str(i.table),
                      "--max-events", "50", "--model", "xgboost", "--out-dir", str(t / "out")],
        {"building": ("egid.deploy.targets.deploy_model", "after"),
         "report": ("egid.deploy.report.write_report", "after")},
    ),
    "tune": (_tune, {"first trial": ("egid.models.tuning.fit_tree_model", "before")}),
}  # fmt: skip

SIGNALS = (signal.SIGINT, signal.SIGTERM)
CASES = [
    (command, point, sig)
    for command, (_, points) in COMMANDS.items()
    for k, point in enumerate(points)
    for sig in (SIGNALS if len(points) == 1 else SIGNALS[k % 2 : k % 2 + 1])
]
"""Every point of every command, each with one signal, alternating so that each command gets both: a signal only
chooses the exception the handler raises (KeyboardInterrupt or Terminated), the cleanup after it is one path."""


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".partial-" in p.name or (p.name.startswith(".") and p.name.endswith(".tmp"))]


@pytest.mark.parametrize(("command", "point", "sig"), CASES, ids=[f"{c}-{p}-{s.name}" for c, p, s in CASES])
def test_a_signal_leaves_nothing_and_the_command_then_succeeds(
    command: str, point: str, sig: signal.Signals, inputs: Inputs, tmp_path: Path
) -> None:
    argv_of, points = COMMANDS[command]
    target, when = points[point]
    argv = argv_of(tmp_path, inputs)
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOWED, target, when, str(marker), *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not marker.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{command} did not reach {target} in time"
        time.sleep(0.05)
    os.kill(process.pid, sig)
    _, err = process.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert process.returncode == 128 + sig, err
    assert "Traceback" not in err and lines[-1].startswith("egid: interrupted; "), err
    assert sum("interrupted" in line for line in lines) == 1, err
    assert _leftovers(tmp_path) == [] and _leftovers(inputs.run) == []
    kept = "kept" in lines[-1] or "stay in" in lines[-1]
    assert kept or lines[-1] == "egid: interrupted; nothing written", err
    if not kept:
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.parquet").exists()
    if command in SLOW_TO_RERUN:
        return
    rerun = [*argv, "--resume"] if command == "run" and kept else argv
    assert main(rerun) == 0


@pytest.mark.skipif(not Path("/usr/include/nlohmann/json.hpp").exists(), reason="conifer's C++ emulation needs "
                    "nlohmann-json (.ci/run installs nlohmann-json3-dev)")  # fmt: skip
@pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep (procps) to see conifer's compiler start")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_terminal_group_during_conifers_compile_is_an_interrupt(
    sig: signal.Signals, inputs: Inputs, tmp_path: Path
) -> None:
    """Ctrl-C reaches the whole foreground process group, g++ included; conifer reports the killed g++ as a compile
    failure, which must still end as one interrupted line (it was a traceback)."""
    argv = ["deploy", "--run-dir", str(inputs.run), "--target", "conifer", "--table", str(inputs.table),
            "--max-events", "50", "--model", "xgboost", "--widths", "8", "--out-dir", str(tmp_path / "o")]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "egid.pipelines.run", *argv], cwd=REPO, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while subprocess.run(["pgrep", "-g", str(process.pid), "cc1plus"], capture_output=True, check=False).returncode:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "conifer started no compiler in time"
        time.sleep(0.05)
    os.killpg(process.pid, sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + sig, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "egid: interrupted; nothing written", err
    assert _leftovers(tmp_path) == [] and not (tmp_path / "o").exists()
