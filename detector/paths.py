"""Checks of the paths a user names: an input must be a readable regular file, an output must be writable, and
an output may neither name an input nor replace an existing file unasked.

Each check raises :class:`~egid.detector.errors.InputError` with one line naming the path and the
operating system's reason (no such file, a dangling or looping symbolic link, permission denied, ...). The
checks try the real operation (``stat``, ``open``, ``access`` with the effective user), so they agree
with what the later read or write would meet, also for root, who may read files whatever their mode.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from egid.detector.errors import InputError

__all__ = (
    "check_input_file",
    "check_not_input",
    "check_output_dir",
    "check_output_file",
    "check_outside",
    "check_replaceable",
    "disk_problem",
    "writing",
)


def _os_problem(err: OSError, path: Path) -> str:
    """The reason an ``OSError`` on ``path`` gives, in words that name links and permissions."""
    if err.errno == errno.ENOENT and os.path.islink(path):
        return f"is a dangling symbolic link (to '{os.readlink(path)}', which does not exist)"
    reasons = {
        errno.ENOENT: "no such file",
        errno.ELOOP: "too many levels of symbolic links (a symbolic link loop)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "no such file (a parent in the path is not a directory)",
        errno.ENAMETOOLONG: "file name too long",
        errno.EROFS: "read-only file system",
    }
    return reasons.get(err.errno or 0, f"cannot be opened ({os.strerror(err.errno or 0)})")


def check_input_file(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """Return ``path`` if it is a regular file the user may read, else raise InputError.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, used in the message for a directory (``"an HDF5 file"``).
    """
    file = Path(path)
    try:
        info = os.stat(file)
    except OSError as err:
        msg = f"{file}: {_os_problem(err, file)}"
        raise InputError(msg) from None
    if stat.S_ISDIR(info.st_mode):
        msg = f"{file}: is a directory, expected {what}"
        raise InputError(msg)
    if not stat.S_ISREG(info.st_mode):
        msg = f"{file}: is not a regular file (a device, pipe or socket), expected {what}"
        raise InputError(msg)
    try:
        with open(file, "rb"):
            pass
    except OSError as err:
        msg = f"{file}: {_os_problem(err, file)}"
        raise InputError(msg) from None
    return file


def _writable_ancestor(path: Path) -> None:
    """Raise InputError unless the nearest existing ancestor of ``path`` is a directory the user may write."""
    parent = path.parent
    while True:
        try:
            info = os.stat(parent)
        except FileNotFoundError:
            if parent == parent.parent:
                break
            parent = parent.parent
            continue
        except OSError as err:
            msg = f"{path}: cannot be created, {parent}: {_os_problem(err, parent)}"
            raise InputError(msg) from None
        if not stat.S_ISDIR(info.st_mode):
            msg = f"{path}: cannot be created, {parent} is not a directory"
            raise InputError(msg)
        break
    if not _can_write(parent):
        msg = f"{path}: cannot be created, the folder {parent} is not writable"
        raise InputError(msg)


def _existing(path: Path) -> os.stat_result | None:
    """``os.stat(path)``, or None when nothing is there; a dangling or looping link raises InputError."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            msg = f"{path}: {_os_problem(FileNotFoundError(errno.ENOENT, ''), path)}"
            raise InputError(msg) from None
        return None
    except NotADirectoryError:  # below a file: the ancestor check names that file
        return None
    except OSError as err:
        msg = f"{path}: {_os_problem(err, path)}"
        raise InputError(msg) from None


def _can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids)


def check_output_file(path: str | os.PathLike[str], *, what: str = "a file") -> Path:
    """Return ``path`` if a file can be written there (missing parent folders are created later), else raise.

    A path naming an existing directory, or lying below a file or in a folder the user may not write, is
    refused before any work starts. ``what`` names the file in the message (``"the parquet file"``).
    """
    file = Path(path)
    info = _existing(file)
    if info is not None and stat.S_ISDIR(info.st_mode):
        msg = f"{file}: is a directory, expected the path of {what} to write"
        raise InputError(msg)
    _writable_ancestor(file)
    return file


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` if it is, or can be created as, a directory the user may write into, else raise."""
    folder = Path(path)
    info = _existing(folder)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        msg = f"{folder}: exists and is not a directory"
        raise InputError(msg)
    if info is not None:
        if not _can_write(folder):
            msg = f"{folder}: the directory is not writable"
            raise InputError(msg)
        return folder
    _writable_ancestor(folder)
    return folder


def _same(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file or folder: the same inode (symbolic and hard links), else one real path."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where its links lead
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_input(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], *, option: str
) -> None:
    """Raise InputError when the output path ``output`` names one of the ``inputs`` (None entries are skipped).

    Symbolic links are followed and hard links recognised (same device and inode), so no spelling of an input's
    path lets a command replace the file it reads.
    """
    for given in inputs:
        if given is not None and _same(Path(output), Path(given)):
            msg = f"{option} {output}: is the input {given}; writing it would destroy the input, choose another path"
            raise InputError(msg)


def check_outside(
    output: str | os.PathLike[str], folder: str | os.PathLike[str], *, option: str, allowed: tuple[str, ...] = ()
) -> None:
    """Raise InputError when ``output`` is the folder ``folder`` being read or lies inside it.

    Writing there would replace the folder's own files (a run's ``metrics.json``, report, models). ``allowed``
    names subfolders of ``folder`` meant for outputs (a run's ``evaluations``). Links are resolved.
    """
    real = Path(os.path.realpath(output))
    for ancestor in (real, *real.parents):
        if _same(ancestor, Path(folder)):
            below = real.relative_to(ancestor).parts
            if below[:1] and below[0] in allowed:
                return
            msg = (
                f"{option} {output}: lies in {folder}, which this command reads; writing there would replace its files"
            )
            raise InputError(msg)


def check_replaceable(path: str | os.PathLike[str], *, overwrite: bool, option: str) -> None:
    """Raise InputError when ``path`` exists (a file, or a folder that is not empty) and ``overwrite`` is False."""
    target = Path(path)
    occupied = any(target.iterdir()) if target.is_dir() else os.path.lexists(target)
    if occupied and not overwrite:
        msg = f"{option} {target}: already exists; give --overwrite to replace it"
        raise InputError(msg)


_DISK_PROBLEMS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "file too large for the file system",
}
# Libraries that wrap the C error (HDF5, Arrow) keep only its text, not its errno.
_DISK_TEXTS = {os.strerror(code).lower(): reason for code, reason in _DISK_PROBLEMS.items()}


def disk_problem(err: BaseException) -> str | None:
    """Why writing failed, in words (``"no space left on device"``), when ``err`` is a full, read-only or forbidden
    output, else None. HDF5 and Arrow report the system's error only in their message; it is recognised there too."""
    if not isinstance(err, OSError):
        return None
    if err.errno in _DISK_PROBLEMS:
        return _DISK_PROBLEMS[err.errno]
    text = str(err).lower()
    return next((reason for words, reason in _DISK_TEXTS.items() if words in text), None)


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full, read-only or forbidden output met in the block into InputError ``<problem> while writing PATH``.

    The writes of the block go through :func:`~egid.detector.atomic.atomic_path` or a staged folder, so nothing
    half-written stays behind; the command line prints the line and exits with status 2.
    """
    try:
        yield
    except OSError as err:
        reason = disk_problem(err)
        if reason is None:
            raise
        msg = f"{reason} while writing {path}"
        raise InputError(msg) from None
