"""``egid predict``: electron probabilities of every model for unlabelled crops, one row per image in input order.

A three-class run writes one probability column per class and model (``<model>_electron``, ``<model>_photon``,
``<model>_pion``), as :meth:`egid.models.three_class.ThreeClassBundle.predict` returns them."""

from __future__ import annotations

import argparse
from pathlib import Path

from egid.detector import InputError, atomic_path
from egid.detector.paths import check_not_input, check_output_file, check_outside, check_replaceable, writing
from egid.models.bundle import ModelBundle
from egid.models.three_class import ThreeClassBundle, is_three_class_run
from egid.models.three_class import run_root as three_class_root
from egid.pipelines.inputs import add_overwrite_argument, add_run_dir_argument, run_being_read
from egid.pipelines.progress import progress_bars

_FORMATS = (".parquet", ".csv")


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    parser.add_argument("--data", required=True, metavar="FILE", help="HDF5 file with dataset X (y optional)")
    parser.add_argument("--output", required=True, metavar="FILE", help="scores file, .parquet or .csv")
    add_overwrite_argument(parser, "an existing --output file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix not in _FORMATS:
        msg = f"{out}: unknown output format '{out.suffix}', expected one of {', '.join(_FORMATS)}"
        raise InputError(msg)
    check_output_file(out)
    check_not_input(out, [args.data], option="--output")
    check_replaceable(out, overwrite=args.overwrite, option="--output")
    if is_three_class_run(args.run_dir):  # one probability column per class and model
        three_class = ThreeClassBundle.load(args.run_dir)
        check_outside(out, three_class_root(args.run_dir), option="--output")
        scores = three_class.predict(args.data)
    else:
        bundle = ModelBundle.load(args.run_dir)
        check_outside(out, run_being_read(args.run_dir), option="--output")
        scores = bundle.predict(args.data, progress=progress_bars())
    with writing(out), atomic_path(out) as tmp:
        if out.suffix == ".csv":
            scores.to_csv(tmp)
        else:
            scores.to_parquet(tmp)
    print(f"{len(scores)} events scored by {', '.join(scores.columns)} -> {out}")
    return 0
