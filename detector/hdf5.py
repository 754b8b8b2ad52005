"""Reading and writing one HDF5 file of crops in the real CMS layout, with validation at the boundary.

Every problem with a user's file raises :class:`~egid.detector.errors.InputError` with one line,
``<path>: <problem>``. Opening a file checks everything that metadata and the labels can tell (existence,
HDF5 format, datasets, shapes, labels); the pixel checks (NaN/inf, negative energies) happen chunk by chunk
while the images stream through :meth:`EventFile.iter_blocks`, so no step needs the whole file in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np
import numpy.typing as npt

from egid.detector.errors import InputError
from egid.detector.schema import ELECTRON, ENERGY, IMAGE_SHAPE, PHOTON, Images, IndexArray, class_name

__all__ = ("EventFile", "EventWriter", "atomic_path", "check_images", "file_digest")

#: Events per HDF5 chunk written by egid (about 0.5 MB of float32 per chunk).
WRITE_CHUNK_EVENTS = 64


def check_images(x: npt.NDArray[np.floating], *, name: str, first_index: int = 0) -> None:
    """Raise InputError if a block of crops holds NaN/inf values or negative energies.

    Parameters
    ----------
    x : array of shape (n, 32, 32, 2)
        Crops in file units.
    name : str
        File name used in the message.
    first_index : int
        Index of ``x[0]`` within the file, so that the message points at the right event.
    """
    bad = ~np.isfinite(x).all(axis=(1, 2, 3))
    if bad.any():
        first = first_index + int(np.argmax(bad))
        msg = f"{name}: {int(bad.sum())} images contain NaN or inf values (first at index {first})"
        raise InputError(msg)
    negative = (x[..., ENERGY] < 0).any(axis=(1, 2))
    if negative.any():
        first = first_index + int(np.argmax(negative))
        msg = (
            f"{name}: {int(negative.sum())} images contain negative crystal energies (first at index {first}); "
            "zero-suppressed crops hold energies >= 0"
        )
        raise InputError(msg)


class EventFile:
    """One validated HDF5 file of crops.

    Parameters
    ----------
    path : path-like
        The file.
    expected_label : {1.0, 0.0, None}
        1.0 for a file that must hold only electrons, 0.0 for photons only, None for a file of both classes.
    labelled : bool
        Whether the file must hold labels ``y``. An unlabelled file (for ``egid predict``) gets NaN labels.

    Attributes
    ----------
    path : Path
    n_events : int
        Number of events in the file.
    labels : ndarray of shape (n_events,), float32
    extras : dict of str to ndarray
        Optional one-dimensional per-event datasets (for example ``eta``), read whole.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, expected_label: float | None = None, labelled: bool = True
    ) -> None:
        self.path = Path(path)
        name = str(self.path)
        if not self.path.exists():
            msg = f"{name}: no such file"
            raise InputError(msg)
        if self.path.is_dir():
            msg = f"{name}: is a directory, expected an HDF5 file"
            raise InputError(msg)
        if not h5py.is_hdf5(self.path):
            msg = f"{name}: not an HDF5 file"
            raise InputError(msg)
        try:
            with h5py.File(self.path, "r") as f:
                self.n_events, self.labels, self.extras = _read_metadata(f, name, expected_label, labelled)
        except OSError as err:
            msg = f"{name}: cannot be read as HDF5, truncated or corrupted ({_first_line(err)})"
            raise InputError(msg) from None

    def iter_blocks(self, indices: IndexArray, *, chunk_size: int) -> Iterator[tuple[IndexArray, Images]]:
        """Yield ``(indices_in_block, images)`` for the sorted ``indices``, reading ``chunk_size`` rows at a time.

        Each block is read as one contiguous slice of ``X`` and validated with :func:`check_images`.
        """
        name = str(self.path)
        try:
            with h5py.File(self.path, "r") as f:
                x = f["X"]
                for start in range(0, len(indices), chunk_size):
                    block = indices[start : start + chunk_size]
                    lo, hi = int(block[0]), int(block[-1]) + 1
                    images = np.asarray(x[lo:hi], dtype=np.float32)
                    if hi - lo != len(block):
                        images = images[block - lo]
                    check_images(images, name=name, first_index=lo)
                    yield block, images
        except OSError as err:
            msg = f"{name}: cannot be read as HDF5, truncated or corrupted ({_first_line(err)})"
            raise InputError(msg) from None


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _read_metadata(
    f: h5py.File, name: str, expected_label: float | None, labelled: bool
) -> tuple[int, npt.NDArray[np.float32], dict[str, np.ndarray]]:
    present = [key for key in ("X", "y") if key in f or labelled]
    for key in present:
        if key not in f:
            msg = f"{name}: missing dataset '{key}'"
            raise InputError(msg)
        if not isinstance(f[key], h5py.Dataset):
            msg = f"{name}: '{key}' is a group, expected a dataset"
            raise InputError(msg)
    x = f["X"]
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        msg = f"{name}: dataset 'X' has shape {x.shape}, expected (N, 32, 32, 2)"
        raise InputError(msg)
    n = int(x.shape[0])
    if "y" in present:
        y = f["y"]
        if y.ndim != 1:
            msg = f"{name}: dataset 'y' has shape {y.shape}, expected (N,)"
            raise InputError(msg)
        if n != y.shape[0]:
            msg = f"{name}: datasets 'X' and 'y' have different lengths ({n} and {y.shape[0]})"
            raise InputError(msg)
    if n == 0:
        msg = f"{name}: holds no events"
        raise InputError(msg)
    if "y" in present:
        labels = np.asarray(f["y"][:], dtype=np.float32)
        _check_labels(labels, name, expected_label)
    else:
        labels = np.full(n, np.nan, dtype=np.float32)
    extras = {
        key: np.asarray(obj[:])
        for key, obj in f.items()
        if key not in ("X", "y") and isinstance(obj, h5py.Dataset) and obj.shape == (n,)
    }
    return n, labels, extras


def _check_labels(labels: npt.NDArray[np.float32], name: str, expected_label: float | None) -> None:
    invalid = ~np.isin(labels, (ELECTRON, PHOTON))
    if invalid.any():
        first = int(np.argmax(invalid))
        msg = f"{name}: dataset 'y' holds labels other than 0 and 1 (found {labels[first]!r} at index {first})"
        raise InputError(msg)
    if expected_label is not None:
        wrong = labels != expected_label
        if wrong.any():
            other = class_name(1.0 - expected_label)
            article = "an" if expected_label == ELECTRON else "a"
            msg = (
                f"{name}: expected {article} {class_name(expected_label)} file (y = {expected_label:g}) "
                f"but {int(wrong.sum())} of {labels.size} events carry {other} labels"
            )
            raise InputError(msg)


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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class EventWriter:
    """Write crops in the real schema (lzf-compressed, chunked float32), appending block by block.

    The file appears at ``path`` only when the ``with`` block ends without an exception.

    Examples
    --------
    >>> with EventWriter("electron.hdf5", extras={"eta": np.float32}) as w:  # doctest: +SKIP
    ...     w.append(images, labels, eta=eta)
    """

    def __init__(self, path: str | os.PathLike[str], *, extras: Mapping[str, npt.DTypeLike] | None = None) -> None:
        self.path = Path(path)
        self._extra_dtypes = dict(extras or {})
        self._atomic: contextlib.AbstractContextManager[Path] | None = None
        self._file: h5py.File | None = None

    def __enter__(self) -> EventWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        f = h5py.File(tmp, "w")
        self._file = f
        f.create_dataset(
            "X",
            shape=(0, *IMAGE_SHAPE),
            maxshape=(None, *IMAGE_SHAPE),
            dtype=np.float32,
            chunks=(WRITE_CHUNK_EVENTS, *IMAGE_SHAPE),
            compression="lzf",
        )
        f.create_dataset("y", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(4096,), compression="lzf")
        for key, dtype in self._extra_dtypes.items():
            f.create_dataset(key, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,), compression="lzf")
        return self

    def append(self, images: npt.ArrayLike, labels: npt.ArrayLike, **extras: npt.ArrayLike) -> None:
        """Append a block of ``images`` (n, 32, 32, 2), ``labels`` (n,) and one (n,) array per declared extra."""
        if self._file is None:
            msg = "EventWriter.append called outside its with-block"
            raise RuntimeError(msg)
        x = np.asarray(images, dtype=np.float32)
        y = np.asarray(labels, dtype=np.float32)
        if x.shape[1:] != IMAGE_SHAPE or y.shape != (x.shape[0],):
            msg = f"expected images (n, 32, 32, 2) and labels (n,), got {x.shape} and {y.shape}"
            raise ValueError(msg)
        if set(extras) != set(self._extra_dtypes):
            msg = f"expected extras {sorted(self._extra_dtypes)}, got {sorted(extras)}"
            raise ValueError(msg)
        blocks = {"X": x, "y": y} | {k: np.asarray(v) for k, v in extras.items()}
        for key, values in blocks.items():
            dset = self._file[key]
            n_old = dset.shape[0]
            dset.resize(n_old + len(values), axis=0)
            dset[n_old:] = values

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None and self._atomic is not None
        self._file.close()
        self._atomic.__exit__(exc_type, exc, tb)
