"""Reading one HDF5 file of crops in the real CMS layout, with validation at the boundary.

Every problem with a user's file raises :class:`~egid.detector.errors.InputError` with one line,
``<path>: <problem>``. Opening a file checks everything that metadata can tell (the path, HDF5 format,
datasets and links, dtypes, shapes, unwritten data); labels are checked as they are read, and the pixel
checks (NaN/inf, negative energies) happen chunk by chunk
while the images stream through :meth:`EventFile.iter_blocks`, so no step needs the whole file in memory.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

import h5py
import numpy as np
import numpy.typing as npt

from egid.detector.errors import InputError, shorten
from egid.detector.paths import check_input_file
from egid.detector.schema import (
    CLASS_LABELS,
    ELECTRON,
    ENERGY,
    ENERGY_SCALE_GEV,
    IMAGE_SHAPE,
    MAX_ABS_TIME_NS,
    MAX_ENERGY_GEV,
    TIME_SCALE_NS,
    Images,
    IndexArray,
    class_name,
)

__all__ = ("EventFile", "check_images")


def check_images(x: npt.NDArray[np.floating], *, name: str, first_index: int = 0) -> None:
    """Raise InputError if a block of crops holds NaN/inf values, negative energies or values beyond physics.

    The physical bounds are :data:`~egid.detector.schema.MAX_ENERGY_GEV` for a crystal energy and
    :data:`~egid.detector.schema.MAX_ABS_TIME_NS` for a crystal time, in the file units GeV / 50 and ns / 50.

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
    limits = np.array([MAX_ENERGY_GEV / ENERGY_SCALE_GEV, MAX_ABS_TIME_NS / TIME_SCALE_NS], dtype=np.float32)
    huge = (np.abs(x) > limits).any(axis=(1, 2, 3))
    if huge.any():
        first = first_index + int(np.argmax(huge))
        msg = (
            f"{name}: {int(huge.sum())} images hold values beyond physics (first at index {first}): crystal "
            f"energies must be <= {MAX_ENERGY_GEV:g} GeV ({limits[0]:g} in GeV / 50) and times within "
            f"+-{MAX_ABS_TIME_NS:g} ns ({limits[1]:g} in ns / 50)"
        )
        raise InputError(msg)


class EventFile:
    """One validated HDF5 file of crops.

    Opening checks the path (a readable regular file, no dangling or looping link), the HDF5 format and the
    metadata of ``X`` and ``y``: that each is a dataset (a soft or external link must resolve), its dtype
    (exactly float32, either byte order), its shape, and that its declared rows were ever written (a chunked
    dataset whose chunks are missing would read back as fill values). It reads no rows: labels and extras are
    read, in bounded blocks, only for the events asked for, so memory follows the selection, not the size a
    file declares.

    Parameters
    ----------
    path : path-like
        The file.
    expected_label : {1.0, 0.0, 2.0, None}
        1.0 for a file that must hold only electrons, 0.0 for photons only, 2.0 for charged pions only, None for a
        file of several classes (labels among 0, 1 and 2).
    labelled : bool
        Whether the file must hold labels ``y``. An unlabelled file (for ``egid predict``) gets NaN labels.

    Attributes
    ----------
    path : Path
    n_events : int
        Number of events in the file.
    has_labels : bool
        Whether the file holds ``y``.
    extra_names : tuple of str
        Optional one-dimensional numeric per-event datasets (for example ``eta``).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, expected_label: float | None = None, labelled: bool = True
    ) -> None:
        self.path = check_input_file(path, what="an HDF5 file")
        self.expected_label = expected_label
        name = str(self.path)
        if not h5py.is_hdf5(self.path):
            msg = f"{name}: not an HDF5 file"
            raise InputError(msg)
        with self._open() as f:
            self.n_events, self.has_labels, self.extra_names = _read_metadata(f, name, labelled)

    @contextlib.contextmanager
    def _open(self) -> Iterator[h5py.File]:
        """The open file; a read error of the HDF5 library becomes one InputError line naming the file."""
        try:
            with h5py.File(self.path, "r") as f:
                yield f
        except OSError as err:
            msg = f"{self.path}: cannot be read as HDF5, truncated or corrupted ({_first_line(err)})"
            raise InputError(msg) from None

    def read_labels(self, indices: IndexArray) -> npt.NDArray[np.float32]:
        """The labels at the sorted file ``indices`` (NaN without ``y``), checked to be 0/1/2 and of the expected class.

        Reads at most :data:`ROW_BLOCK` rows at a time, so a file declaring far more rows than asked for costs
        only what is asked for.
        """
        if not self.has_labels:
            return np.full(len(indices), np.nan, dtype=np.float32)
        with self._open() as f:
            labels = np.asarray(_read_rows(f["y"], indices), dtype=np.float32)
        _check_labels(labels, indices, str(self.path), self.expected_label)
        return labels

    def iter_labels(self) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        """Yield ``(start, labels)`` blocks of at most :data:`ROW_BLOCK` rows covering the whole file, checked."""
        with self._open() as f:
            y = f["y"]
            for start in range(0, self.n_events, ROW_BLOCK):
                labels = np.asarray(y[start : start + ROW_BLOCK], dtype=np.float32)
                _check_labels(labels, np.arange(start, start + len(labels)), str(self.path), self.expected_label)
                yield start, labels

    def read_extras(self, indices: IndexArray) -> dict[str, np.ndarray]:
        """The per-event extras at the sorted file ``indices``, one array each."""
        if not self.extra_names:
            return {}
        with self._open() as f:
            return {key: _read_rows(f[key], indices) for key in self.extra_names}

    def iter_blocks(self, indices: IndexArray, *, chunk_size: int) -> Iterator[tuple[IndexArray, Images]]:
        """Yield ``(indices_in_block, images)`` for the sorted ``indices``, reading ``chunk_size`` rows at a time.

        Each block is read as one contiguous slice of ``X`` and validated with :func:`check_images`.
        """
        name = str(self.path)
        with self._open() as f:
            x = f["X"]
            for start in range(0, len(indices), chunk_size):
                block = indices[start : start + chunk_size]
                lo, hi = int(block[0]), int(block[-1]) + 1
                images = np.asarray(x[lo:hi], dtype=np.float32)
                if hi - lo != len(block):
                    images = images[block - lo]
                check_images(images, name=name, first_index=lo)
                yield block, images


ROW_BLOCK = 1 << 20
"""Rows of a one-dimensional dataset (labels, extras) read at a time: 4 MiB of float32."""


def _read_rows(dset: h5py.Dataset, indices: IndexArray) -> np.ndarray:
    """``dset[indices]`` for sorted ``indices``, read in contiguous slices of at most :data:`ROW_BLOCK` rows."""
    out = np.empty(len(indices), dtype=dset.dtype)
    position = 0
    while position < len(indices):
        lo = int(indices[position])
        hi = min(lo + ROW_BLOCK, int(dset.shape[0]))
        end = position + int(np.searchsorted(indices[position:], hi, side="left"))
        out[position:end] = dset[lo:hi][indices[position:end] - lo]
        position = end
    return out


def _first_line(err: BaseException) -> str:
    return shorten(str(err).splitlines()[0] if str(err) else type(err).__name__)


def _read_metadata(f: h5py.File, name: str, labelled: bool) -> tuple[int, bool, tuple[str, ...]]:
    x = _dataset(f, "X", name)
    y = _dataset(f, "y", name)
    if x is None:
        msg = f"{name}: missing dataset 'X'"
        raise InputError(msg)
    if y is None and labelled:
        msg = f"{name}: missing dataset 'y'"
        raise InputError(msg)
    _check_dtype(x, "X", name)
    if x.shape is None or x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        msg = f"{name}: dataset 'X' has shape {x.shape}, expected (N, 32, 32, 2)"
        raise InputError(msg)
    n = int(x.shape[0])
    if y is not None:
        _check_dtype(y, "y", name)
        if y.shape is None or y.ndim != 1:
            msg = f"{name}: dataset 'y' has shape {y.shape}, expected (N,)"
            raise InputError(msg)
        if n != y.shape[0]:
            msg = f"{name}: datasets 'X' and 'y' have different lengths ({n} and {y.shape[0]})"
            raise InputError(msg)
    if n == 0:
        msg = f"{name}: holds no events"
        raise InputError(msg)
    _check_written(x, "X", name)
    if y is not None:
        _check_written(y, "y", name)
    return n, y is not None, tuple(key for key in f if key not in ("X", "y") and _is_extra(f, key, n))


def _dataset(f: h5py.File, key: str, name: str) -> h5py.Dataset | None:
    """The dataset ``key`` (None when absent); a link that resolves to nothing or a non-dataset is refused."""
    link = f.get(key, getlink=True)
    if link is None:
        return None
    try:
        obj = f[key]
    except (KeyError, OSError, ValueError):
        if isinstance(link, h5py.SoftLink):
            msg = f"{name}: '{key}' is a soft link to '{shorten(link.path)}', which does not exist in the file"
        elif isinstance(link, h5py.ExternalLink):
            target = shorten(f"{link.filename}:{link.path}")
            msg = f"{name}: '{key}' is an external link to '{target}', which cannot be opened"
        else:
            msg = f"{name}: '{key}' cannot be opened"
        raise InputError(msg) from None
    if not isinstance(obj, h5py.Dataset):
        kind = "group" if isinstance(obj, h5py.Group) else "named datatype"
        msg = f"{name}: '{key}' is a {kind}, expected a dataset"
        raise InputError(msg)
    return obj


def _is_extra(f: h5py.File, key: str, n: int) -> bool:
    """Whether ``f[key]`` is a per-event extra: a readable one-dimensional numeric dataset of length ``n``."""
    try:
        obj = f[key]
        return isinstance(obj, h5py.Dataset) and obj.shape == (n,) and obj.dtype.kind in "biuf"
    except (KeyError, OSError, ValueError, TypeError):  # a dangling link or an unreadable type: not an extra
        return False


def _describe_dtype(dtype: np.dtype) -> str:
    """Words for an HDF5 element type as h5py maps it, e.g. ``int16``, ``variable-length strings``."""
    if h5py.check_string_dtype(dtype) is not None:
        return "strings"
    if h5py.check_vlen_dtype(dtype) is not None:
        return "variable-length sequences"
    if h5py.check_ref_dtype(dtype) is not None:
        return "object references"
    if dtype.fields:
        return f"a compound type with fields {shorten(', '.join(dtype.fields))}"
    if dtype.subdtype is not None:
        return f"arrays of shape {dtype.subdtype[1]} of {dtype.subdtype[0].name}"
    if dtype.kind in "SU":
        return f"fixed-length strings ({dtype.str.lstrip('|<>')})"
    if dtype.kind == "V":
        return f"opaque {dtype.itemsize}-byte values"
    return dtype.name


def _check_dtype(dset: h5py.Dataset, key: str, name: str) -> None:
    """Refuse any element type but float32: an int16 file scaled by 1000 must not pass as energies.

    float64 and float16 are refused too, with the conversion to use: the schema stores float32, and a silent
    cast would hide a file written in other units or precision.
    """
    try:
        dtype = dset.dtype
    except (TypeError, ValueError):
        msg = f"{name}: dataset '{key}' has an HDF5 element type h5py cannot read, expected float32"
        raise InputError(msg) from None
    if dtype.kind == "f" and dtype.itemsize == 4 and dtype.subdtype is None:
        return
    found = _describe_dtype(dtype)
    content = "labels 1.0 (electron) / 0.0 (photon) / 2.0 (pion)" if key == "y" else "crops in GeV/50 and ns/50"
    if dtype.kind in "biufc" and not dtype.fields and dtype.subdtype is None:
        how = f"convert with {key}.astype(np.float32)" + (", undoing any integer scaling first" if key == "X" else "")
    else:
        how = f"write {content} as float32"
    msg = f"{name}: dataset '{key}' holds {found}, expected float32 {content}; {how}"
    raise InputError(msg)


def _check_written(dset: h5py.Dataset, key: str, name: str) -> None:
    """Refuse a dataset whose declared rows were never written: h5py would return fill values for them."""
    if dset.is_virtual or dset.external:
        return
    if dset.chunks is not None:
        expected = math.prod(-(-size // chunk) for size, chunk in zip(dset.shape, dset.chunks, strict=True))
        written = int(dset.id.get_num_chunks())
        if written < expected:
            msg = (
                f"{name}: dataset '{key}' declares {dset.shape[0]} events but only {written} of its {expected} "
                "chunks were ever written (an incomplete file)"
            )
            raise InputError(msg)
    elif dset.id.get_storage_size() < dset.size * dset.dtype.itemsize:
        msg = f"{name}: dataset '{key}' declares {dset.shape[0]} events but its data were never written (incomplete)"
        raise InputError(msg)


def _check_labels(
    labels: npt.NDArray[np.float32], indices: IndexArray, name: str, expected_label: float | None
) -> None:
    """Refuse labels other than 0/1/2, or of another class in a one-class file; ``indices`` are the file rows."""
    invalid = ~np.isin(labels, CLASS_LABELS)
    if invalid.any():
        first = int(np.argmax(invalid))
        msg = (
            f"{name}: dataset 'y' holds labels other than 0 and 1 (photon, electron) or 2 (pion) "
            f"(found {float(labels[first])!r} at index {int(indices[first])})"
        )
        raise InputError(msg)
    if expected_label is not None:
        wrong = labels != expected_label
        if wrong.any():
            others = "/".join(class_name(value) for value in np.unique(labels[wrong]))
            article = "an" if expected_label == ELECTRON else "a"
            msg = (
                f"{name}: expected {article} {class_name(expected_label)} file (y = {expected_label:g}) "
                f"but {int(wrong.sum())} of {labels.size} events carry {others} labels"
            )
            raise InputError(msg)
