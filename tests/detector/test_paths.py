"""Input and output path checks: links, loops, permissions (for real, as user nobody) and non-regular files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from egid.detector import InputError
from egid.detector.paths import check_input_file, check_output_dir, check_output_file
from tests.unprivileged import as_nobody, shared_dir

__all__ = ()


def _one_line(err: pytest.ExceptionInfo[InputError]) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_dangling_symbolic_link_says_so(tmp_path: Path) -> None:
    link = tmp_path / "e.hdf5"
    link.symlink_to(tmp_path / "gone.hdf5")
    with pytest.raises(InputError, match=rf"^{link}: is a dangling symbolic link \(to '.*gone.hdf5'") as err:
        check_input_file(link)
    _one_line(err)


def test_symbolic_link_loop_is_not_reported_as_missing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.hdf5", tmp_path / "b.hdf5"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(InputError, match=rf"^{a}: too many levels of symbolic links"):
        check_input_file(a)
    with pytest.raises(InputError, match=rf"^{a}: too many levels of symbolic links"):
        check_output_file(a)


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.hdf5"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=rf"^{fifo}: is not a regular file"):
        check_input_file(fifo)


def test_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match=r"a parent in the path is not a directory"):
        check_input_file(tmp_path / "f" / "e.hdf5")
    with pytest.raises(InputError, match=rf"^{tmp_path / 'f' / 'out.csv'}: cannot be created, .* is not a directory"):
        check_output_file(tmp_path / "f" / "out.csv")
    with pytest.raises(InputError, match=r"exists and is not a directory"):
        check_output_dir(tmp_path / "f")


def test_unreadable_file_is_permission_denied() -> None:
    with shared_dir() as open_dir:
        secret = open_dir / "e.hdf5"
        secret.write_bytes(b"\x89HDF\r\n\x1a\n")
        secret.chmod(0o000)
        with as_nobody(), pytest.raises(InputError, match=rf"^{secret}: permission denied$"):
            check_input_file(secret)
        if os.geteuid() == 0:  # root may read it: the check follows what the user can really do
            check_input_file(secret)


def test_unsearchable_folder_is_permission_denied() -> None:
    with shared_dir() as open_dir:
        folder = open_dir / "locked"
        folder.mkdir()
        (folder / "e.hdf5").write_bytes(b"x")
        folder.chmod(0o600)
        with as_nobody(), pytest.raises(InputError, match=r"e.hdf5: permission denied$"):
            check_input_file(folder / "e.hdf5")


def test_read_only_folder_refuses_outputs() -> None:
    with shared_dir() as open_dir:
        folder = open_dir / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        with as_nobody():
            with pytest.raises(InputError, match=r"cannot be created, the folder .*ro is not writable$"):
                check_output_file(folder / "sub" / "table.parquet")
            with pytest.raises(InputError, match=r"ro: the directory is not writable$"):
                check_output_dir(folder)
        if os.geteuid() == 0:  # root may write there
            assert check_output_dir(folder) == folder


def test_existing_directory_is_not_an_output_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"^{tmp_path}: is a directory, expected the path of a file to write$"):
        check_output_file(tmp_path)
