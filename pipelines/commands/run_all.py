"""``egid run``: the whole job (simulate if needed, features, tuned boosted trees, CNN stacking, reports)."""

from __future__ import annotations

import argparse

from pipelines.inputs import add_input_arguments, dataset_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("run", help="run the whole job (the default)")
    add_input_arguments(parser, required=False)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    dataset = dataset_from_args(args)
    print(f"{len(dataset)} events from {', '.join(dataset.paths)}")
    return 0
