"""Writing crops in the real CMS layout: one HDF5 file, lzf-compressed, chunked float32, appended block by block."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np
import numpy.typing as npt

from egid.detector.atomic import atomic_path
from egid.detector.schema import IMAGE_SHAPE

__all__ = ("WRITE_CHUNK_EVENTS", "EventWriter")

#: Events per HDF5 chunk written by egid (about 0.5 MB of float32 per chunk).
WRITE_CHUNK_EVENTS = 64


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
