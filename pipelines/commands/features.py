"""``egid features``: compute the physics feature table of a dataset and write it as parquet.

A dataset with charged pions gets the columns a three-class run computes (:data:`egid.features.THREE_CLASS_FEATURES`:
the electron/photon set followed by the hadronic features); any other the electron/photon set."""

from __future__ import annotations

import argparse
import logging

from egid.detector import atomic_path, is_three_class
from egid.detector.paths import check_not_input, check_output_file, check_replaceable, writing
from egid.features import THREE_CLASS_FEATURES, extract_table
from egid.pipelines.inputs import (
    add_extraction_arguments,
    add_input_arguments,
    add_overwrite_argument,
    dataset_from_args,
    named_input_files,
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
    check_not_input(out, named_input_files(args), option="--output")
    check_replaceable(out, overwrite=args.overwrite, option="--output")
    dataset = dataset_from_args(args)
    # with pions, the columns a three-class run computes: the e/gamma set and the hadronic features
    names = THREE_CLASS_FEATURES if is_three_class(dataset.labels) else None
    if args.scheduler is None and args.workers is None:
        table = extract_table(dataset, names=names, progress=progress_bars())
    else:
        from egid.features.distributed import dask_client, extract_distributed

        with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
            table = extract_distributed(dataset, client=client, cache_dir=args.cache_dir, names=names)
    with writing(out), atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    logger.info("%d events x %d columns -> %s", len(table), table.shape[1], out)
    return 0
