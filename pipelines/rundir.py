"""Run directories under ``reports/runs/``, their lock and data record, and the ``reports/latest`` pointer.

A run directory holds everything a run produced::

    reports/runs/<name>/
        .lock            flock'ed by the egid process working in it
        data.json        fingerprint of the input data (a resumed run must read the same)
        config.yaml      resolved settings
        metrics.json     metrics (schema in egid.evaluation.metrics)
        report.html      self-contained report; report.md beside it
        plots/           PNG and PDF figures
        models/          exported boosters, CNN folds, manifest.json
        tuning/          Optuna storage, trials tables, best parameters

Nothing is created before the inputs are validated: :func:`check_new_run_dir` and :func:`check_resumable`
only look; :func:`claim_run_dir` creates (for a new run) and locks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from egid.detector import EventDataset, InputError, atomic_path
from egid.detector.atomic import staging_prefix
from egid.detector.errors import shorten
from egid.detector.paths import check_output_dir

__all__ = (
    "CONFIG_NAME",
    "REPORTS_DIR",
    "TUNING_NAME",
    "check_data_record",
    "check_new_run_dir",
    "check_resumable",
    "claim_run_dir",
    "point_latest_to",
    "run_dir_path",
    "write_data_record",
)

REPORTS_DIR = Path("reports")
CONFIG_NAME = "config.yaml"
TUNING_NAME = "tuning"
"""The folder of the run's Optuna studies."""
LOCK_NAME = ".lock"
DATA_RECORD = "data.json"


def run_dir_path(out_dir: str | None, name: str | None) -> Path:
    """The run directory: ``out_dir``, else ``reports/runs/<name>`` (``name`` defaults to a UTC time stamp).

    Raises
    ------
    InputError
        When ``name`` is not a plain folder name (it may not hold ``/`` or be ``.`` or ``..``).
    """
    if out_dir is not None:
        return Path(out_dir)
    if name is not None and (name in (".", "..") or "/" in name or os.sep in name):
        msg = f"--name: must be a plain folder name, got {name!r}"
        raise InputError(msg)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return REPORTS_DIR / "runs" / (name or stamp)


def _contents(run_dir: Path) -> list[str]:
    return [p.name for p in run_dir.iterdir() if p.name != LOCK_NAME]


def check_new_run_dir(run_dir: Path) -> None:
    """Raise InputError unless a new run can be written to ``run_dir``: absent or empty, and writable."""
    check_output_dir(run_dir)
    if run_dir.is_dir() and _contents(run_dir):
        msg = f"{run_dir}: run directory already exists and is not empty (use --resume to continue it)"
        raise InputError(msg)


def check_resumable(run_dir: Path) -> Path:
    """Return the saved ``config.yaml`` of the run in ``run_dir``, or raise InputError if there is none."""
    if not run_dir.is_dir():
        msg = f"{run_dir}: nothing to resume, no such run directory"
        raise InputError(msg)
    check_output_dir(run_dir)
    config = run_dir / CONFIG_NAME
    if not config.is_file():
        msg = f"{run_dir}: nothing to resume, no {CONFIG_NAME} (not an egid run directory)"
        raise InputError(msg)
    return config


@contextlib.contextmanager
def claim_run_dir(run_dir: Path, *, new: bool) -> Iterator[Path]:
    """Create ``run_dir`` (when ``new``) and hold an exclusive lock on it while the block runs.

    The lock is ``flock`` on ``run_dir/.lock``: the kernel drops it when the process ends, however it ends,
    so a killed run never leaves a stale lock. A second process refuses at once instead of waiting.

    When the block fails, a new run leaves nothing half-written: what it created is removed, except after a
    Ctrl-C or SIGTERM once its Optuna studies exist (``tuning/``), which are kept, with the settings, for
    ``--resume``; a resumed run always keeps its directory and studies. What is kept is added as a note to
    the interrupt, for the command line's one line (:mod:`egid.pipelines.signals`).

    Raises
    ------
    InputError
        When another live process holds the lock, or (``new``) another run filled the directory meanwhile.
    """
    created = new and not run_dir.exists()
    if new:
        run_dir.mkdir(parents=True, exist_ok=True)
    with _locked(run_dir, new=new):  # another process's refusal below must not remove that process's run
        try:
            yield run_dir
        except KeyboardInterrupt as err:
            if not new or (run_dir / TUNING_NAME).is_dir():
                err.add_note(
                    f"kept {run_dir} with its finished trials; egid run --resume --out-dir {run_dir} continues it"
                )
            else:
                _remove_new_run(run_dir, created=created)
            raise
        except BaseException:
            if new:
                _remove_new_run(run_dir, created=created)
            raise


def _remove_new_run(run_dir: Path, *, created: bool) -> None:
    """Remove what a failed new run wrote: the whole folder if it made it, else the folder's contents."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for entry in run_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(run_dir: Path, *, new: bool) -> Iterator[None]:
    """Hold the flock of ``run_dir/.lock`` while the block runs (see :func:`claim_run_dir`)."""
    lock = run_dir / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            msg = f"{run_dir}: another egid process is working in this run directory (it holds {lock}); wait for it"
            raise InputError(msg) from None
        if new and _contents(run_dir):
            msg = f"{run_dir}: run directory already exists and is not empty (use --resume to continue it)"
            raise InputError(msg)
        for stale in run_dir.glob(f"{staging_prefix(run_dir)}*"):  # a SIGKILLed run's unfinished report and models
            shutil.rmtree(stale, ignore_errors=True)
        yield
    finally:
        os.close(fd)


def write_data_record(run_dir: Path, dataset: EventDataset) -> None:
    """Store the fingerprint of the run's input data (content and event selection) in ``data.json``."""
    record = {"fingerprint": dataset.fingerprint(), "files": dataset.paths, "events": len(dataset)}
    with atomic_path(run_dir / DATA_RECORD) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def check_data_record(run_dir: Path, dataset: EventDataset) -> None:
    """Raise InputError unless ``dataset`` is the data the run in ``run_dir`` was started on."""
    path = run_dir / DATA_RECORD
    try:
        record = json.loads(path.read_text())
        fingerprint = str(record["fingerprint"])
    except FileNotFoundError:
        msg = f"{path}: missing, so the run's data cannot be verified; start a new run instead of resuming"
        raise InputError(msg) from None
    except (OSError, ValueError, KeyError, TypeError):
        msg = f"{path}: unreadable data record; start a new run instead of resuming"
        raise InputError(msg) from None
    if fingerprint != dataset.fingerprint():
        msg = (
            f"{dataset.source}: not the data the run in {run_dir} was started on "
            f"({record.get('events')} events of {shorten(', '.join(map(str, record.get('files', []))), 200)}); "
            "a resumed run must read the same events"
        )
        raise InputError(msg)


def point_latest_to(run_dir: Path) -> Path | None:
    """Make ``reports/latest`` a symbolic link to ``run_dir`` (replaced atomically) and return it.

    Only runs kept under ``reports/`` get the pointer; a run written elsewhere with ``--out-dir`` leaves the
    link alone (and None is returned), so an ad-hoc run never hides the last regular one.
    """
    if not run_dir.resolve().is_relative_to(REPORTS_DIR.resolve()):
        return None
    link = REPORTS_DIR / "latest"
    tmp = link.with_name(".latest.tmp")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir.resolve(), REPORTS_DIR.resolve()))
    os.replace(tmp, link)
    return link
