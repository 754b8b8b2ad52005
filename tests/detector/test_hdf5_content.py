"""Property tests of the HDF5 reader over what a file can hold: dtypes, shapes, links, attributes, chunking and
declared sizes. The contract: a file is either read correctly or refused with one line naming it."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import egid.detector.hdf5 as hdf5
from egid.detector import EventFile, InputError, load_dataset
from egid.detector.schema import IMAGE_SHAPE
from egid.detector.split import stratified_subsample
from tests.conftest import toy_crops

FILE_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

GOOD_X = toy_crops(4, label=1.0, seed=0)
GOOD_Y = np.ones(4, np.float32)

#: Element types that are not float32, as h5py writes them (name -> dtype).
NOT_FLOAT32 = {
    "int16": np.dtype(np.int16),
    "uint8": np.dtype(np.uint8),
    "int64": np.dtype(np.int64),
    "float16": np.dtype(np.float16),
    "float64": np.dtype(np.float64),
    "bool": np.dtype(bool),
    "complex64": np.dtype(np.complex64),
    "fixed bytes": np.dtype("S4"),
    "strings": h5py.string_dtype(),
    "compound": np.dtype([("energy", np.float32), ("time", np.float32)]),
}


def _write(path: Path, name: str, data: np.ndarray, dtype: np.dtype) -> None:
    """Write ``data`` as dataset ``name`` of element type ``dtype`` (values converted as best they go)."""
    with h5py.File(path, "a") as f:
        if dtype.fields:
            values = np.zeros(data.shape, dtype=dtype)
            values["energy"] = data
        elif dtype.kind in "SO":
            values = np.full(data.shape, b"1" if dtype.kind == "S" else "1", dtype=dtype)
        else:
            values = data.astype(dtype)
        f.create_dataset(name, data=values, dtype=dtype)


def _refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as err:
        EventFile(path, **kwargs)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and len(text) < 400, text
    return text


@FILE_SETTINGS
@given(kind=st.sampled_from(sorted(NOT_FLOAT32)), key=st.sampled_from(["X", "y"]))
def test_any_dtype_but_float32_is_refused_with_the_conversion(
    kind: str, key: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("dtype") / "e.hdf5"
    dtype = NOT_FLOAT32[kind]
    _write(path, key, GOOD_X if key == "X" else GOOD_Y, dtype)
    other = "y" if key == "X" else "X"
    _write(path, other, GOOD_Y if key == "X" else GOOD_X, np.dtype(np.float32))
    text = _refusal(path)
    assert f"dataset '{key}' holds " in text and "expected float32" in text
    if dtype.kind in "biufc" and not dtype.fields:
        assert f"{kind if dtype.kind != 'b' else 'bool'}" in text and f"{key}.astype(np.float32)" in text


def test_int16_scaled_crops_are_not_read_as_energies(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    _write(path, "X", GOOD_X * 1000, np.dtype(np.int16))
    _write(path, "y", GOOD_Y, np.dtype(np.float32))
    assert "holds int16, expected float32 crops" in _refusal(path)


def test_big_endian_float32_is_float32(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    _write(path, "X", GOOD_X, np.dtype(">f4"))
    _write(path, "y", GOOD_Y, np.dtype(">f4"))
    file = EventFile(path, expected_label=1.0)
    images = np.concatenate([x for _, x in file.iter_blocks(np.arange(4), chunk_size=3)])
    np.testing.assert_array_equal(images, GOOD_X)
    np.testing.assert_array_equal(file.read_labels(np.arange(4)), GOOD_Y)


def _valid(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = GOOD_X, GOOD_Y
    return path


def test_dangling_soft_link(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = GOOD_X
        f["y"] = h5py.SoftLink("/labels")
    assert "'y' is a soft link to '/labels', which does not exist" in _refusal(path)


def test_external_link_to_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = h5py.ExternalLink("nowhere.hdf5", "/X")
        f["y"] = GOOD_Y
    assert "'X' is an external link to 'nowhere.hdf5:/X', which cannot be opened" in _refusal(path)


def test_resolving_links_are_followed(tmp_path: Path) -> None:
    target = _valid(tmp_path / "target.hdf5")
    path = tmp_path / "e.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = h5py.ExternalLink(str(target), "/X")
        f["labels"] = GOOD_Y
        f["y"] = h5py.SoftLink("/labels")
        f["dangling_extra"] = h5py.SoftLink("/nothing")
    dataset = load_dataset(data=path)
    np.testing.assert_array_equal(dataset.read_images(), GOOD_X)
    assert set(dataset.extras) == {"labels"}  # a dangling link is not an extra


def test_group_named_like_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "e.hdf5"
    with h5py.File(path, "w") as f:
        f.create_group("X")
        f["y"] = GOOD_Y
    assert "'X' is a group, expected a dataset" in _refusal(path)


def test_declared_billion_rows_never_written_cost_nothing(tmp_path: Path) -> None:
    path = tmp_path / "huge.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X", shape=(10**9, *IMAGE_SHAPE), dtype=np.float32, chunks=(64, *IMAGE_SHAPE))
        f.create_dataset("y", shape=(10**9,), dtype=np.float32, chunks=(4096,))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        text = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "declares 1000000000 events but only 0 of its 15625000 chunks were ever written" in text
    assert peak < 16 << 20


def test_partly_written_file_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "part.hdf5"
    with h5py.File(path, "w") as f:
        x = f.create_dataset("X", shape=(1000, *IMAGE_SHAPE), dtype=np.float32, chunks=(10, *IMAGE_SHAPE))
        x[:4] = GOOD_X
        f.create_dataset("y", data=np.ones(1000, np.float32))
    assert "only 1 of its 100 chunks were ever written" in _refusal(path)


def test_contiguous_dataset_never_written(tmp_path: Path) -> None:
    path = tmp_path / "c.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = GOOD_X
        f.create_dataset("y", shape=(4,), dtype=np.float32)
    assert "dataset 'y' declares 4 events but its data were never written" in _refusal(path)


@settings(max_examples=30, deadline=None)
@given(
    labels=st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=60),
    max_events=st.integers(2, 70),
    block=st.integers(1, 16),
    seed=st.integers(0, 2**31 - 1),
)
def test_streamed_stratified_subset_matches_the_whole_array_version(
    labels: list[float], max_events: int, block: int, seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The two-pass, block-by-block subset picks exactly what the in-memory subsample of all labels picks."""
    y = np.asarray(labels, np.float32)
    path = tmp_path_factory.mktemp("subset") / "d.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = np.zeros((y.size, *IMAGE_SHAPE), np.float32)
        f["y"] = y
    expected = stratified_subsample(y, max_events, seed=seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hdf5, "ROW_BLOCK", block)
        dataset = load_dataset(data=path, max_events=max_events, seed=seed)
    np.testing.assert_array_equal(dataset.labels, y[expected])


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@st.composite
def hdf5_files(draw: st.DrawFn) -> dict[str, object]:
    """A description of a crop file: dtypes, shapes, links, attributes, chunking and declared size."""
    n = draw(st.integers(0, 6))
    return {
        "n": n,
        "x_dtype": draw(st.sampled_from(["f4", ">f4", "f8", "i2"])),
        "x_shape": draw(st.sampled_from([(n, 32, 32, 2), (n, 32, 32), (n, 32, 16, 2)])),
        "y_kind": draw(st.sampled_from(["ones", "zeros", "mixed", "strings", "missing", "short", "soft", "dangling"])),
        "chunk": draw(st.none() | st.integers(1, 8)),
        "compression": draw(st.sampled_from([None, "lzf", "gzip"])),
        "attrs": draw(st.dictionaries(_TEXT.filter(bool), st.integers(-(2**63), 2**63 - 1) | _TEXT, max_size=3)),
        "declared": draw(st.sampled_from([None, 10**6])),
    }


def _build(path: Path, spec: dict[str, object]) -> None:
    n = int(spec["n"])
    shape = spec["x_shape"]
    assert isinstance(shape, tuple)
    x = np.resize(toy_crops(max(n, 1), label=1.0, seed=n), (n, 32, 32, 2))[tuple(slice(0, s) for s in shape)]
    if len(shape) == 3:
        x = x[..., 0]
    chunk = spec["chunk"]
    declared = spec["declared"]
    with h5py.File(path, "w") as f:
        f.attrs.update(spec["attrs"])
        options = {"compression": spec["compression"]} if chunk or spec["compression"] else {}
        if declared is not None:
            dset = f.create_dataset("X", shape=(declared, *shape[1:]), dtype=spec["x_dtype"], chunks=(8, *shape[1:]))
            dset[:n] = x
        else:
            chunks = (min(int(chunk), n), *shape[1:]) if chunk and n else None
            f.create_dataset("X", data=x.astype(spec["x_dtype"]), chunks=chunks, **options)
        f["X"].attrs.update(spec["attrs"])
        y_kind = spec["y_kind"]
        ys = {"ones": np.ones(n), "zeros": np.zeros(n), "mixed": np.arange(n) % 2, "short": np.ones(max(n - 1, 0))}
        if y_kind in ys:
            f["y"] = ys[str(y_kind)].astype(np.float32)
        elif y_kind == "strings":
            f["y"] = np.array(["e"] * n, dtype=h5py.string_dtype())
        elif y_kind in ("soft", "dangling"):
            f["labels"] = np.ones(n, np.float32)
            f["y"] = h5py.SoftLink("/labels" if y_kind == "soft" else "/nothing")


@FILE_SETTINGS
@given(spec=hdf5_files())
def test_check_reads_or_refuses_with_one_line(
    spec: dict[str, object], tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from egid.pipelines.run import main

    path = tmp_path_factory.mktemp("prop") / "d.hdf5"
    _build(path, spec)
    status = main(["check", "--data", str(path), "--max-events", "4"])
    captured = capsys.readouterr()
    if status == 0:
        assert captured.err == "" and "ok: every image passed validation" in captured.out
        assert spec["x_dtype"] in ("f4", ">f4") and spec["declared"] is None
    else:
        assert status == 2
        assert captured.err.count("\n") == 1 and captured.err.startswith(f"egid: error: {path}: "), captured.err
        assert "Traceback" not in captured.err and len(captured.err) < 400
