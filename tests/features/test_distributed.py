"""Feature extraction on a local Dask cluster of two worker processes equals the serial extraction exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egid.detector import InputError, load_dataset
from egid.features import extract_table
from egid.features.distributed import dask_client, extract_distributed
from egid.pipelines.inputs import input_files
from egid.pipelines.run import main
from tests.conftest import toy_crops, write_crops, write_datasets


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    """Three electron files and two photon files (the photons without ``eta``), 40-70 events each."""
    for i, n in enumerate((40, 70, 50)):
        write_crops(tmp_path / f"e_{i}.hdf5", n, label=1.0, seed=10 + i)
    for i, n in enumerate((60, 45)):
        write_crops(tmp_path / f"p_{i}.hdf5", n, label=0.0, seed=20 + i, eta=False)
    return tmp_path


def _dataset(folder: Path, max_events: int | None = None):
    return load_dataset(
        electrons=input_files(str(folder / "e_*.hdf5"), option="--electrons"),
        photons=input_files([str(folder / "p_*.hdf5")], option="--photons"),
        max_events=max_events,
    )


@pytest.mark.parametrize("max_events", [None, 150])
def test_the_cluster_table_equals_the_serial_one(client, many_files, max_events):
    dataset = _dataset(many_files, max_events)
    serial = extract_table(dataset, progress=False)
    parallel = extract_distributed(dataset, client=client)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert np.isnan(parallel["eta"].to_numpy()[-len(dataset.parts()[-1]) :]).all()


def test_each_file_is_cached_and_reused(client, many_files, tmp_path):
    dataset = _dataset(many_files)
    first = extract_distributed(dataset, client=client, cache_dir=tmp_path / "cache")
    cached = sorted((tmp_path / "cache").iterdir())
    assert len(cached) == 10 and len(list((tmp_path / "cache").glob("*.parquet"))) == 5  # and a digest file each
    stamps = [path.stat().st_mtime_ns for path in cached]
    second = extract_distributed(dataset, client=client, cache_dir=tmp_path / "cache")
    assert [path.stat().st_mtime_ns for path in sorted((tmp_path / "cache").iterdir())] == stamps
    pd.testing.assert_frame_equal(second, first, check_exact=True)


def test_a_bad_file_fails_on_its_worker_with_one_line_naming_it(client, many_files):
    images = toy_crops(30, label=0.0, seed=3)
    images[7, 16, 16, 0] = np.nan
    bad = write_datasets(many_files / "p_9.hdf5", X=images, y=np.zeros(30, np.float32))
    with pytest.raises(InputError, match=f"^{bad}: 1 images contain NaN or inf values"):
        extract_distributed(_dataset(many_files), client=client)


def test_an_unreachable_scheduler_is_one_input_error():
    unreachable = pytest.raises(InputError, match=r"^--scheduler tcp://127\.0\.0\.1:9: cannot connect to the Dask sch")
    with unreachable, dask_client(scheduler="tcp://127.0.0.1:9", connect_timeout=2):
        pass


@pytest.mark.slow
def test_egid_features_on_two_local_workers_writes_the_serial_table(many_files, tmp_path):
    common = ["features", "--electrons", str(many_files / "e_*.hdf5"), "--photons", str(many_files / "p_*.hdf5")]
    assert main([*common, "--output", str(tmp_path / "serial.parquet")]) == 0
    assert main([*common, "--workers", "2", "--output", str(tmp_path / "dask.parquet")]) == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "serial.parquet"), check_exact=True
    )
