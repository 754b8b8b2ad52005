"""Writing crops in the real CMS layout: one HDF5 file, lzf-compressed, chunked float32, appended block by block."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from egid.detector.atomic import atomic_path
from egid.detector.schema import IMAGE_SHAPE

__all__ = ("WRITE_CHUNK_EVENTS", "EventWriter")

#: Events per HDF5 chunk written by egid (about 0.5 MB of float32 per chunk).
WRITE_CHUNK_EVENTS = 64


class _FailSafeFile(io.RawIOBase):
    """An unbuffered file for HDF5 that records the first write error instead of passing it to HDF5.

    When a write fails (a full disk), HDF5's own file driver is left in a state where closing the file fails and
    the next close, at the latest the one HDF5 makes when the interpreter exits, crashes the process (a
    segmentation fault). Behind this file HDF5 never sees an error: after the first failure the bytes are
    dropped, HDF5 closes cleanly, and :class:`EventWriter` raises the recorded error itself.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "r+b", buffering=0)  # noqa: SIM115 (closed in close())
        self.error: OSError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._file.readinto(buffer) or 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.error is None:
            try:
                return self._file.write(data) or 0
            except OSError as err:
                self.error = err
        return size

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self._file.truncate(size)
            except OSError as err:
                self.error = err
        return self.tell() if size is None else size

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as err:
            self.error = self.error or err
        super().close()

    def raise_error(self) -> None:
        """Raise the first write error, if one happened."""
        if self.error is not None:
            raise self.error


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
        self._sink: _FailSafeFile

    def __enter__(self) -> EventWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._sink = _FailSafeFile(tmp)
        f = h5py.File(self._sink, "w")
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
        uneven = {key: values.shape for key, values in blocks.items() if values.shape[:1] != (x.shape[0],)}
        if uneven:
            msg = f"expected one value per image ({x.shape[0]}) for every extra, got shapes {uneven}"
            raise ValueError(msg)
        for key, values in blocks.items():
            dset = self._file[key]
            n_old = dset.shape[0]
            dset.resize(n_old + len(values), axis=0)
            dset[n_old:] = values
        self._sink.raise_error()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None and self._atomic is not None
        try:
            # HDF5 closes cleanly even on a full disk (see _FailSafeFile); only then is the temporary file removed.
            self._file.close()
            self._sink.close()
            self._sink.raise_error()
        except BaseException as err:
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, tb)
