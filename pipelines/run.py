#!/usr/bin/env python
"""egid's command line: ``python pipelines/run.py [SUBCOMMAND] [OPTIONS]`` (also installed as ``egid``).

Without a subcommand it runs the whole job (``run``). Each subcommand lives in its own module under
``pipelines/commands`` (see :data:`egid.pipelines.commands.COMMANDS`); only the chosen one is imported, so ``--help``
and a user's input error answer at once. This file dispatches and turns a user's input error into one line on
stderr and exit status 2.

Exit statuses: 0 success; 2 a bad input or option, or an output that cannot be written (a full disk, a read-only
or forbidden folder: ``egid: error: no space left on device while writing PATH``), nothing half-written left
behind; 130 Ctrl-C and 143 SIGTERM (see :mod:`egid.pipelines.signals`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import NoReturn

from egid.detector.errors import InputError
from egid.detector.paths import disk_problem
from egid.pipelines import signals
from egid.pipelines.commands import COMMANDS
from egid.pipelines.vocabulary import renamed_arguments, renamed_command

DEFAULT_COMMAND = "run"
EGID_LOGGER = "egid"
"""The package logger: the command line shows its messages (other libraries only from warnings up)."""
EXIT_STATUSES = (
    "exit status: 0 done; 2 a bad input or option, or an output that cannot be written (a full disk, a read-only or "
    "forbidden folder), with one 'egid: error:' line and nothing half-written; 130 Ctrl-C and 143 SIGTERM, with one "
    "'egid: interrupted;' line and no temporary file left"
)
"""The exit statuses, as ``egid --help`` states them."""
MAX_ERROR_CHARS = 1000
"""An error line is cut to this length: the one-line promise holds whatever a message echoes."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are InputErrors: one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command; only ``command``'s gets its options."""
    parser = OneLineParser(
        prog="egid",
        description="Electron/photon identification from CMS ECAL crystal images.",
        epilog=EXIT_STATUSES,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (module, summary) in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        if name == command:
            importlib.import_module(module).configure(subparser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand and return the exit status (2 for a user's input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    signals.install()
    first = next((i for i, arg in enumerate(argv) if arg not in ("-v", "--verbose")), len(argv))
    try:
        if first < len(argv) and not argv[first].startswith("-"):
            argv[first] = renamed_command(argv[first])
            if argv[first] not in COMMANDS:
                msg = f"unknown command {argv[first][:40]!r}; the commands are {', '.join(COMMANDS)} (egid --help)"
                raise InputError(msg)
        if first == len(argv) or argv[first] not in (*COMMANDS, "-h", "--help"):
            argv.insert(first, DEFAULT_COMMAND)
        command = argv[first] if argv[first] in COMMANDS else None
        if command is not None:
            argv[first + 1 :] = renamed_arguments(command, argv[first + 1 :])
        args = build_parser(command).parse_args(argv)
        logging.basicConfig(level=logging.WARNING, format="egid: %(message)s")
        logging.getLogger(EGID_LOGGER).setLevel(logging.DEBUG if args.verbose else logging.INFO)
        return int(args.handler(args) or 0)
    except InputError as err:
        _error_line(str(err))
        return 2
    except OSError as err:  # a write that no command wrapped in egid.detector.paths.writing
        reason = disk_problem(err)
        if reason is None:
            raise
        _error_line(f"{reason} while writing {err.filename or 'the output'}")
        return 2
    except KeyboardInterrupt as err:
        print(signals.interrupted_line(err), file=sys.stderr)
        return signals.exit_status(err)


def _error_line(message: str) -> None:
    """Print ``egid: error: MESSAGE`` as one line of at most :data:`MAX_ERROR_CHARS` characters on stderr."""
    line = " ".join(f"egid: error: {message}".split())
    if len(line) > MAX_ERROR_CHARS:
        line = line[: MAX_ERROR_CHARS - 3] + "..."
    print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
