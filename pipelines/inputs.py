"""Command-line options that name the input data, shared by every subcommand that reads crops.

``--electrons`` and ``--photons`` take one or more files or glob patterns each (``--electrons 'e_*.hdf5'``,
quoted so that egid, not the shell, expands it; a batch script or a config file can carry the pattern).
Matches are sorted, so every worker of a cluster sees the files in the same order.
"""

from __future__ import annotations

import argparse
import glob
import os
from collections.abc import Sequence
from pathlib import Path

from egid.detector import EventDataset, InputError, load_dataset
from egid.pipelines.options import option_type

__all__ = (
    "add_extraction_arguments",
    "add_input_arguments",
    "add_overwrite_argument",
    "add_run_dir_argument",
    "dataset_from_args",
    "input_files",
    "run_being_read",
)


def add_input_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``--electrons/--photons`` or ``--data``, plus ``--max-events`` and ``--seed``."""
    group = parser.add_argument_group("input data" + ("" if required else " (default: the embedded simulation)"))
    for option, what in (("--electrons", "electrons (y = 1)"), ("--photons", "photons (y = 0)")):
        group.add_argument(
            option, nargs="+", action="extend", metavar="FILE", help=f"HDF5 files or globs of {what}, the CMS layout"
        )
    group.add_argument(
        "--pions",
        nargs="+",
        action="extend",
        metavar="FILE",
        help="HDF5 files or globs of charged pions (y = 2): trains and scores the three-class e/gamma/pi models",
    )
    group.add_argument("--data", metavar="FILE", help="a single HDF5 file holding the classes (labels 0, 1 [and 2])")
    group.add_argument(
        "--max-events", type=option_type("max_events"), metavar="N", help="use at most N events in total (quick runs)"
    )
    # A parser built with argument_default=SUPPRESS (egid run) lets a config file supply the seed.
    seed_default = argparse.SUPPRESS if parser.argument_default == argparse.SUPPRESS else 0
    parser.add_argument(
        "--seed", type=option_type("seed"), default=seed_default, help="seed of every random choice (default: 0)"
    )


def add_run_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--run-dir``: the run a command reads (a run directory of ``egid run``, its ``models/`` or one model set)."""
    parser.add_argument(
        "--run-dir", required=True, metavar="RUN", help="run directory of egid run (or its models/ or one model set)"
    )


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: the explicit permission to replace ``what`` (an existing output is refused without it)."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace {what} (default: refuse)")


def run_being_read(path: str | os.PathLike[str]) -> Path:
    """The folder that ``--run-dir PATH`` reads, where no output may go: the whole run directory when ``PATH`` is
    a run, its ``models/`` folder or one of its model sets; a model set standing alone otherwise.

    Raises
    ------
    InputError
        ``PATH`` holds no model set (see :func:`egid.models.bundle.model_sets`).
    """
    from egid.models.bundle import model_sets

    holder = model_sets(path)[0].parent
    return holder.parent if holder.name == "models" else Path(path)  # a run keeps its sets in models/ (model_sets)


def add_extraction_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler`` and ``--workers``: feature extraction on a Dask cluster instead of in this process."""
    group = parser.add_argument_group("parallel feature extraction (Dask, one task per input file)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler, tcp://host:port")
    choice.add_argument(
        "--workers", type=option_type("workers"), metavar="N", help="start a local Dask cluster of N worker processes"
    )


def input_files(values: str | Sequence[str] | None, *, option: str) -> list[str] | None:
    """Expand the files and glob patterns given to ``option``, in order; each pattern's matches sorted.

    Raises
    ------
    InputError
        A pattern matches no file, or a file is named twice.
    """
    if values is None:
        return None
    files: list[str] = []
    for value in [values] if isinstance(values, str) else values:
        matches = sorted(glob.glob(value)) if glob.has_magic(value) else [value]
        if not matches:
            msg = f"{option}: pattern '{value}' matches no file"
            raise InputError(msg)
        files.extend(matches)
    seen: set[str] = set()
    for file in files:
        real = os.path.realpath(file)
        if real in seen:
            msg = f"{option}: {file} is given twice"
            raise InputError(msg)
        seen.add(real)
    return files


def named_input_files(args: argparse.Namespace) -> list[str]:
    """Every input file the options name (``--electrons``, ``--photons``, ``--pions``, ``--data``), patterns
    expanded: what an output must never replace."""
    per_class = [
        input_files(getattr(args, option, None), option=f"--{option}") or []
        for option in ("electrons", "photons", "pions")
    ]
    return [file for files in per_class for file in files] + ([args.data] if args.data else [])


def dataset_from_args(args: argparse.Namespace) -> EventDataset:
    """Open and validate the input files named on the command line."""
    return load_dataset(
        electrons=input_files(args.electrons, option="--electrons"),
        photons=input_files(args.photons, option="--photons"),
        pions=input_files(getattr(args, "pions", None), option="--pions"),
        data=args.data,
        max_events=args.max_events,
        seed=args.seed,
    )
