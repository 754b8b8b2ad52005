"""The default sample: simulated once into a cache directory, verified and reused by later runs.

``python pipelines/run.py`` without input files runs on the embedded simulation. Each particle's file is one
cache entry, a directory keyed by (particle, its simulation version, events, seed) holding ``<particle>.hdf5``
and :data:`MANIFEST`, a small JSON record of what the entry is and the SHA-256 and size of its file. An entry is
simulated into a hidden temporary directory, the manifest written last, and the directory renamed into place in
one step, so a killed run (an exception, ``KeyboardInterrupt`` or a ``SystemExit`` raised by a signal handler)
never leaves a half entry that a later run would reuse: the temporary directory is removed on the way out.

Every entry is verified before use. A damaged one (a file changed, truncated or replaced by another sample, the
manifest missing or not matching) is reported in one warning line and simulated again; it is never used. A path
occupied by something that is no sample entry (a file, or a directory holding neither a manifest nor the sample
file) is the user's, so it is left alone and reported as an :class:`~egid.detector.InputError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from egid.detector import InputError, file_digest
from egid.simulation.generate import PION_SIMULATION_VERSION, SIMULATION_VERSION, check_particles, write_sample
from egid.simulation.gun import Particle

__all__ = ("MANIFEST", "default_sample", "sample_dir")

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
"""Name of the manifest inside each cache entry."""
_MANIFEST_FORMAT = 1
_VERSIONS: dict[Particle, str] = {
    "electron": SIMULATION_VERSION,
    "photon": SIMULATION_VERSION,
    "pion": PION_SIMULATION_VERSION,
}


def sample_dir(
    cache_dir: str | os.PathLike[str], n_per_class: int, *, seed: int, particle: Particle = "electron"
) -> Path:
    """The cache entry of one particle's sample: ``cache_dir/sim-<particle>-v<version>-n<n>-seed<seed>``.

    ``version`` is :data:`~egid.simulation.generate.SIMULATION_VERSION` for electrons and photons and
    :data:`~egid.simulation.generate.PION_SIMULATION_VERSION` for pions.
    """
    (chosen,) = check_particles([particle])
    return Path(cache_dir) / f"sim-{chosen}-v{_VERSIONS[chosen]}-n{n_per_class}-seed{seed}"


def _identity(particle: Particle, n_per_class: int, seed: int) -> dict[str, object]:
    return {
        "format": _MANIFEST_FORMAT,
        "particle": particle,
        "version": _VERSIONS[particle],
        "n": n_per_class,
        "seed": seed,
    }


def _write_manifest(entry: Path, identity: dict[str, object], files: Sequence[Path]) -> None:
    """Record the digest and size of ``files`` in ``entry/MANIFEST``, written to a temporary name and renamed."""
    record = identity | {"files": {p.name: {"sha256": file_digest(p), "bytes": p.stat().st_size} for p in files}}
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=entry)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
        os.replace(tmp, entry / MANIFEST)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _problem(entry: Path, identity: dict[str, object], data_file: str) -> str | None:
    """What is wrong with the cache entry ``entry`` (one phrase), or None when it is complete and intact."""
    try:
        record = json.loads((entry / MANIFEST).read_text())
    except FileNotFoundError:
        return f"{MANIFEST} is missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"{MANIFEST} cannot be read ({type(error).__name__})"
    if not isinstance(record, dict) or {k: record.get(k) for k in identity} != identity:
        return f"{MANIFEST} describes another sample"
    files = record.get("files")
    if not isinstance(files, dict) or set(files) != {data_file} or not isinstance(files[data_file], dict):
        return f"{MANIFEST} does not list exactly {data_file}"
    expected = files[data_file]
    path = entry / data_file
    try:
        size = path.stat().st_size
        if size != expected.get("bytes"):
            return f"{data_file} has {size} bytes, the manifest says {expected.get('bytes')}"
        if file_digest(path) != expected.get("sha256"):
            return f"{data_file} does not match its SHA-256 in the manifest"
    except FileNotFoundError:
        return f"{data_file} is missing"
    except OSError as error:
        return f"{data_file} cannot be read ({error.strerror})"
    return None


def _is_entry_like(path: Path, data_file: str) -> bool:
    """Whether ``path`` is a directory an egid cache entry could have left (empty, or with its manifest or file)."""
    if not path.is_dir() or path.is_symlink():
        return False
    names = {p.name for p in path.iterdir()}
    return not names or MANIFEST in names or data_file in names


def _simulate_entry(final: Path, particle: Particle, n_per_class: int, seed: int, *, replace: bool) -> None:
    """Simulate the entry into a temporary directory beside ``final`` and rename it onto ``final``.

    With ``replace`` a damaged entry at ``final`` is first moved aside (one rename) and deleted afterwards. If
    another process finished the same entry first, its copy is kept when intact and ours dropped.
    """
    identity = _identity(particle, n_per_class, seed)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    trash: Path | None = None
    try:
        (path,) = write_sample(tmp, n_per_class, seed=seed, particles=(particle,))
        _write_manifest(tmp, identity, [path])
        if replace and final.exists():
            trash = final.parent / f".{final.name}.{os.getpid()}.damaged"
            os.rename(final, trash)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process renamed its copy of the same entry into place first: keep it if it is intact.
            if _problem(final, identity, path.name) is not None:
                trash = trash or final.parent / f".{final.name}.{os.getpid()}.damaged"
                os.rename(final, trash)
                os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)


def _entry(cache_dir: Path, particle: Particle, n_per_class: int, seed: int) -> Path:
    """Return the verified file of one particle's entry, simulating (or re-simulating) the entry if needed."""
    final = sample_dir(cache_dir, n_per_class, seed=seed, particle=particle)
    data_file = f"{particle}.hdf5"
    if final.exists() or final.is_symlink():
        if not _is_entry_like(final, data_file):
            kind = "a directory that is not a simulated sample" if final.is_dir() else "a file"
            msg = f"{final}: the cache path of the simulated {particle}s is occupied by {kind}; move it away"
            raise InputError(msg)
        problem = _problem(final, _identity(particle, n_per_class, seed), data_file)
        if problem is None:
            logger.info("using the cached simulated sample %s", final)
            return final / data_file
        logger.warning("cached simulated sample %s is damaged (%s); simulating it again", final, problem)
        _simulate_entry(final, particle, n_per_class, seed, replace=True)
    else:
        _simulate_entry(final, particle, n_per_class, seed, replace=False)
    return final / data_file


def default_sample(
    n_per_class: int,
    *,
    seed: int,
    cache_dir: str | os.PathLike[str],
    particles: Sequence[str] = ("electron", "photon"),
) -> tuple[Path, ...]:
    """Return the paths of the cached simulated files of ``particles``, simulating what is missing or damaged.

    Parameters
    ----------
    n_per_class : int
        Events per particle.
    seed : int
        Simulation seed.
    cache_dir : path-like
        Directory holding the cached samples (created if missing).
    particles : sequence of {"electron", "photon", "pion"}
        Which files, in this order (default: electrons and photons).

    Returns
    -------
    tuple of Path
        ``<entry>/<particle>.hdf5`` for each of ``particles``, in their order; each verified against its
        manifest.

    Raises
    ------
    InputError
        ``particles`` is not a valid choice (see :func:`~egid.simulation.generate.check_particles`),
        ``cache_dir`` is not a directory, or an entry's path is occupied by something that is not an entry.

    Notes
    -----
    Each entry is written into a temporary directory beside its final place and renamed onto it in one step
    (atomic on POSIX). A damaged entry is logged as one warning line naming it and the problem, then replaced.
    """
    chosen = check_particles(particles)
    root = Path(cache_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        msg = f"{root}: the cache directory is not a directory"
        raise InputError(msg) from None
    return tuple(_entry(root, particle, n_per_class, seed) for particle in chosen)
