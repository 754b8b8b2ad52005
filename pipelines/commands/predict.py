"""``egid predict``: electron probabilities of every model for unlabelled crops, one row per image in input order."""

from __future__ import annotations

import argparse
from pathlib import Path

from egid.detector import InputError, atomic_path
from egid.detector.paths import check_output_file
from egid.models.bundle import ModelBundle
from egid.pipelines.inputs import add_run_dir_argument
from egid.pipelines.progress import progress_bars

_FORMATS = (".parquet", ".csv")


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    parser.add_argument("--data", required=True, metavar="FILE", help="HDF5 file with dataset X (y optional)")
    parser.add_argument("--output", required=True, metavar="FILE", help="scores file, .parquet or .csv")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix not in _FORMATS:
        msg = f"{out}: unknown output format '{out.suffix}', expected one of {', '.join(_FORMATS)}"
        raise InputError(msg)
    check_output_file(out)
    scores = ModelBundle.load(args.run_dir).predict(args.data, progress=progress_bars())
    with atomic_path(out) as tmp:
        if out.suffix == ".csv":
            scores.to_csv(tmp)
        else:
            scores.to_parquet(tmp)
    print(f"{len(scores)} events scored by {', '.join(scores.columns)} -> {out}")
    return 0
