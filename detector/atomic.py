"""Files that appear whole or not at all, and the content digests that identify them.

Every file egid writes goes through :func:`atomic_path` (a temporary name beside the target, renamed onto it only
when complete), so a crash or kill never leaves a half-written output; :func:`file_digest` is the SHA-256 that model
manifests, data records and cache keys store of a file's bytes. A folder of outputs (a report, a run's models,
a deployment) is built in :func:`staged_dir` and moved into place only when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ("atomic_path", "file_digest", "staged_dir", "staging_prefix")


def file_digest(path: str | os.PathLike[str], *, block_bytes: int = 1 << 22) -> str:
    """Return the SHA-256 hex digest of a file's bytes: what a model manifest records of each artifact, and the
    part of a dataset's cache key that follows content, not names."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and rename it onto ``path`` only if the block succeeds.

    A crash or kill inside the block never leaves a half-written ``path``: either the old file stays or
    the complete new one replaces it (``os.replace`` is atomic on POSIX within one file system).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the final file the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def staging_prefix(path: str | os.PathLike[str]) -> str:
    """The name prefix of :func:`staged_dir`'s staging folders for ``path``: ``.NAME.partial-``."""
    return f".{Path(path).name}.partial-"


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder for the files of folder ``path``; move them into ``path`` if the block succeeds.

    The staging folder is ``.NAME.partial-*`` inside ``path`` when it exists, else beside it (so the moves stay on
    one file system). A new ``path`` appears whole by one rename. In an existing ``path`` each staged entry replaces
    the one of the same name and every other entry is kept. When the block fails (an error, a full disk, a signal)
    the staging folder is removed and ``path`` is as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    existed = final.is_dir()
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(final), dir=final if existed else final.parent))
    try:
        yield staging
        if not existed:
            staging.rename(final)
            return
        for entry in sorted(staging.iterdir()):
            target = final / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # os.replace cannot put a folder onto a non-empty one
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
