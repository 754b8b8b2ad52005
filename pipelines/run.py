#!/usr/bin/env python
"""egid's command line: ``python pipelines/run.py [SUBCOMMAND] [OPTIONS]`` (also installed as ``egid``).

Without a subcommand it runs the whole job (``run``). Each subcommand lives in its own module under
``pipelines/commands`` and exposes ``add_parser(subparsers)``; this file only dispatches and turns a user's
input error into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

import optuna

from detector.errors import InputError

#: Subcommand name -> module defining it, in the order ``--help`` lists them.
COMMANDS = {
    "run": "pipelines.commands.run_all",
    "check": "pipelines.commands.check",
    "features": "pipelines.commands.features",
    "simulate": "pipelines.commands.simulate",
    "importances": "pipelines.commands.importances",
    "evaluate": "pipelines.commands.evaluate",
    "predict": "pipelines.commands.predict",
}
DEFAULT_COMMAND = "run"
EGID_PACKAGES = ("detector", "simulation", "features", "models", "pipelines")
"""Packages whose log messages the command line shows (other libraries only from warnings up)."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="egid", description="Electron/photon identification from CMS ECAL crystal images."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand and return the exit status (2 for a user's input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((i for i, arg in enumerate(argv) if arg not in ("-v", "--verbose")), len(argv))
    if first == len(argv) or argv[first] not in (*COMMANDS, "-h", "--help"):
        argv.insert(first, DEFAULT_COMMAND)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="egid: %(message)s")
    for package in EGID_PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG if args.verbose else logging.INFO)
    # Optuna reports an interrupted trial as a warning with a traceback; egid says "interrupted" itself.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    try:
        return int(args.handler(args) or 0)
    except InputError as err:
        print(f"egid: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("egid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
