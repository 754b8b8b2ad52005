"""The feature cache is verified before use: every damaged or altered entry is reported in one line and recomputed.

The cases are generated per class of fault: bytes flipped at many offsets, truncation, a damaged or foreign
digest file, and entries rewritten by someone who also recomputed a consistent digest (inverted labels,
shuffled rows, an altered feature column). Each must give exactly the freshly extracted table, one warning line
naming the entry, and a rewritten entry that the next read uses. A cache path occupied by something that is not
a file gives one warning and a table computed without the cache. Concurrent writers never leave a bad entry.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import egid.features.extract as extract_module
from egid.detector import EventDataset, load_dataset
from egid.features import FEATURE_NAMES, THREE_CLASS_FEATURES, cached_table, extract_table
from egid.features.extract import cache_path, digest_path
from tests.conftest import write_crops
from tests.features.toy_images import G4_SLICE
from tests.unprivileged import as_nobody, shared_dir

LOGGER = "egid.features.extract"

Damage = Callable[[Path, EventDataset], None]
"""Changes the cache entry at the given parquet path of the given dataset."""


def flip_byte(fraction: float) -> Damage:
    def damage(path: Path, dataset: EventDataset) -> None:
        content = bytearray(path.read_bytes())
        offset = min(int(fraction * len(content)), len(content) - 1)
        content[offset] ^= 0xFF
        path.write_bytes(bytes(content))

    return damage


def truncate(fraction: float) -> Damage:
    def damage(path: Path, dataset: EventDataset) -> None:
        content = path.read_bytes()
        path.write_bytes(content[: int(fraction * len(content))])

    return damage


def append_garbage(path: Path, dataset: EventDataset) -> None:
    path.write_bytes(path.read_bytes() + b"\0" * 17)


def edit_digest(edit: Callable[[dict[str, object]], object]) -> Damage:
    def damage(path: Path, dataset: EventDataset) -> None:
        document = json.loads(digest_path(path).read_text())
        edited = edit(document)
        digest_path(path).write_text(json.dumps(document if edited is None else edited))

    return damage


def write_digest_text(text: str) -> Damage:
    def damage(path: Path, dataset: EventDataset) -> None:
        digest_path(path).write_text(text)

    return damage


def remove_digest(path: Path, dataset: EventDataset) -> None:
    digest_path(path).unlink()


def rewritten(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Damage:
    """Rewrite the entry with a changed table *and a consistent digest*: what an informed attacker would do."""

    def damage(path: Path, dataset: EventDataset) -> None:
        names = FEATURE_NAMES if "mip_like" not in pd.read_parquet(path).columns else THREE_CLASS_FEATURES
        extract_module._write(path, change(pd.read_parquet(path)), dataset, names)

    return damage


def inverted_labels(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(label=1.0 - table["label"])


def shuffled_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table.sample(frac=1.0, random_state=3).reset_index(drop=True)


def shuffled_features_only(table: pd.DataFrame) -> pd.DataFrame:
    """Feature rows permuted within each class, labels and extras left in place: only the features move."""
    out = table.copy()
    for label in (0.0, 1.0):
        rows = np.flatnonzero(table["label"] == label)
        out.loc[rows, list(FEATURE_NAMES)] = table.loc[np.roll(rows, 1), list(FEATURE_NAMES)].to_numpy()
    return out


def scaled_column(name: str, factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda table: table.assign(**{name: table[name] * np.float32(factor)})


def column_from(source: str, target: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda table: table.assign(**{target: table[source]})


def float64_column(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(r9=table["r9"].astype(np.float64))


def swapped_columns(table: pd.DataFrame) -> pd.DataFrame:
    names = list(table.columns)
    names[0], names[1] = names[1], names[0]
    return table[names]


def foreign_entry(path: Path, dataset: EventDataset) -> None:
    """The entry (and digest) of another selection of the same file copied under this entry's name."""
    other = load_dataset(data=G4_SLICE, max_events=len(dataset) - 2)
    folder = path.parent / "other"
    cached_table(other, cache_dir=folder, progress=False)
    source = cache_path(other, folder)
    path.write_bytes(source.read_bytes())
    digest_path(path).write_bytes(digest_path(source).read_bytes())


DAMAGES: dict[str, Damage] = {
    **{f"byte flipped at {f:.0%}": flip_byte(f) for f in (0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0)},
    **{f"truncated to {f:.0%}": truncate(f) for f in (0.0, 0.5, 0.99)},
    "garbage appended": append_garbage,
    "digest file missing (an entry of an older egid)": remove_digest,
    "digest file empty": write_digest_text(""),
    "digest file not JSON": write_digest_text("{not json"),
    "digest file a JSON list": write_digest_text("[1, 2]"),
    "digest file without sha256": edit_digest(lambda d: d.pop("sha256")),
    "sha256 of another content": edit_digest(lambda d: d.update(sha256="0" * 64)),
    "digest of another dataset": edit_digest(lambda d: d.update(dataset="0" * 32)),
    "digest of another feature-set version": edit_digest(lambda d: d.update(feature_set_version="1")),
    "digest of another row count": edit_digest(lambda d: d.update(rows=int(str(d["rows"])) + 1)),
    "digest of another layout": edit_digest(lambda d: d.update(format="egid-feature-cache/0")),
    "entry of another event selection": foreign_entry,
    "labels inverted, digest recomputed": rewritten(inverted_labels),
    "rows shuffled, digest recomputed": rewritten(shuffled_rows),
    "feature rows shuffled within each class, digest recomputed": rewritten(shuffled_features_only),
    "one feature column scaled by 1.01, digest recomputed": rewritten(scaled_column("r9", 1.01)),
    "one feature column replaced by another, digest recomputed": rewritten(column_from("e3x3", "e5x5")),
    "one feature column stored as float64, digest recomputed": rewritten(float64_column),
    "two columns swapped, digest recomputed": rewritten(swapped_columns),
    "last row dropped, digest recomputed": rewritten(lambda table: table.iloc[:-1]),
    "a row duplicated, digest recomputed": rewritten(lambda table: pd.concat([table, table.iloc[:1]])),
    "an extra column added, digest recomputed": rewritten(lambda table: table.assign(spare=np.float32(0))),
    "eta altered, digest recomputed": rewritten(lambda table: table.assign(eta=table["eta"] + np.float32(0.1))),
}


@pytest.fixture(scope="module")
def dataset() -> EventDataset:
    return load_dataset(data=G4_SLICE)


@pytest.fixture(scope="module")
def fresh(dataset: EventDataset) -> pd.DataFrame:
    return extract_table(dataset, progress=False)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


def read_entry(dataset: EventDataset, folder: Path, caplog: pytest.LogCaptureFixture, **kwargs: object) -> pd.DataFrame:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        return cached_table(dataset, cache_dir=folder, progress=False, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", list(DAMAGES))
def test_a_damaged_or_altered_entry_is_reported_once_and_recomputed(
    case: str, dataset: EventDataset, fresh: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache_path(dataset, tmp_path)
    read_entry(dataset, tmp_path, caplog)
    DAMAGES[case](path, dataset)

    table = read_entry(dataset, tmp_path, caplog)
    pd.testing.assert_frame_equal(table, fresh, check_exact=True)
    (warning,) = warnings_of(caplog)
    assert warning.startswith(f"features: not using cache {path}: ") and warning.endswith("; recomputing it")
    assert "\n" not in warning

    again = read_entry(dataset, tmp_path, caplog)  # the entry was rewritten and now verifies
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)
    assert warnings_of(caplog) == [] and f"cache hit {path} (verified)" in caplog.text


def test_the_problems_are_named(dataset: EventDataset, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    expected = {
        "byte flipped at 50%": "SHA-256 does not match the digest file",
        "digest file missing (an entry of an older egid)": "digest file features-v2-",
        "digest of another dataset": "its digest file records another dataset",
        "labels inverted, digest recomputed": "its 'label' column differs from the input files' at 200 events",
        "feature rows shuffled within each class, digest recomputed": "column differs from a fresh computation",
        "one feature column scaled by 1.01, digest recomputed": "'r9' column differs from a fresh computation",
        "one feature column stored as float64, digest recomputed": "its column 'r9' is float64, not float32",
        "eta altered, digest recomputed": "its 'eta' column differs from the input files' at 200 events",
    }
    path = cache_path(dataset, tmp_path)
    for case, problem in expected.items():
        read_entry(dataset, tmp_path, caplog)
        DAMAGES[case](path, dataset)
        read_entry(dataset, tmp_path, caplog)
        (warning,) = warnings_of(caplog)
        assert problem in warning, (case, warning)


def test_shuffled_rows_of_a_one_class_file_without_extras_are_caught_by_the_spot_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Labels and extras cannot see this one: only recomputing some events from the file can."""
    dataset = load_dataset(data=write_crops(tmp_path / "electrons.hdf5", 150, label=1.0, eta=False))
    path = cache_path(dataset, tmp_path / "cache")
    read_entry(dataset, tmp_path / "cache", caplog)
    rewritten(lambda table: table.iloc[np.roll(np.arange(len(table)), 1)].reset_index(drop=True))(path, dataset)
    table = read_entry(dataset, tmp_path / "cache", caplog)
    pd.testing.assert_frame_equal(table, extract_table(dataset, progress=False), check_exact=True)
    (warning,) = warnings_of(caplog)
    assert "differs from a fresh computation" in warning


def test_the_three_class_entry_is_verified_alike(
    dataset: EventDataset, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache_path(dataset, tmp_path, names=THREE_CLASS_FEATURES)
    read_entry(dataset, tmp_path, caplog, names=THREE_CLASS_FEATURES)
    rewritten(scaled_column("lateral_contrast", 0.5))(path, dataset)
    table = read_entry(dataset, tmp_path, caplog, names=THREE_CLASS_FEATURES)
    (warning,) = warnings_of(caplog)
    assert "'lateral_contrast' column differs from a fresh computation" in warning
    pd.testing.assert_frame_equal(
        table, extract_table(dataset, names=THREE_CLASS_FEATURES, progress=False), check_exact=True
    )


def occupy_with_directory(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "inside").write_text("kept")


def occupy_with_pipe(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def occupy_with_link_loop(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path)


OCCUPIERS: dict[str, Callable[[Path], None]] = {
    "a directory": occupy_with_directory,
    "a pipe": occupy_with_pipe,
    "a symbolic link loop": occupy_with_link_loop,
}


@pytest.mark.parametrize("which", ["entry", "digest", "folder"])
@pytest.mark.parametrize("occupier", sorted(OCCUPIERS))
def test_a_cache_path_that_is_not_a_file_gives_one_warning_and_no_cache(
    which: str,
    occupier: str,
    dataset: EventDataset,
    fresh: pd.DataFrame,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "cache"
    entry = cache_path(dataset, folder)
    if which == "folder":  # the cache folder itself is taken by something that is not a folder
        occupied = folder
        if occupier == "a directory":
            folder.write_text("a regular file where the cache folder should be")
        else:
            OCCUPIERS[occupier](folder)
    else:
        occupied = entry if which == "entry" else digest_path(entry)
        OCCUPIERS[occupier](occupied)
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    for _ in range(2):
        table = read_entry(dataset, folder, caplog)
        pd.testing.assert_frame_equal(table, fresh, check_exact=True)
        (warning,) = warnings_of(caplog)
        assert warning.startswith(f"features: not caching in {occupied}: ")
        assert warning.endswith("; computing without the cache")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing created, nothing removed


def test_an_unwritable_cache_folder_gives_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with shared_dir() as shared:
        data = shared / "slice.hdf5"
        shutil.copy(G4_SLICE, data)
        data.chmod(0o644)
        dataset = load_dataset(data=data)
        folder = shared / "cache"
        folder.mkdir(mode=0o555)
        with as_nobody():
            table = read_entry(dataset, folder, caplog)
        pd.testing.assert_frame_equal(table, extract_table(dataset, progress=False), check_exact=True)
        (warning,) = warnings_of(caplog)
        assert warning.startswith(f"features: could not write cache {cache_path(dataset, folder)} (")
        assert warning.endswith("; continuing without it")
        assert list(folder.iterdir()) == []


def test_writing_the_same_entry_twice_gives_the_same_bytes(
    dataset: EventDataset, fresh: pd.DataFrame, tmp_path: Path
) -> None:
    """Concurrent writers of one entry rename identical files into place, so any mix of theirs verifies."""
    path = cache_path(dataset, tmp_path)
    extract_module._write(path, fresh, dataset, FEATURE_NAMES)
    first = path.read_bytes(), digest_path(path).read_bytes()
    extract_module._write(path, fresh.copy(), dataset, FEATURE_NAMES)
    assert (path.read_bytes(), digest_path(path).read_bytes()) == first


WRITER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    import egid.features.extract as extract
    from egid.detector import load_dataset
    from egid.features import FEATURE_NAMES

    folder, rounds = sys.argv[1], int(sys.argv[2])
    dataset = load_dataset(data=sys.argv[3])
    fresh = extract.extract_table(dataset, progress=False)
    path = extract.cache_path(dataset, folder)
    for _ in range(rounds):
        extract._write(path, fresh, dataset, FEATURE_NAMES)
        table = extract.cached_table(dataset, cache_dir=folder, progress=False)
        pd.testing.assert_frame_equal(table, fresh, check_exact=True)
    """
)


def test_processes_writing_and_reading_one_entry_at_once_never_corrupt_it(
    dataset: EventDataset, fresh: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cache"
    command = [sys.executable, "-c", WRITER, str(folder), "15", str(G4_SLICE)]
    workers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
    table = read_entry(dataset, folder, caplog)
    pd.testing.assert_frame_equal(table, fresh, check_exact=True)
    assert warnings_of(caplog) == [] and "cache hit" in caplog.text
    path = cache_path(dataset, folder)
    assert sorted(p.name for p in folder.iterdir()) == [path.name, digest_path(path).name]  # no temporary files
