"""Config files across encodings, sizes and YAML features: either the settings load, or one short line
names the file and the problem (never a traceback, never a megabyte of echoed value)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egid.detector import InputError
from egid.pipelines.config import MAX_CONFIG_BYTES, RunConfig, load_config
from egid.pipelines.run import main

LINE_LIMIT = 400


def _refused(path: Path, says: str) -> str:
    with pytest.raises(InputError) as err:
        load_config(path, {})
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and len(text) < LINE_LIMIT, text
    assert says in text, text
    return text


def _alias_bomb(levels: int = 9) -> str:
    """About 1 KB of YAML whose value expands to 9**9 strings (the classic "billion laughs")."""
    lines = ["trials:", "  - &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"trials: 3\nseed: \xff\xfe\n", "not UTF-8 text (byte 0xff at offset 16)"),
        (b"trials: 3\nseed: 1\ntrials: 4\n", "duplicate key 'trials' at line 3"),
        (b"trials: 3\n---\ntrials: 4\n", "holds 2 YAML documents"),
        (b"- trials\n", "expected a mapping of option names to values, got list"),
        (b"just text\n", "expected a mapping of option names to values, got str"),
        (_alias_bomb().encode(), "key 'trials' must be int, got list [["),
        (b"trials: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
        (b"trials: !!python/object:os.system ls\n", "not a readable YAML file at line 1"),
        (b'cache_dir: "a\\0b"\n', "without NUL characters"),
        ("trials: 3\n".encode("utf-16"), "not UTF-8 text"),
    ],
    ids=[
        "non-UTF-8",
        "duplicate key",
        "two documents",
        "a list",
        "a scalar",
        "alias bomb",
        "deep",
        "python tag",
        "NUL",
        "UTF-16",
    ],
)
def test_bad_config_is_one_short_line(content: bytes, says: str, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes(content)
    _refused(path, says)


def test_alias_bomb_line_stays_short_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(_alias_bomb())
    assert main(["run", "--config", str(path), "--out-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < LINE_LIMIT, err[:500]
    assert not (tmp_path / "run").exists()


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    _refused(path, "too large for a config file")


def test_merge_keys_and_anchors_on_scalars_still_work(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("trials: &n 4\ncnn_epochs: *n\n")
    assert (load_config(path, {}).trials, load_config(path, {}).cnn_epochs) == (4, 4)


def test_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes(b"\xef\xbb\xbftrials: 5\n")
    assert load_config(path, {}).trials == 5


def test_config_that_is_a_directory_or_a_dangling_link(tmp_path: Path) -> None:
    _refused(tmp_path, "is a directory")
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    _refused(link, "dangling symbolic link")


_KEYS = st.sampled_from(["trials", "seed", "cnn", "timeout", "max_events", "name", "bogus", "<<", "? [a]"])
_SCALARS = st.sampled_from(
    ["3", "-1", "0", "true", "null", "~", ".nan", "1e3", "'x'", "[1, 2]", "{a: 1}", "*a", "&a 2"]
)
_ENCODINGS = st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pairs=st.lists(st.tuples(_KEYS, _SCALARS), max_size=6),
    documents=st.integers(1, 2),
    encoding=_ENCODINGS,
    junk=st.binary(max_size=4),
)
def test_any_config_loads_or_is_one_line(
    pairs: list[tuple[str, str]], documents: int, encoding: str, junk: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    body = "".join(f"{key}: {value}\n" for key, value in pairs) or "{}\n"
    text = "\n---\n".join([body] * documents) + "é: 1\n" * (encoding == "latin-1")
    path = tmp_path_factory.mktemp("cfg") / "run.yaml"
    path.write_bytes(text.encode(encoding) + junk)
    try:
        config = load_config(path, {})
    except InputError as err:
        message = str(err)
        assert message.startswith(f"{path}: ") and "\n" not in message and len(message) < LINE_LIMIT, message
    else:
        assert isinstance(config, RunConfig)
        assert config.trials >= 1 and config.seed >= 0
