"""The default sample: simulated once into a cache directory and reused by later runs.

``python pipelines/run.py`` without input files runs on the embedded simulation. The sample for a given
(events per class, seed, simulation version) is simulated into a hidden temporary directory and renamed into
place only when both files are complete, so a killed run never leaves a half sample that a later run would
reuse; a second run finds the directory and simulates nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from egid.simulation.generate import SIMULATION_VERSION, write_sample

__all__ = ("default_sample", "sample_dir")

logger = logging.getLogger(__name__)

_FILES = ("electron.hdf5", "photon.hdf5")


def sample_dir(cache_dir: str | os.PathLike[str], n_per_class: int, *, seed: int) -> Path:
    """The cache directory of one sample: ``cache_dir/sim-v<version>-n<n>-seed<seed>``."""
    return Path(cache_dir) / f"sim-v{SIMULATION_VERSION}-n{n_per_class}-seed{seed}"


def default_sample(n_per_class: int, *, seed: int, cache_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return ``(electron_path, photon_path)`` of the cached simulated sample, simulating it if needed.

    Parameters
    ----------
    n_per_class : int
        Events per class.
    seed : int
        Simulation seed.
    cache_dir : path-like
        Directory holding the cached samples (created if missing).

    Notes
    -----
    The sample is written into a temporary directory beside its final place and renamed onto it in one step
    (atomic on POSIX). If another process finished the same sample first, its copy is kept and ours dropped.
    """
    final = sample_dir(cache_dir, n_per_class, seed=seed)
    paths = tuple(final / name for name in _FILES)
    if final.is_dir() and all(p.is_file() for p in paths):
        logger.info("using the cached simulated sample %s", final)
        return paths[0], paths[1]
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        write_sample(tmp, n_per_class, seed=seed)
        try:
            os.rename(tmp, final)
        except OSError:
            # ``final`` exists and is not empty: another run finished the same sample first (keep it), or a
            # directory damaged by hand sits there (replace it).
            if not all(p.is_file() for p in paths):
                shutil.rmtree(final)
                os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths[0], paths[1]
