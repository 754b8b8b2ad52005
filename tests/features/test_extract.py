"""Whole-dataset tables: streaming order, label and extras, and the parquet cache (hit, version and content misses)."""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import egid.features.extract as extract_module
import egid.features.registry as registry_module
from egid.detector import EventWriter, InputError, load_dataset
from egid.features import FEATURE_NAMES, THREE_CLASS_FEATURES, build_table, cached_table, extract_table
from egid.features.extract import cache_path, digest_path, prefetched
from tests.features.toy_images import G4_SLICE


def test_table_streams_every_event_in_order_with_label_and_extras() -> None:
    dataset = load_dataset(data=G4_SLICE)
    table = extract_table(dataset, chunk_size=64, progress=False)
    assert list(table.columns) == [*FEATURE_NAMES, "label", "converted", "eta"]
    pd.testing.assert_frame_equal(table[list(FEATURE_NAMES)], build_table(dataset.read_images()))
    np.testing.assert_array_equal(table["label"], dataset.labels)
    np.testing.assert_array_equal(table["eta"], dataset.extras["eta"])
    assert table["converted"].iloc[:100].isna().all() and table["converted"].iloc[100:].isin([0, 1]).all()


def test_two_file_layout_carries_labels_of_both_classes(crop_files: tuple[Path, Path]) -> None:
    dataset = load_dataset(electrons=crop_files[0], photons=crop_files[1])
    table = extract_table(dataset, progress=False)
    assert len(table) == 200 and table["label"].sum() == 120
    assert table.loc[table["label"] == 1, "iphi_extent"].mean() > table.loc[table["label"] == 0, "iphi_extent"].mean()


def test_extra_named_like_a_feature_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clash.hdf5"
    with EventWriter(path, extras={"r9": np.float32}) as writer:
        writer.append(np.zeros((2, 32, 32, 2), np.float32), np.array([1.0, 0.0], np.float32), r9=np.zeros(2))
    with pytest.raises(InputError, match="per-event dataset 'r9' has the name of a feature-table column"):
        extract_table(load_dataset(data=path), progress=False)


class CountingExtract:
    """Wraps extract_table to count how often the cache really extracts."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> pd.DataFrame:
        self.calls += 1
        return extract_table(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingExtract:
    counter = CountingExtract()
    monkeypatch.setattr(extract_module, "extract_table", counter)
    return counter


def test_cache_hit_skips_extraction(tmp_path: Path, counting: CountingExtract) -> None:
    dataset = load_dataset(data=G4_SLICE, max_events=60)
    first = cached_table(dataset, cache_dir=tmp_path / "cache", progress=False)
    second = cached_table(dataset, cache_dir=tmp_path / "cache", progress=False)
    assert counting.calls == 1
    pd.testing.assert_frame_equal(first, second)
    entry = cache_path(dataset, tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [entry.name, digest_path(entry).name]
    assert entry.name == f"features-v2-{dataset.fingerprint()}.parquet"  # the e/gamma key did not change


def test_each_feature_set_has_its_own_entry(tmp_path: Path, counting: CountingExtract) -> None:
    dataset = load_dataset(data=G4_SLICE, max_events=60)
    egamma = cached_table(dataset, cache_dir=tmp_path, progress=False)
    three_class = cached_table(dataset, cache_dir=tmp_path, names=THREE_CLASS_FEATURES, progress=False)
    assert counting.calls == 2
    assert list(three_class.columns) == [*THREE_CLASS_FEATURES, "label", "converted", "eta"]
    pd.testing.assert_frame_equal(three_class.drop(columns=list(THREE_CLASS_FEATURES[len(FEATURE_NAMES) :])), egamma)
    again = cached_table(dataset, cache_dir=tmp_path, names=THREE_CLASS_FEATURES, progress=False)
    assert counting.calls == 2
    pd.testing.assert_frame_equal(again, three_class)
    assert len(list(tmp_path.glob("*.parquet"))) == 2


def test_cache_follows_content_not_the_file_name(tmp_path: Path, counting: CountingExtract) -> None:
    copy = tmp_path / "renamed.hdf5"
    shutil.copy(G4_SLICE, copy)
    cached_table(load_dataset(data=G4_SLICE), cache_dir=tmp_path / "cache", progress=False)
    cached_table(load_dataset(data=copy), cache_dir=tmp_path / "cache", progress=False)
    assert counting.calls == 1
    images = load_dataset(data=G4_SLICE).read_images()
    with EventWriter(copy, extras={}) as writer:  # same name, new content: the 5x5 of every crop dimmed
        images[:, 14:19, 14:19, 0] *= 0.5
        writer.append(images, load_dataset(data=G4_SLICE).labels)
    changed = cached_table(load_dataset(data=copy), cache_dir=tmp_path / "cache", progress=False)
    assert counting.calls == 2
    assert list(changed.columns) == [*FEATURE_NAMES, "label"]


def test_cache_misses_when_the_feature_set_version_changes(
    tmp_path: Path, counting: CountingExtract, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = load_dataset(data=G4_SLICE, max_events=40)
    cached_table(dataset, cache_dir=tmp_path, progress=False)
    monkeypatch.setattr(registry_module, "FEATURE_SET_VERSION", "next")
    cached_table(dataset, cache_dir=tmp_path, progress=False)
    cached_table(dataset, cache_dir=tmp_path, progress=False)
    assert counting.calls == 2
    assert len(list(tmp_path.glob("features-v*.parquet"))) == 2


def test_prefetched_yields_everything_in_order() -> None:
    assert list(prefetched(iter(range(50)))) == list(range(50))


def test_prefetched_reraises_the_producers_error_after_the_good_items() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise InputError("broken.hdf5: 3 images contain NaN or inf values (first at index 7)")

    received = []
    with pytest.raises(InputError, match=r"broken\.hdf5: 3 images contain NaN"):
        for item in prefetched(failing()):
            received.append(item)
    assert received == [1, 2]


def test_prefetched_stops_and_closes_the_producer_when_the_consumer_stops() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            for k in itertools.count():
                produced.append(k)
                yield k
        finally:
            closed.set()

    for item in prefetched(endless()):
        if item == 3:
            break
    assert closed.wait(timeout=5)
    assert len(produced) <= 6  # at most the queue slot and one item in hand beyond what was consumed


def test_invalid_crops_in_a_file_raise_the_data_layers_error(tmp_path: Path) -> None:
    images = load_dataset(data=G4_SLICE).read_images()[:20]
    images[7, 3, 3, 0] = np.nan
    path = tmp_path / "nan.hdf5"
    with EventWriter(path) as writer:
        writer.append(images, np.ones(20, np.float32))
    with pytest.raises(InputError, match=r"nan.hdf5: 1 images contain NaN or inf values \(first at index 7\)"):
        extract_table(load_dataset(data=path), progress=False)
