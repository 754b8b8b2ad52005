"""``egid simulate``: write a simulated sample (electron.hdf5 and photon.hdf5; pion.hdf5 on request) in the real CMS
schema."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from egid.detector import InputError
from egid.detector.atomic import staged_dir
from egid.detector.paths import check_output_dir, check_replaceable, writing
from egid.pipelines.inputs import add_overwrite_argument
from egid.pipelines.options import option_type
from egid.simulation import PARTICLES, check_particles, write_sample

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)

DEFAULT_PARTICLES = ("electron", "photon")
"""The particles simulated unless ``--particles`` says otherwise, one file each, ``DIR/<particle>.hdf5``."""


def _particles(text: str) -> tuple[str, ...]:
    try:
        return check_particles([name.strip() for name in text.split(",")])
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Simulate N electrons and N photons (pT = 50 GeV, |eta| < 1.2) into DIR/electron.hdf5 and "
        "DIR/photon.hdf5, in the schema of the public CMS files plus 'eta' and, for photons, 'converted'; "
        "--particles adds charged pions (DIR/pion.hdf5, y = 2, with 'charge' and 'int_depth')."
    )
    parser.add_argument(
        "--events-per-class", type=option_type("events_per_class"), required=True, metavar="N", help="events per class"
    )
    parser.add_argument("--out-dir", type=Path, required=True, metavar="DIR", help="output directory (created)")
    parser.add_argument(
        "--particles",
        type=_particles,
        default=DEFAULT_PARTICLES,
        metavar="NAME,NAME",
        help=f"comma-separated particles to simulate, among {', '.join(PARTICLES)} (default: electron,photon)",
    )
    parser.add_argument("--seed", type=option_type("seed"), default=0, help="simulation seed (default: 0)")
    add_overwrite_argument(parser, "the DIR/<particle>.hdf5 files when they exist")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_dir(args.out_dir)
    for particle in args.particles:
        check_replaceable(out / f"{particle}.hdf5", overwrite=args.overwrite, option="--out-dir")
    # The files appear together: a failure or signal after the first leaves none (nor their temporary files).
    with writing(out), staged_dir(out) as staging:
        written = write_sample(staging, args.events_per_class, seed=args.seed, particles=args.particles)
    logger.info("wrote %s", ", ".join(str(out / os.path.basename(path)) for path in written))
    return 0
