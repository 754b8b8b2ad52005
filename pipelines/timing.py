"""Wall time per step and peak memory of a run, recorded in the run directory as ``timings.json``."""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from egid.detector import atomic_path

__all__ = ("TIMINGS_FILE", "StepTimer")

TIMINGS_FILE: Final = "timings.json"
"""The file in a run directory holding its :meth:`StepTimer.write` record."""

logger = logging.getLogger(__name__)


class StepTimer:
    """Collects the wall time of named steps, in order (a step timed twice adds up).

    Steps timed while a command still checks its inputs are logged only once :meth:`start` says the work has
    begun: a refused input then gives its one error line alone, with no timing line before it.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._held: list[tuple[str, float]] | None = []

    def start(self) -> None:
        """The inputs passed their checks and the work begins: log the steps held so far, and later ones at once."""
        held, self._held = self._held or [], None
        for name, elapsed in held:
            self._log(name, elapsed)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as step ``name`` and log its duration (when the block succeeds)."""
        start = time.perf_counter()
        yield  # a failed step is not logged: a user's error line must come alone
        elapsed = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        if self._held is None:
            self._log(name, elapsed)
        else:
            self._held.append((name, elapsed))

    @staticmethod
    def _log(name: str, elapsed: float) -> None:
        logger.info("%s took %.1f s", name, elapsed)

    @staticmethod
    def peak_memory_gib() -> float:
        """Peak resident memory of this process so far, in GiB (Linux reports ru_maxrss in KiB)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    def write(self, path: Path) -> None:
        """Write ``{"seconds": {step: s}, "total_seconds": s, "peak_memory_gib": GiB}`` atomically."""
        document = {
            "seconds": {name: round(value, 2) for name, value in self.seconds.items()},
            "total_seconds": round(sum(self.seconds.values()), 2),
            "peak_memory_gib": round(self.peak_memory_gib(), 3),
        }
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(document, indent=2) + "\n")
