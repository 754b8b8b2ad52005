"""Run directories under ``reports/runs/`` and the ``reports/latest`` pointer to the newest one.

A run directory holds everything a run produced::

    reports/runs/<name>/
        config.yaml      resolved settings
        metrics.json     metrics (schema in egid.evaluation.metrics)
        report.html      self-contained report; report.md beside it
        plots/           PNG and PDF figures
        models/          exported boosters, CNN folds, manifest.json
        tuning/          Optuna storage, trials tables, best parameters
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from egid.detector import InputError

__all__ = ("REPORTS_DIR", "new_run_dir", "point_latest_to")

REPORTS_DIR = Path("reports")


def new_run_dir(out: str | None, name: str | None, *, resume: bool) -> Path:
    """Return the run directory, creating it.

    ``out`` wins; else ``reports/runs/<name>`` with ``name`` defaulting to a UTC time stamp. Without
    ``resume`` an existing non-empty directory is refused, so one run never overwrites another.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out) if out is not None else REPORTS_DIR / "runs" / (name or stamp)
    if run_dir.exists() and not run_dir.is_dir():
        msg = f"{run_dir}: exists and is not a directory"
        raise InputError(msg)
    if not resume and run_dir.is_dir() and any(run_dir.iterdir()):
        msg = f"{run_dir}: run directory already exists and is not empty (use --resume to continue it)"
        raise InputError(msg)
    if resume and not run_dir.is_dir():
        msg = f"{run_dir}: nothing to resume, no such run directory"
        raise InputError(msg)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def point_latest_to(run_dir: Path) -> Path | None:
    """Make ``reports/latest`` a symbolic link to ``run_dir`` (replaced atomically) and return it.

    Only runs kept under ``reports/`` get the pointer; a run written elsewhere with ``--out`` leaves the
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
