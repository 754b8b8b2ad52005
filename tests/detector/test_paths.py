"""Input and output path checks: links, loops, permissions (for real, as user nobody) and non-regular files; an
output that names an input or lies in a folder being read, existing outputs, disk errors and staged folders."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import pytest

from egid.detector import InputError
from egid.detector.atomic import staged_dir
from egid.detector.paths import (
    check_input_file,
    check_not_input,
    check_output_dir,
    check_output_file,
    check_outside,
    check_replaceable,
    disk_problem,
    writing,
)
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


# ---- An output that names an input, lies in a folder being read, or exists ---------------------------------------


def _spellings(tmp_path: Path, target: Path) -> dict[str, Path]:
    """Other names of ``target``: a symbolic link, a hard link, a path through '..' and a link to its folder."""
    (tmp_path / "sym").symlink_to(target)
    os.link(target, tmp_path / "hard")
    (tmp_path / "folder-link").symlink_to(target.parent)
    return {
        "itself": target,
        "symbolic link": tmp_path / "sym",
        "hard link": tmp_path / "hard",
        "dotted": target.parent / ".." / target.parent.name / target.name,
        "through a linked folder": tmp_path / "folder-link" / target.name,
    }


@pytest.mark.parametrize("spelling", ["itself", "symbolic link", "hard link", "dotted", "through a linked folder"])
def test_every_spelling_of_an_input_is_refused_as_output(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "e.hdf5"
    data.write_bytes(b"crops")
    output = _spellings(tmp_path, data)[spelling]
    with pytest.raises(InputError, match="is the input"):
        check_not_input(output, [None, tmp_path / "other.hdf5", data], option="--output")
    check_not_input(tmp_path / "new.parquet", [data], option="--output")


@pytest.mark.parametrize(
    ("below", "refused"),
    [(".", True), ("models", True), ("models/features_only", True), ("plots/new", True), ("evaluations/x", False),
     ("../elsewhere", False)],
)  # fmt: skip
def test_an_output_inside_a_folder_being_read_is_refused(tmp_path: Path, below: str, refused: bool) -> None:
    run = tmp_path / "run"
    (run / "models" / "features_only").mkdir(parents=True)
    (tmp_path / "run-link").symlink_to(run)
    for root in (run, tmp_path / "run-link"):
        output = root / below
        if refused:
            with pytest.raises(InputError, match="which this command reads"):
                check_outside(output, run, option="--out-dir", allowed=("evaluations",))
        else:
            check_outside(output, run, option="--out-dir", allowed=("evaluations",))


@pytest.mark.parametrize("kind", ["file", "non-empty folder", "empty folder", "dangling link", "missing"])
def test_an_existing_output_needs_overwrite(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "out"
    if kind == "file":
        path.write_text("x")
    elif kind in ("non-empty folder", "empty folder"):
        path.mkdir()
        if kind == "non-empty folder":
            (path / "f").write_text("x")
    elif kind == "dangling link":
        path.symlink_to(tmp_path / "nowhere")
    check_replaceable(path, overwrite=True, option="--output")
    if kind in ("empty folder", "missing"):
        check_replaceable(path, overwrite=False, option="--output")
    else:
        with pytest.raises(InputError, match="already exists; give --overwrite"):
            check_replaceable(path, overwrite=False, option="--output")


@pytest.mark.parametrize(
    ("err", "reason"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "disk quota exceeded"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
        (OSError("Can't write data (file write failed: errno = 28, error message = 'No space left on device')"),
         "no space left on device"),
        (OSError("IOError: error writing to file: Disk quota exceeded"), "disk quota exceeded"),
        (OSError(errno.ECONNRESET, "Connection reset by peer"), None),
        (ValueError("No space left on device"), None),
    ],
)  # fmt: skip
def test_disk_problems_are_recognised_by_errno_or_message(err: BaseException, reason: str | None) -> None:
    assert disk_problem(err) == reason
    if reason is not None:
        with pytest.raises(InputError, match=f"^{reason} while writing out.parquet$"), writing("out.parquet"):
            raise err


@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("fails", [False, True])
def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path: Path, existing: bool, fails: bool) -> None:
    out = tmp_path / "out"
    if existing:
        (out / "plots").mkdir(parents=True)
        (out / "plots" / "old.png").write_text("old")
        (out / "keep.txt").write_text("kept")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with contextlib.suppress(KeyboardInterrupt), staged_dir(out) as staging:
        (staging / "plots").mkdir()
        (staging / "plots" / "new.png").write_text("new")
        (staging / "metrics.json").write_text("{}")
        if fails:
            raise KeyboardInterrupt
    if fails:
        assert sorted(str(p) for p in tmp_path.rglob("*")) == before
        return
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["new.png"]
    assert (out / "metrics.json").exists() and (out / "keep.txt").exists() == existing
    assert not [p for p in tmp_path.rglob("*") if ".partial-" in p.name]
