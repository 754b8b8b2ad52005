"""Profile a whole ``egid run``: wall time per step, then where each step spends it.

Usage::

    python benchmarks/profile_run.py [--top 12] [--out reports/runs/profile] [-- egid run options...]

Runs ``egid run`` (default settings unless options follow ``--``) with one :mod:`cProfile` profiler per step
(the steps of :class:`egid.pipelines.timing.StepTimer`: features, tree tuning, CNN cross-fitting, stacked trees,
report, export) and prints, for every step, its wall time and the functions with the most cumulative time inside
it: the boosters' training and TreeSHAP, torch's optimizer, the report's figures. Each step's profile is saved
in the run directory (``profile-<step>.pstats``) for ``snakeviz`` or :mod:`pstats`. Figures depend on the
machine and on what else runs there: state both when quoting them.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import sys
from collections.abc import Iterator
from pathlib import Path

from egid.pipelines.run import main as egid
from egid.pipelines.timing import TIMINGS_FILE, StepTimer


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="functions shown per step (default 12)")
    parser.add_argument("--out", default="reports/runs/profile", help="run directory (default reports/runs/profile)")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="options for egid run, after --")
    return parser.parse_args(argv)


def _profiled_steps(profiles: dict[str, cProfile.Profile]) -> None:
    """Make every ``StepTimer.step`` block run under its own profiler, kept in ``profiles`` by step name."""
    timed = StepTimer.step

    @contextlib.contextmanager
    def step(self: StepTimer, name: str) -> Iterator[None]:
        profiler = profiles.setdefault(name, cProfile.Profile())
        with timed(self, name):
            profiler.enable()
            try:
                yield
            finally:
                profiler.disable()

    StepTimer.step = step  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    extra = [arg for arg in args.extra if arg != "--"]
    profiles: dict[str, cProfile.Profile] = {}
    _profiled_steps(profiles)
    status = egid(["run", "--out-dir", args.out, *extra])
    if status != 0:
        return int(status)
    out = Path(args.out)
    timings = json.loads((out / TIMINGS_FILE).read_text())
    print(f"\negid run {' '.join(extra)} on {platform.machine()}, {os.cpu_count()} cores")
    for name, seconds in timings["seconds"].items():
        print(f"\n{name}: {seconds:.1f} s")
        if name not in profiles:
            continue
        profiles[name].dump_stats(out / f"profile-{name.replace(' ', '-')}.pstats")
        stats = pstats.Stats(profiles[name])
        ranked = sorted(stats.stats.items(), key=lambda item: -item[1][3])  # type: ignore[attr-defined]
        for (file, line, function), (_, _, _, cumulative, _) in ranked[: args.top]:
            print(f"    {cumulative:8.1f} s  {Path(file).name}:{line} {function}")
    print(f"\ntotal {timings['total_seconds']:.1f} s, peak memory {timings['peak_memory_gib']:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
