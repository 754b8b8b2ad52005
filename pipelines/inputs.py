"""Command-line options that name the input data, shared by every subcommand that reads crops."""

from __future__ import annotations

import argparse

from egid.detector import EventDataset, load_dataset
from egid.pipelines.options import option_type

__all__ = ("add_input_arguments", "dataset_from_args")


def add_input_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``--electrons/--photons`` or ``--data``, plus ``--max-events`` and ``--seed``."""
    group = parser.add_argument_group("input data" + ("" if required else " (default: the embedded simulation)"))
    group.add_argument("--electrons", metavar="FILE", help="HDF5 file of electrons (y = 1), the real CMS layout")
    group.add_argument("--photons", metavar="FILE", help="HDF5 file of photons (y = 0), the real CMS layout")
    group.add_argument("--data", metavar="FILE", help="a single HDF5 file holding both classes")
    group.add_argument(
        "--max-events", type=option_type("max_events"), metavar="N", help="use at most N events in total (quick runs)"
    )
    # A parser built with argument_default=SUPPRESS (egid run) lets a config file supply the seed.
    seed_default = argparse.SUPPRESS if parser.argument_default == argparse.SUPPRESS else 0
    parser.add_argument(
        "--seed", type=option_type("seed"), default=seed_default, help="seed of every random choice (default: 0)"
    )


def dataset_from_args(args: argparse.Namespace) -> EventDataset:
    """Open and validate the input files named on the command line."""
    return load_dataset(
        electrons=args.electrons, photons=args.photons, data=args.data, max_events=args.max_events, seed=args.seed
    )
