"""atomic_path: a file appears whole or not at all, with the usual permissions; file_digest: the SHA-256 of a file."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from egid.detector.atomic import atomic_path, file_digest


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that sets its own."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def test_the_file_appears_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("half")
        assert not target.exists()  # nothing at the final name while the block runs
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def test_an_exception_keeps_the_old_content_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "model.txt"
    target.write_text("old model")
    with pytest.raises(ValueError, match=r"^failed half way$"), atomic_path(target) as tmp:
        tmp.write_text("new but incomplete")
        raise ValueError("failed half way")
    assert target.read_text() == "old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.txt"]


def test_an_exception_without_an_old_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "new.json") as tmp:
        tmp.write_text("{")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "run" / "models" / "manifest.json"
    with atomic_path(target) as tmp:
        tmp.write_text("{}")
    assert target.read_text() == "{}"


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_the_file_permissions_follow_the_umask(tmp_path: Path, umask: None, mask: int, mode: int) -> None:
    """As ``open(path, "w")`` would create it: 0o666 less the umask (mkstemp alone would give 0o600)."""
    os.umask(mask)
    target = tmp_path / "report.md"
    with atomic_path(target) as tmp:
        tmp.write_text("# report")
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.umask(mask) == mask  # reading the umask inside atomic_path left it as it was


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000, 3 * 4096 + 5])
@pytest.mark.parametrize("block_bytes", [1, 7, 64, 4096, 1 << 22])
def test_file_digest_is_hashlibs_sha256_of_the_bytes_for_any_block_size(
    tmp_path: Path, size: int, block_bytes: int
) -> None:
    content = np.random.default_rng(size).integers(0, 256, size=size, dtype=np.uint8).tobytes()
    path = tmp_path / "artifact.bin"
    path.write_bytes(content)
    assert file_digest(path, block_bytes=block_bytes) == hashlib.sha256(content).hexdigest()


def test_file_digest_matches_the_published_sha256_test_vectors(tmp_path: Path) -> None:
    """FIPS 180-2, appendix B.1, and the digest of the empty message."""
    (tmp_path / "abc").write_bytes(b"abc")
    (tmp_path / "empty").write_bytes(b"")
    assert file_digest(tmp_path / "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_digest(str(tmp_path / "empty")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_file_digest_follows_content_not_names(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"same bytes")
    (tmp_path / "b.txt").write_bytes(b"same bytes")
    (tmp_path / "c.txt").write_bytes(b"same bytez")
    digests = [file_digest(tmp_path / name) for name in ("a.txt", "b.txt", "c.txt")]
    assert digests[0] == digests[1] != digests[2]
