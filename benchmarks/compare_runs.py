"""Run ``egid run`` from two versions of the code on the same data, seed and threads, and compare every score.

A redesign that moves code must not change a model: this script checks out a reference commit into a temporary
git worktree, runs the same ``egid run`` from it and from the working tree (each with its own cache, so nothing
computed by one is reused by the other), and prints the largest absolute difference of every score column of the
two runs' ``scores.parquet``. It exits 1 when a difference reaches ``--tolerance``.

Usage::

    python benchmarks/compare_runs.py --ref ba5aa4c [--events-per-class 2000] [--trials 2] [--no-cnn]

The reference commit may use the package layout of egid 0.1 (top-level folders mapped onto ``egid.*`` by
setuptools): the script builds that mapping as a tree of symbolic links, so neither version needs installing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PARTS = ("detector", "simulation", "features", "models", "deploy", "evaluation", "pipelines")


def importable_tree(checkout: Path, scratch: Path) -> Path:
    """A folder from which ``import egid`` loads ``checkout``'s code: the checkout itself when its ``egid/`` links
    to the parts, else a tree of links in ``scratch`` that rebuilds the old package mapping."""
    if (checkout / "egid" / "features").exists():
        return checkout
    package = scratch / "egid"
    package.mkdir(parents=True)
    for item in (checkout / "egid").iterdir():
        (package / item.name).symlink_to(item)
    for part in PARTS:
        if (checkout / part).is_dir():
            (package / part).symlink_to(checkout / part)
    return scratch


def egid_run(checkout: Path, python_path: Path, out: Path, options: list[str]) -> float:
    """Run ``egid run`` from ``checkout`` into ``out`` and return its wall time in seconds."""
    env = {**os.environ, "PYTHONPATH": str(python_path), "EGID_CACHE_DIR": str(out.parent / f"{out.name}-cache")}
    start = time.perf_counter()
    command = [sys.executable, str(checkout / "pipelines" / "run.py"), "run", "--out", str(out), *options]
    subprocess.run(command, env=env, check=True, cwd=out.parent)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", required=True, help="reference commit (the code before the change)")
    parser.add_argument("--events-per-class", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN head and the stacked trees")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    options = [
        "--n-per-class",  # the 0.1 spelling: both versions read it
        str(args.events_per_class),
        "--trials",
        str(args.trials),
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
        "--cnn-epochs",
        "1",
        *(["--no-cnn"] if args.no_cnn else []),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; options: {options}")
    with tempfile.TemporaryDirectory(prefix="egid-compare-") as tmp:
        root = Path(tmp)
        reference = root / "reference"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(reference), args.ref], check=True)
        try:
            seconds = {
                "reference": egid_run(reference, importable_tree(reference, root / "tree"), root / "ref-run", options),
                "working tree": egid_run(REPO, REPO, root / "new-run", options),
            }
            old = pd.read_parquet(root / "ref-run" / "scores.parquet")
            new = pd.read_parquet(root / "new-run" / "scores.parquet")
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(reference)], check=True)
    print(f"wall time: reference {seconds['reference']:.0f} s, working tree {seconds['working tree']:.0f} s")
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        print(f"DIFFERENT LAYOUT: {list(old.columns)} ({len(old)} rows) vs {list(new.columns)} ({len(new)} rows)")
        return 1
    worst = 0.0
    for column in old.columns:
        if pd.api.types.is_numeric_dtype(old[column]):
            difference = float((old[column] - new[column]).abs().max())
            worst = max(worst, difference)
            print(f"{column:>14}: max |difference| = {difference:.3g}")
        else:
            print(f"{column:>14}: {'identical' if old[column].equals(new[column]) else 'DIFFERENT'}")
    same = worst < args.tolerance
    print(f"largest difference {worst:.3g} (tolerance {args.tolerance:g}): {'same' if same else 'CHANGED'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
