"""``egid evaluate``: score an unseen labelled dataset with a run's saved models and report on it.

Features and the CNN score are recomputed from the images with the saved models, so this is the honest
"unseen test dataset" check. Working points use the thresholds chosen on the training run's validation split.
The report is built in a staging folder and moved into ``--out-dir`` only when complete.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from egid.detector import InputError, is_three_class, require_both_classes
from egid.detector.atomic import staged_dir
from egid.detector.paths import check_output_dir, check_outside, check_replaceable, writing
from egid.evaluation.metrics import format_summary
from egid.evaluation.publish import DataDescription, publish
from egid.models.bundle import ModelBundle, model_dir_of
from egid.models.catalogue import trigger_costs
from egid.models.three_class import is_three_class_run
from egid.pipelines.inputs import (
    add_input_arguments,
    add_overwrite_argument,
    add_run_dir_argument,
    dataset_from_args,
    run_being_read,
)
from egid.pipelines.three_class import evaluate as evaluate_three_class

EVALUATIONS = "evaluations"
"""The folder of a run directory that holds its evaluations, the one place inside a run that evaluate writes to."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    add_input_arguments(parser)
    parser.add_argument(
        "--out-dir", metavar="DIR", help=f"output folder (default RUN/{EVALUATIONS}/<UTC time stamp>); not inside RUN"
    )
    parser.add_argument("--data-label", default="CMS Open Data", metavar="TEXT", help="name of the data on the plots")
    parser.add_argument("--simulated", action="store_true", help="the input files are simulated (plots say so)")
    add_overwrite_argument(parser, "the report files of an existing, non-empty --out-dir")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.out_dir:
        check_output_dir(args.out_dir)
    if is_three_class_run(args.run_dir):  # the electron/photon/pion metrics (egid.pipelines.three_class)
        return evaluate_three_class(args)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    bundle = ModelBundle.load(args.run_dir)
    run_root = run_being_read(args.run_dir)
    out_dir = check_output_dir(args.out_dir or model_dir_of(args.run_dir).parent / EVALUATIONS / stamp)
    check_outside(out_dir, run_root, option="--out-dir", allowed=(EVALUATIONS,))
    check_replaceable(out_dir, overwrite=args.overwrite, option="--out-dir")
    dataset = dataset_from_args(args)
    if is_three_class(dataset.labels):  # a binary run has no pion probability to be judged on
        msg = (
            f"{dataset.source}: holds charged pions (y = 2), but {args.run_dir} is an electron/photon run; "
            "evaluate it on electrons and photons, or train a three-class run (egid run --pions)"
        )
        raise InputError(msg)
    require_both_classes(dataset.labels, name=dataset.source)
    table, model_scores = bundle.score(dataset)
    scores = pd.DataFrame({"label": dataset.labels, "split": "test"})
    if "eta" in dataset.extras:
        scores["eta"] = dataset.extras["eta"]
    scores = pd.concat([scores, model_scores], axis=1)
    with writing(out_dir), staged_dir(out_dir) as staging:
        metrics = publish(
            staging,
            title=f"egid evaluation of {Path(args.run_dir).name}",
            scores=scores,
            models=bundle.names,
            table=table,
            trees=bundle.trees,
            data=DataDescription(label=args.data_label, simulated=args.simulated),
            config={"run_dir": str(args.run_dir), "inputs": dataset.paths, "max_events": args.max_events},
            thresholds=bundle.thresholds,
            costs=trigger_costs(bundle.names),
        )
    print(format_summary(metrics))
    print(f"evaluation directory: {out_dir}")
    return 0
