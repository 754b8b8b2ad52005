#!/usr/bin/env python
"""Time egid's default three-class run against its default binary run on the embedded simulation.

Usage::

    python benchmarks/three_class_runtime.py [--events-per-class N] [--repeats 3] [--seed S]
        [--extra-args "--trials 2 --no-cnn"] [--out times.json]

Both runs are the command line a user types, each in a fresh Python process:

* binary: ``python -m egid.pipelines.run run --events-per-class N --seed S ...`` (electrons and photons);
* three-class: the same with ``--with-pions`` (charged pions simulated too, ``N`` of them, and the three-class
  electron/photon/pion models trained and studied over the energy thresholds).

Both get the same ``--events-per-class`` (default the run's own, :class:`egid.pipelines.config.RunConfig`), the
same ``--seed`` and the same ``--extra-args``, and share one ``--cache-dir`` in a temporary folder (removed at the
end). A warm-up pair (binary, then three-class, untimed) fills that cache with the simulated samples and both
feature tables first, so the timed runs read them from it: simulation and feature extraction are not timed.
Then ``--repeats`` pairs run alternated (binary, three-class, binary, three-class, ...), each in its own fresh
``--out-dir`` under the temporary folder, so a slow spell of the machine hits both kinds alike. Each time is the
wall time of the whole process, interpreter start and imports included.

Printed: each run's seconds, then for each kind the minimum, median and maximum, and the ratio of the medians
(three-class / binary) beside the median of the per-pair ratios, and the median seconds of each step the runs
record themselves (their ``timings.json``): where the difference goes. The machine (CPU model, usable cores, torch
threads of this process, the device the runs' CNN would use, load average) is printed before and after: the
figures depend on it and on what else runs there; each run picks its own threads (egid's default policy, the cores
other jobs leave idle, unless ``--extra-args`` sets ``--threads``).

A run that fails stops the benchmark: the last lines of its output are printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

import torch

# benchmarks/ is not a package: its sibling modules are found when this file runs as a script (its folder is
# sys.path[0]) and when a test puts the folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_models import machine_line

from egid.detector import atomic_path
from egid.models.cnn import resolve_device
from egid.pipelines.config import RunConfig
from egid.pipelines.timing import TIMINGS_FILE

Kind = Literal["binary", "three-class"]
KINDS: Final[tuple[Kind, ...]] = ("binary", "three-class")
DEFAULT_REPEATS: Final = 3
RESERVED: Final = (
    "--events-per-class",
    "--seed",
    "--cache-dir",
    "--out-dir",
    "--name",
    "--with-pions",
    "--resume",
    "--electrons",
    "--photons",
    "--pions",
    "--data",
    "--config",
)
"""Options the benchmark sets itself (or that would leave the embedded simulation): refused in ``--extra-args``."""
TAIL_LINES: Final = 20
"""Lines of a failed run's output printed."""


class RunFailed(RuntimeError):
    """An egid run exited non-zero."""


@dataclass(frozen=True)
class Timing:
    """One timed run: its kind, its pair (0-based), its wall time and its own steps (``timings.json``), in
    seconds."""

    kind: Kind
    pair: int
    seconds: float
    steps: dict[str, float]


def run_command(
    kind: Kind, *, events_per_class: int, seed: int, cache_dir: Path, out_dir: Path, extra: list[str]
) -> list[str]:
    """The ``egid run`` command line of ``kind``, in this interpreter; ``--with-pions`` makes it three-class."""
    command = [sys.executable, "-m", "egid.pipelines.run", "run", "--events-per-class", str(events_per_class)]
    command += ["--seed", str(seed), "--cache-dir", str(cache_dir), "--out-dir", str(out_dir), "--name", out_dir.name]
    return command + (["--with-pions"] if kind == "three-class" else []) + extra


def timed_run(command: list[str], *, log: Path) -> float:
    """Run ``command`` (its output into ``log``) and return its wall time in seconds.

    Raises
    ------
    RunFailed
        The run exited non-zero; the message holds its exit status and the last lines of its output.
    """
    with log.open("w") as sink:
        clock = time.perf_counter()
        status = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, check=False).returncode
        seconds = time.perf_counter() - clock
    if status != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-TAIL_LINES:])
        msg = f"exit status {status} after {seconds:.1f} s: {shlex.join(command)}\n{tail}"
        raise RunFailed(msg)
    return seconds


def run_benchmark(*, events_per_class: int, repeats: int, seed: int, extra: list[str], scratch: Path) -> list[Timing]:
    """The warm-up pair, then ``repeats`` alternated timed pairs under ``scratch``; the timings in run order."""
    cache_dir = scratch / "cache"

    def run_dir(name: str) -> Path:
        return scratch / "runs" / name

    def command(kind: Kind, name: str) -> list[str]:
        return run_command(
            kind, events_per_class=events_per_class, seed=seed, cache_dir=cache_dir, out_dir=run_dir(name), extra=extra
        )

    def steps(name: str) -> dict[str, float]:
        document = json.loads((run_dir(name) / TIMINGS_FILE).read_text())
        return {step: float(value) for step, value in document["seconds"].items()}

    (scratch / "logs").mkdir()
    for kind in KINDS:
        seconds = timed_run(command(kind, f"warm-up-{kind}"), log=scratch / "logs" / f"warm-up-{kind}.log")
        print(f"warm-up {kind}: {seconds:.1f} s (fills the cache; not counted)", flush=True)
    timings = []
    for pair in range(repeats):
        for kind in KINDS:
            name = f"{kind}-{pair + 1}"
            seconds = timed_run(command(kind, name), log=scratch / "logs" / f"{name}.log")
            timings.append(Timing(kind, pair, seconds, steps(name)))
            print(f"pair {pair + 1}, {kind}: {timings[-1].seconds:.1f} s", flush=True)
    return timings


@dataclass(frozen=True)
class Summary:
    """Per kind the minimum, median and maximum seconds; the ratio of the medians and the median pair ratio; per
    kind the median seconds of each of the run's own steps (0 where a kind has no such step)."""

    seconds: dict[Kind, dict[str, float]]
    ratio_of_medians: float
    median_pair_ratio: float
    steps: dict[Kind, dict[str, float]]


def summarise(timings: list[Timing]) -> Summary:
    """The :class:`Summary` of paired ``timings`` (every pair holds one run of each kind)."""
    seconds = {kind: [t.seconds for t in timings if t.kind == kind] for kind in KINDS}
    stats = {kind: {"min": min(s), "median": statistics.median(s), "max": max(s)} for kind, s in seconds.items()}
    per_pair = {kind: {t.pair: t.seconds for t in timings if t.kind == kind} for kind in KINDS}
    pair_ratios = [per_pair["three-class"][p] / per_pair["binary"][p] for p in sorted(per_pair["binary"])]
    names = list(dict.fromkeys(step for t in timings for step in t.steps))
    steps = {
        kind: {step: statistics.median(t.steps.get(step, 0.0) for t in timings if t.kind == kind) for step in names}
        for kind in KINDS
    }
    return Summary(
        seconds=stats,
        ratio_of_medians=stats["three-class"]["median"] / stats["binary"]["median"],
        median_pair_ratio=statistics.median(pair_ratios),
        steps=steps,
    )


def format_summary(result: Summary) -> str:
    """The summary as aligned text lines."""
    lines = [f"{'run':<12} {'min s':>8} {'median s':>9} {'max s':>8}"]
    lines += [f"{k:<12} {s['min']:>8.1f} {s['median']:>9.1f} {s['max']:>8.1f}" for k, s in result.seconds.items()]
    lines.append(
        f"three-class / binary: ratio of medians {result.ratio_of_medians:.2f} "
        f"(median of the per-pair ratios {result.median_pair_ratio:.2f})"
    )
    lines.append(f"{'step (median s)':<28} {'binary':>8} {'three-class':>12}")
    lines += [
        f"{step:<28} {result.steps['binary'][step]:>8.1f} {result.steps['three-class'][step]:>12.1f}"
        for step in result.steps["binary"]
    ]
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    default_events = RunConfig().events_per_class
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events-per-class",
        type=int,
        default=default_events,
        help=f"events per class of the embedded simulation, both runs (default the run's, {default_events})",
    )
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help=f"timed pairs (default {DEFAULT_REPEATS})")
    parser.add_argument("--seed", type=int, default=0, help="--seed of both runs (default 0)")
    parser.add_argument(
        "--extra-args",
        default="",
        help='more egid run options for both runs, one string: "--trials 2 --no-cnn", or --extra-args=--no-cnn for one',
    )
    parser.add_argument("--out", type=Path, help="also write the timings and the summary as JSON to this file")
    args = parser.parse_args(argv)
    if args.events_per_class < 1 or args.repeats < 1:
        parser.error(
            f"--events-per-class and --repeats: expected positive counts, got {args.events_per_class}, {args.repeats}"
        )
    try:
        args.extra = shlex.split(args.extra_args)
    except ValueError as err:
        parser.error(f"--extra-args: {err}")
    reserved = sorted({a.split("=", 1)[0] for a in args.extra} & set(RESERVED))
    if reserved:
        parser.error(f"--extra-args: {', '.join(reserved)} is set by the benchmark itself; leave it out")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    device = resolve_device(None)
    threads = torch.get_num_threads()
    machine = machine_line(device, threads)
    print(machine, flush=True)
    extra = shlex.join(args.extra) or "none"
    print(
        f"egid run on the embedded simulation: {args.events_per_class} events per class, seed {args.seed}, "
        f"extra options: {extra}; binary against --with-pions, {args.repeats} alternated pairs after a warm-up pair",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="three_class_runtime_") as folder:
        try:
            timings = run_benchmark(
                events_per_class=args.events_per_class,
                repeats=args.repeats,
                seed=args.seed,
                extra=args.extra,
                scratch=Path(folder),
            )
        except RunFailed as err:
            print(f"three_class_runtime: error: a run failed, {err}", file=sys.stderr)
            return 1
    result = summarise(timings)
    print(format_summary(result))
    print(machine_line(device, threads).replace("machine:", "after:", 1))
    if args.out is not None:
        document = {
            "machine": machine,
            "events_per_class": args.events_per_class,
            "seed": args.seed,
            "extra_args": args.extra,
            "timings": [{"kind": t.kind, "pair": t.pair + 1, "seconds": t.seconds, "steps": t.steps} for t in timings],
            **asdict(result),
        }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
