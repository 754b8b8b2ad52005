"""``egid features``: compute the physics feature table of a dataset and write it as parquet."""

from __future__ import annotations

import argparse
import logging

from egid.detector import atomic_path
from egid.detector.paths import check_not_input, check_output_file, check_replaceable, writing
from egid.features import extract_table
from egid.pipelines.inputs import (
    add_extraction_arguments,
    add_input_arguments,
    add_overwrite_argument,
    dataset_from_args,
    input_files,
)
from egid.pipelines.progress import progress_bars

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``features`` its input options, ``--output`` and ``--overwrite``."""
    add_input_arguments(parser)
    add_extraction_arguments(parser)
    parser.add_argument("--cache-dir", metavar="DIR", help="with --scheduler or --workers: cache per file here")
    parser.add_argument("--output", required=True, metavar="FILE", help="parquet file to write (atomically)")
    add_overwrite_argument(parser, "an existing --output file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Extract the features of the selected events (with a progress bar) and write them to ``--output``."""
    out = check_output_file(args.output, what="the parquet file")
    inputs = [
        *(input_files(args.electrons, option="--electrons") or []),
        *(input_files(args.photons, option="--photons") or []),
        args.data,
    ]
    check_not_input(out, inputs, option="--output")
    check_replaceable(out, overwrite=args.overwrite, option="--output")
    dataset = dataset_from_args(args)
    if args.scheduler is None and args.workers is None:
        table = extract_table(dataset, progress=progress_bars())
    else:
        from egid.features.distributed import dask_client, extract_distributed

        with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
            table = extract_distributed(dataset, client=client, cache_dir=args.cache_dir)
    with writing(out), atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    logger.info("%d events x %d columns -> %s", len(table), table.shape[1], out)
    return 0
