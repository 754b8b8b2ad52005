"""Every writing command against a real small filesystem that is full, or mounted read-only: one error line, exit
status 2, no crash (``egid simulate`` once segfaulted closing its HDF5 file) and nothing left on that filesystem.

The filesystems are 1 MiB tmpfs mounts, which needs root (or CAP_SYS_ADMIN); where mounting is impossible the
tests skip and say why. ``tests/pipelines/test_reliability.py`` covers the same errors with patched writes on
every machine."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from egid.pipelines.run import main
from tests.conftest import write_crops
from tests.runs import egid_run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
FILLER = "filler"


def _mount(folder: Path, *options: str) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(["size=1m", *options]), "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'mount failed'}); needs root")


@contextlib.contextmanager
def _small_filesystem(folder: Path, *, read_only: bool) -> Iterator[Path]:
    """A 1 MiB tmpfs at ``folder``: filled to the last byte, or empty and read-only; unmounted afterwards."""
    folder.mkdir()
    _mount(folder)
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        else:
            with open(folder / FILLER, "wb", buffering=0) as filler, contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("full-disk")
    electrons = write_crops(root / "e.hdf5", 120, label=1.0, seed=21)
    photons = write_crops(root / "p.hdf5", 120, label=0.0, seed=22)
    run = egid_run(electrons, photons, root / "run", "--no-cnn", "--trials", "1", "--no-trigger", "--threads", "1")
    table = root / "table.parquet"
    assert main(["features", "--electrons", str(electrons), "--photons", str(photons), "--output", str(table)]) == 0
    return {"electrons": electrons, "photons": photons, "run": run, "table": table, "cache": root / "cache"}


def _files(i: dict[str, Path]) -> list[str]:
    return ["--electrons", str(i["electrons"]), "--photons", str(i["photons"])]


COMMANDS: dict[str, Callable[[Path, dict[str, Path]], list[str]]] = {
    "features": lambda d, i: ["features", *_files(i), "--output", str(d / "f.parquet")],
    "predict": lambda d, i: ["predict", "--run-dir", str(i["run"]), "--data", str(i["electrons"]),
                             "--output", str(d / "s.parquet")],
    "simulate": lambda d, i: ["simulate", "--events-per-class", "300", "--out-dir", str(d / "sim")],
    "run": lambda d, i: ["run", *_files(i), "--no-cnn", "--trials", "1", "--no-trigger", "--threads", "1",
                         "--cache-dir", str(i["cache"]), "--out-dir", str(d / "run")],
    "evaluate": lambda d, i: ["evaluate", "--run-dir", str(i["run"]), *_files(i), "--out-dir", str(d / "e")],
    "deploy": lambda d, i: ["deploy", "--run-dir", str(i["run"]), "--target", "c", "--table", str(i["table"]),
                            "--max-events", "50", "--out-dir", str(d / "d")],
}  # fmt: skip


@pytest.mark.parametrize("read_only", [False, True], ids=["full", "read-only"])
@pytest.mark.parametrize("command", COMMANDS)
def test_writing_to_a_full_or_read_only_filesystem_is_one_line(
    command: str, read_only: bool, inputs: dict[str, Path], tmp_path: Path
) -> None:
    with _small_filesystem(tmp_path / "small", read_only=read_only) as small:
        argv = COMMANDS[command](small, inputs)
        done = subprocess.run([sys.executable, "-m", "egid.pipelines.run", *argv], cwd=REPO, capture_output=True,
                              text=True, timeout=600, check=False)  # fmt: skip
        left = sorted(p.name for p in small.iterdir() if p.name != FILLER)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and lines[-1].startswith("egid: error: "), done.stderr
    assert sum(line.startswith("egid: error") for line in lines) == 1, done.stderr
    reasons = ("read-only file system", "not writable") if read_only else (os.strerror(errno.ENOSPC).lower(),)
    assert any(reason in lines[-1] for reason in reasons), done.stderr
    assert left == [], f"left on the filesystem: {left}"
