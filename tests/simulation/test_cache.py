"""The default-sample cache: simulated once, verified on every read, damaged entries re-simulated, never used."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import egid.simulation.cache as sim_cache
from egid.detector import InputError, file_digest, load_dataset
from egid.simulation import MANIFEST, default_sample, sample_dir, write_sample

N = 40
SEED = 4


class _CountingWrite:
    """Wraps write_sample and records the particles of each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: object, **kwargs: object) -> tuple[Path, ...]:
        self.calls.append(tuple(kwargs["particles"]))  # type: ignore[arg-type]
        return write_sample(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _CountingWrite:
    counter = _CountingWrite()
    monkeypatch.setattr(sim_cache, "write_sample", counter)
    return counter


def test_default_sample_is_simulated_once(tmp_path: Path, counting: _CountingWrite) -> None:
    first = default_sample(N, seed=SEED, cache_dir=tmp_path)
    second = default_sample(N, seed=SEED, cache_dir=tmp_path)
    assert first == second and counting.calls == [("electron",), ("photon",)]
    assert [p.parent for p in first] == [sample_dir(tmp_path, N, seed=SEED, particle=p) for p in ("electron", "photon")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.parent.name for p in first)  # no temporary left
    assert len(load_dataset(electrons=first[0], photons=first[1])) == 2 * N


def test_paths_come_in_the_order_asked_and_pions_are_cached_too(tmp_path: Path, counting: _CountingWrite) -> None:
    pion, electron = default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("pion", "electron"))
    assert (pion.name, electron.name) == ("pion.hdf5", "electron.hdf5")
    again = default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("electron", "photon", "pion"))
    assert again[0] == electron and again[2] == pion
    assert counting.calls == [("pion",), ("electron",), ("photon",)]


def test_pion_and_e_gamma_entries_are_keyed_by_their_own_versions(tmp_path: Path) -> None:
    from egid.simulation import PION_SIMULATION_VERSION, SIMULATION_VERSION

    assert sample_dir(tmp_path, 5, seed=1, particle="pion").name == f"sim-pion-v{PION_SIMULATION_VERSION}-n5-seed1"
    assert sample_dir(tmp_path, 5, seed=1).name == f"sim-electron-v{SIMULATION_VERSION}-n5-seed1"


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_interrupted_simulation_leaves_nothing_to_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interruption: type[BaseException]
) -> None:
    """A kill mid-write (Ctrl-C, or a SIGTERM handler raising SystemExit) leaves no entry and no temporary."""

    def dying_write(out_dir: Path, n: int, *, seed: int, particles: tuple[str, ...]) -> tuple[Path, ...]:
        (Path(out_dir) / f"{particles[0]}.hdf5").write_bytes(b"half")
        raise interruption

    monkeypatch.setattr(sim_cache, "write_sample", dying_write)
    with pytest.raises(interruption):
        default_sample(N, seed=SEED, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    electrons, photons = default_sample(N, seed=SEED, cache_dir=tmp_path)
    assert len(load_dataset(electrons=electrons, photons=photons)) == 2 * N


def _flip_bytes(entry: Path) -> str:
    path = entry / "electron.hdf5"
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 3, len(data) // 2):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return "does not match its SHA-256"


def _truncate(entry: Path) -> str:
    path = entry / "electron.hdf5"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "bytes, the manifest says"


def _delete_manifest(entry: Path) -> str:
    (entry / MANIFEST).unlink()
    return f"{MANIFEST} is missing"


def _garble_manifest(entry: Path) -> str:
    (entry / MANIFEST).write_text("{not json")
    return f"{MANIFEST} cannot be read"


def _manifest_of_another_sample(entry: Path) -> str:
    record = json.loads((entry / MANIFEST).read_text())
    record["seed"] = SEED + 1
    (entry / MANIFEST).write_text(json.dumps(record))
    return "describes another sample"


def _delete_file(entry: Path) -> str:
    (entry / "electron.hdf5").unlink()
    return "electron.hdf5 is missing"


def _replace_by_other_events(entry: Path) -> str:
    """Another valid file of the same schema and size class, with other events (another seed)."""
    (other,) = write_sample(entry.parent / "other", N, seed=SEED + 7, particles=("electron",))
    shutil.copyfile(other, entry / "electron.hdf5")
    shutil.rmtree(other.parent)
    return "electron.hdf5"


DAMAGES: dict[str, Callable[[Path], str]] = {
    "flipped bytes": _flip_bytes,
    "truncated": _truncate,
    "manifest deleted": _delete_manifest,
    "manifest garbled": _garble_manifest,
    "manifest of another sample": _manifest_of_another_sample,
    "file deleted": _delete_file,
    "replaced by other events": _replace_by_other_events,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_entry_is_reported_once_and_simulated_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, counting: _CountingWrite, damage: Callable[[Path], str]
) -> None:
    (clean,) = default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("electron",))
    clean_digest = file_digest(clean)
    expected_problem = damage(clean.parent)

    with caplog.at_level(logging.WARNING, logger="egid.simulation.cache"):
        (again,) = default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("electron",))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(clean.parent) in warnings[0] and expected_problem in warnings[0]
    assert "\n" not in warnings[0]
    assert counting.calls == [("electron",), ("electron",)]
    assert again == clean and file_digest(again) == clean_digest  # the same seed simulates the same bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == [clean.parent.name]  # nothing damaged left behind

    caplog.clear()
    default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("electron",))
    assert not caplog.records or all(r.levelno < logging.WARNING for r in caplog.records)
    assert len(counting.calls) == 2


def test_a_file_on_the_entry_path_is_a_one_line_input_error(tmp_path: Path) -> None:
    entry = sample_dir(tmp_path, N, seed=SEED, particle="photon")
    entry.write_text("not mine to delete")
    with pytest.raises(InputError, match=r"occupied by a file; move it away$"):
        default_sample(N, seed=SEED, cache_dir=tmp_path)
    assert entry.read_text() == "not mine to delete"


def test_a_foreign_directory_on_the_entry_path_is_a_one_line_input_error(tmp_path: Path) -> None:
    entry = sample_dir(tmp_path, N, seed=SEED, particle="electron")
    entry.mkdir()
    (entry / "notes.txt").write_text("someone's work")
    with pytest.raises(InputError, match="occupied by a directory that is not a simulated sample"):
        default_sample(N, seed=SEED, cache_dir=tmp_path)
    assert (entry / "notes.txt").exists()


def test_an_empty_directory_on_the_entry_path_is_filled(tmp_path: Path) -> None:
    entry = sample_dir(tmp_path, N, seed=SEED, particle="electron")
    entry.mkdir()
    (electrons,) = default_sample(N, seed=SEED, cache_dir=tmp_path, particles=("electron",))
    assert electrons.parent == entry and (entry / MANIFEST).is_file()


def test_a_cache_dir_that_is_a_file_is_a_one_line_input_error(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("")
    with pytest.raises(InputError, match="the cache directory is not a directory"):
        default_sample(N, seed=SEED, cache_dir=cache)


@pytest.mark.parametrize(
    ("particles", "problem"),
    [((), "none given"), (("electron", "muon"), "unknown 'muon'"), (("pion", "pion"), "a name repeats")],
)
def test_bad_particle_choices_are_one_line_input_errors(
    tmp_path: Path, particles: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(InputError, match=problem) as error:
        default_sample(N, seed=SEED, cache_dir=tmp_path, particles=particles)
    assert "electron, photon, pion" in str(error.value) and "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []
