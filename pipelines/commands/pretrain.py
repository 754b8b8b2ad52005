"""``egid pretrain``: pretrain the CNN head on a sample of egid's simulation and write its weights file.

The file is what ``egid run --cnn-init FILE`` starts every fold network from; the package ships the ones made with
the defaults (:data:`egid.models.pretrained.SHIPPED_WEIGHTS`, and with ``--with-pions`` the three-class
:data:`egid.models.pretrained.SHIPPED_THREE_CLASS_WEIGHTS`). The events come from the simulation's reserved
pretraining streams, so they are none of the events of an ``egid simulate`` sample or of the default sample.
"""

from __future__ import annotations

import argparse
import json
import logging

from egid.detector import InputError
from egid.detector.paths import check_not_input, check_output_file, check_replaceable, writing
from egid.pipelines.inputs import add_overwrite_argument
from egid.pipelines.options import option_type

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    from egid.models.pretrained import PRETRAINING_EVENTS_PER_CLASS

    parser.description = (
        "Simulate N electrons and N photons (and N charged pions with --with-pions) from egid's reserved "
        "pretraining streams, train the CNN head on them and write FILE (torch weights, for egid run --cnn-init "
        "FILE) and FILE's .json description."
    )
    parser.add_argument("--output", required=True, metavar="FILE", help="weights file to write (.pt)")
    parser.add_argument(
        "--events-per-class",
        type=option_type("events_per_class"),
        default=PRETRAINING_EVENTS_PER_CLASS,
        metavar="N",
        help=f"simulated events per class (default: {PRETRAINING_EVENTS_PER_CLASS})",
    )
    parser.add_argument(
        "--with-pions",
        action="store_true",
        help="simulate charged pions too and pretrain the three-class (electron/photon/pion) network",
    )
    parser.add_argument("--seed", type=option_type("seed"), default=0, help="simulation and training seed (default: 0)")
    parser.add_argument(
        "--threads", type=option_type("threads"), metavar="N", help="torch threads (default: all cores)"
    )
    add_overwrite_argument(parser, "an existing --output file and its .json description")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_file(args.output, what="the weights file")
    if out.suffix == ".json":
        msg = f"--output {out}: the weights file may not end in .json, its description is written to FILE.json"
        raise InputError(msg)
    from egid.models.boosters.base import BINARY
    from egid.models.pretrained import (
        MIN_PRETRAINING_EVENTS_PER_CLASS,
        SHIPPED_THREE_CLASS_WEIGHTS,
        SHIPPED_WEIGHTS,
        pretrain,
    )
    from egid.models.three_class import N_CLASSES
    from egid.pipelines.progress import progress_bars

    shipped = [
        path.with_suffix(suffix)
        for path in (SHIPPED_WEIGHTS, SHIPPED_THREE_CLASS_WEIGHTS)
        for suffix in (".pt", ".json")
    ]
    for path in (out, out.with_suffix(".json")):
        check_not_input(path, shipped, option="--output")
        check_replaceable(path, overwrite=args.overwrite, option="--output")
    if args.events_per_class < MIN_PRETRAINING_EVENTS_PER_CLASS:
        msg = (
            f"--events-per-class: pretraining needs at least {MIN_PRETRAINING_EVENTS_PER_CLASS} events per class "
            f"(its held-out share must hold 2 of each), got {args.events_per_class}"
        )
        raise InputError(msg)
    pretrained, _ = pretrain(
        args.events_per_class,
        n_classes=N_CLASSES if args.with_pions else BINARY,
        seed=args.seed,
        threads=args.threads,
        progress=progress_bars(),
    )
    with writing(out):
        written = pretrained.save(out)
    logger.info("wrote %s", " and ".join(map(str, written)))
    print(json.dumps(dict(pretrained.provenance), indent=2))
    return 0
