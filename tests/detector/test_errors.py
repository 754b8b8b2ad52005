"""InputError is a ValueError; shorten keeps an echoed value to one short line and says how long it was."""

from __future__ import annotations

import pytest

from egid.detector.errors import ECHO_LIMIT, InputError, shorten


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^data/run3\.h5: not an HDF5 file$"):
        raise InputError("data/run3.h5: not an HDF5 file")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("float32", "float32"),
        ("two\nlines", "two lines"),
        ("  padded\r\n\tvalue  ", "padded value"),
        ("a \n\n  b\t\tc", "a b c"),
        ("", ""),
        (12345, "12345"),
        (None, "None"),
    ],
)
def test_a_short_value_keeps_its_text_on_one_line(value: object, text: str) -> None:
    assert shorten(value) == text


def test_str_not_repr() -> None:
    assert shorten("quoted?") == "quoted?"
    assert shorten(["a", 1]) == "['a', 1]"


def test_a_value_of_exactly_the_limit_is_kept_and_one_more_character_is_cut() -> None:
    assert shorten("x" * 10, limit=10) == "x" * 10
    assert shorten("x" * 11, limit=10) == "xxxxxxxxxx... (11 characters)"


def test_the_default_limit_is_echo_limit() -> None:
    assert ECHO_LIMIT == 80
    assert shorten("y" * 80) == "y" * 80
    assert shorten("y" * 81) == "y" * 80 + "... (81 characters)"


def test_the_length_note_counts_the_one_line_text() -> None:
    """Line breaks are collapsed before cutting, so the note gives the length of what was shortened."""
    assert shorten("ab\n\n\ncd", limit=2) == "ab... (5 characters)"
    assert shorten(1234567, limit=3) == "123... (7 characters)"


def test_a_long_multi_line_message_becomes_one_line() -> None:
    message = "Traceback:\n" + "  frame\n" * 50  # "Traceback:" and 50 times " frame": 10 + 300 characters
    short = shorten(message)
    assert "\n" not in short
    assert short.startswith("Traceback: frame frame") and short.endswith("... (310 characters)")
    assert len(short) == ECHO_LIMIT + len("... (310 characters)")
