"""One vocabulary on the command line: each idea has one option name in every subcommand.

=====================  ==========================================================================
``--run-dir DIR``      the run directory a command reads (a run of ``egid run``)
``--out-dir DIR``      a folder a command creates (run, evaluate, simulate, deploy)
``--output FILE``      a file a command writes (features, predict, pretrain)
``--events-per-class`` events of each class to simulate (simulate, pretrain, run, tune)
``--max-events N``     at most this many input events are used (run, tune, check, evaluate, deploy)
``--model KIND``       one booster kind of a run (lightgbm, xgboost)
=====================  ==========================================================================

The spellings of egid 0.1 (:data:`RENAMED_OPTIONS`, :data:`RENAMED_COMMANDS`) keep working in this release: each
use prints one deprecation line on stderr naming the new spelling and is then read as the new one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Final

__all__ = ("RENAMED_COMMANDS", "RENAMED_OPTIONS", "deprecation_notice", "renamed_arguments", "renamed_command")

REMOVED_IN: Final = "0.3"
"""The release that drops the old spellings."""

RENAMED_COMMANDS: Final[dict[str, str]] = {"export": "deploy"}
"""Old subcommand name -> new name."""

RENAMED_OPTIONS: Final[dict[str, dict[str, str]]] = {
    "run": {"--out": "--out-dir", "--n-per-class": "--events-per-class"},
    "tune": {"--n-per-class": "--events-per-class"},
    "features": {"--out": "--output"},
    "simulate": {"--out": "--out-dir", "--n": "--events-per-class"},
    "pretrain": {"--out": "--output", "--n-per-class": "--events-per-class"},
    "importances": {"--model-dir": "--run-dir", "--kind": "--measure"},
    "evaluate": {"--model-dir": "--run-dir", "--out": "--out-dir"},
    "predict": {"--model-dir": "--run-dir", "--out": "--output"},
    "deploy": {"--model-dir": "--run-dir", "--out": "--out-dir", "--events": "--max-events"},
}
"""Subcommand -> old option string -> the option that replaces it."""


def deprecation_notice(old: str, new: str) -> None:
    """Print the one line that says ``old`` is deprecated in favour of ``new``."""
    line = f"egid: warning: {old} is deprecated, use {new} (the old spelling goes in egid {REMOVED_IN})"
    print(line, file=sys.stderr)


def renamed_arguments(command: str, arguments: Sequence[str]) -> list[str]:
    """``arguments`` of subcommand ``command`` with each old option spelling replaced by the new one, with a notice.

    Both ``--old VALUE`` and ``--old=VALUE`` are recognised; nothing after a bare ``--`` is touched. The rewrite
    happens before parsing, so the new option's checks (required, type, range) apply to an old spelling too.
    """
    renames = RENAMED_OPTIONS.get(command, {})
    rewritten = list(arguments)
    for i, argument in enumerate(rewritten):
        if argument == "--":
            break
        option, equals, value = argument.partition("=")
        if option in renames:
            deprecation_notice(option, renames[option])
            rewritten[i] = renames[option] + equals + value
    return rewritten


def renamed_command(name: str) -> str:
    """The current name of subcommand ``name``, with a notice when ``name`` is an old one."""
    if name in RENAMED_COMMANDS:
        deprecation_notice(f"egid {name}", f"egid {RENAMED_COMMANDS[name]}")
        return RENAMED_COMMANDS[name]
    return name
