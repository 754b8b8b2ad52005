"""``egid features``: compute the physics feature table of a dataset and write it as parquet."""

from __future__ import annotations

import argparse
import logging

from egid.detector import atomic_path
from egid.detector.paths import check_output_file
from egid.features import extract_table
from egid.pipelines.inputs import add_input_arguments, dataset_from_args

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``features`` its input options and ``--out``."""
    add_input_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="parquet file to write (atomically)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Extract the features of the selected events (with a progress bar) and write them to ``--out``."""
    out = check_output_file(args.out, what="the parquet file")
    dataset = dataset_from_args(args)
    table = extract_table(dataset, progress=True)
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    logger.info("%d events x %d columns -> %s", len(table), table.shape[1], out)
    return 0
