"""How many threads a fit should use on a CPU that other jobs may share.

LightGBM and XGBoost parallelise every boosting round with OpenMP: each parallel region ends in a barrier that
waits for its slowest thread. On a machine where other CPU-bound jobs run (a login node, a shared batch node),
the kernel deschedules some of those threads, and every barrier then waits for a thread that is not running:
measured on a 2-core machine, one LightGBM trial on 11k events took 394 s beside three other jobs and 20 s on
the quiet machine. A fit that uses only the cores left idle by the other jobs keeps its fair share instead.

:func:`threads_for_next_fit` is asked before each fit (each Optuna trial, each refit): it counts the cores the
other processes keep busy over a short window of ``/proc/stat`` and returns the idle ones, at least one. On a
quiet machine that is every core this process may use, so a quiet run is reproducible as before (the boosters
are bit-identical for a fixed thread count); on a busy one the thread count, and with it the last bits of the
boosters' sums, follows the load.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final

__all__ = ("IDLE_WINDOW_S", "busy_cores", "threads_for_next_fit", "usable_cores")

IDLE_WINDOW_S: Final = 0.05
"""Seconds over which the other processes' CPU use is measured before a fit (cost: this much per trial).

``/proc/stat`` counts in ticks of 10 ms (USER_HZ = 100), so 50 ms on 2 cores give 10 ticks: enough to tell 0, 1 or
2 busy cores apart. A 200 ms window cost 6 of the 14.4 s that 30 short LightGBM trials took on the quiet 2-core
machine (``benchmarks/bench_contention.py``)."""
_PROC_STAT = Path("/proc/stat")


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def busy_cores(window_s: float = IDLE_WINDOW_S) -> float:
    """Cores kept busy by every process on the machine, averaged over ``window_s`` seconds.

    Read from the aggregate ``cpu`` line of ``/proc/stat`` (jiffies in user, nice, system, irq, softirq, steal
    versus idle and iowait), so it counts all processes, this one included; call it while this process is idle.
    Where ``/proc/stat`` does not exist (macOS, Windows) the one-minute load average stands in.
    """
    first = _cpu_times()
    if first is None:
        return min(os.getloadavg()[0], float(os.cpu_count() or 1)) if hasattr(os, "getloadavg") else 0.0
    time.sleep(window_s)
    second = _cpu_times()
    assert second is not None
    busy, total = second[0] - first[0], second[1] - first[1]
    return (os.cpu_count() or 1) * busy / total if total > 0 else 0.0


def threads_for_next_fit(limit: int | None = None) -> int:
    """Threads for the next fit: the usable cores that other jobs leave idle, at least 1 and at most ``limit``.

    A core counts as taken when it is at least half busy over the measuring window.
    """
    usable = usable_cores() if limit is None else min(limit, usable_cores())
    idle = usable - int(busy_cores() + 0.5)
    return max(1, min(usable, idle))


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, or None without ``/proc/stat``."""
    try:
        fields = _PROC_STAT.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)
