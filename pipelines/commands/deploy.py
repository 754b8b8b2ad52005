"""``egid deploy`` (``egid export`` before 0.2): a run's boosted trees as trigger firmware (conifer) or compiled C
(tl2cgen), checked on events.

``--target conifer`` writes each booster's HLS project, builds conifer's C++ emulation in double precision and at
each ``ap_fixed`` width of the scan, and reports the emulated AUC and score error against the native booster, and
conifer's latency/LUT/FF estimates. Each input is scaled by a power of two (``hls/input_scaling.json``) unless
``--no-input-scaling``. ``--target c`` writes each booster's C source and shared library and reports
its parity. The events come from a labelled feature table (``egid features --output TABLE``; the stacked model set
also needs a ``cnn_score`` column). Everything is built in a temporary folder next to ``--out-dir``, renamed at the end.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from egid.deploy.targets import TARGETS
from egid.detector import InputError
from egid.detector.atomic import staged_dir
from egid.detector.extras import require_extra
from egid.detector.paths import check_output_dir, check_outside, writing
from egid.features.extract import LABEL_COLUMN
from egid.models.bundle import model_sets
from egid.models.export import load_tree_model, native_path, onnx_path
from egid.models.manifest import read_manifest
from egid.models.three_class import is_three_class_run
from egid.models.trees import TREE_KINDS, TreeKind, TreeModel
from egid.pipelines.inputs import add_run_dir_argument, run_being_read
from egid.pipelines.options import option_type
from egid.pipelines.signals import as_interrupt, shell_commands_interruptible

__all__ = ("configure", "run")

logger = logging.getLogger(__name__)

DEFAULT_EVENTS = 4000
"""Events drawn from the table to check each target on."""


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        widths = ()
    if not widths or not all(2 <= w <= 64 for w in widths):
        msg = f"expected comma-separated ap_fixed widths between 2 and 64 bits, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return widths


def _precision(text: str) -> str:
    from egid.deploy.firmware import check_precision

    try:
        return check_precision(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``deploy`` its options."""
    add_run_dir_argument(parser)
    parser.add_argument("--target", required=True, choices=TARGETS, help="conifer firmware or compiled C")
    parser.add_argument("--table", required=True, metavar="FILE", help="labelled feature table (parquet) to check on")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output folder to create (must not exist)")
    parser.add_argument(
        "--model-set", metavar="NAME", help="model set of the run (default: features_only or the only one)"
    )
    parser.add_argument("--model", choices=TREE_KINDS, help="only this booster (default: both)")
    parser.add_argument("--max-events", type=option_type("deploy_events"), default=DEFAULT_EVENTS, metavar="N",
                        help=f"check on N events drawn stratified by class (default: {DEFAULT_EVENTS})")  # fmt: skip
    parser.add_argument("--widths", type=_widths, metavar="W,W,...", help="ap_fixed widths of the conifer scan "
                        "(default: 8,10,12,14,16,18,24)")  # fmt: skip
    parser.add_argument("--precision", type=_precision, metavar="TYPE",
                        help="precision of the HLS project, e.g. 'ap_fixed<18,6>' (default: 18 bits, integer bits "
                        "fitted to the scores, or with --no-input-scaling to the thresholds and scores)")  # fmt: skip
    parser.add_argument("--no-input-scaling", dest="input_scaling", action="store_false",
                        help="conifer: give the firmware the raw inputs, one ap_fixed type fitted to the largest "
                        "threshold or score (default: each input scaled by a power of two, listed in "
                        "<model>/hls/input_scaling.json)")  # fmt: skip
    parser.add_argument("--data-label", default="egid simulation", metavar="TEXT", help="name of the data on the plot")
    parser.add_argument("--simulated", action="store_true", help="the events are simulated (the plot says so)")
    parser.set_defaults(handler=run)


def _model_set(model_dir: str, name: str | None) -> Path:
    folders = model_sets(model_dir)
    if name is not None:
        chosen = [folder for folder in folders if folder.name == name]
        if not chosen:
            msg = f"{model_dir}: no model set {name!r}; it has {[folder.name for folder in folders]}"
            raise InputError(msg)
        return chosen[0]
    return next((folder for folder in folders if folder.name == "features_only"), folders[0])


def _kinds(folder: Path, only: TreeKind | None, target: str) -> list[TreeKind]:
    artifacts = read_manifest(folder, feature_names=None, feature_set_version=None).artifacts
    kinds = [k for k in TREE_KINDS if native_path(folder, k).name in artifacts and only in (None, k)]
    if not kinds:
        msg = f"{folder}: no {only or ' or '.join(TREE_KINDS)} model in this model set"
        raise InputError(msg)
    if target == "conifer" and "lightgbm" in kinds and onnx_path(folder, "lightgbm").name not in artifacts:
        msg = f"{folder}: no lightgbm.onnx (its parity check failed at export); conifer reads LightGBM through it"
        raise InputError(msg)
    return kinds


def _read_table(path: str, columns: set[str]) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot read the feature table ({str(err).splitlines()[0]})"
        raise InputError(msg) from None
    missing = sorted(columns - set(table.columns))
    if missing:
        msg = f"{path}: feature table lacks the column(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}"
        raise InputError(msg)
    labels = table[LABEL_COLUMN].to_numpy()
    if not np.isin(labels, (0.0, 1.0)).all() or len(np.unique(labels)) < 2:
        msg = f"{path}: '{LABEL_COLUMN}' must hold both classes, 1 (electron) and 0 (photon), and nothing else"
        raise InputError(msg)
    return table


def _check_out(out: Path) -> None:
    if out.exists():
        msg = f"{out}: already exists; give a new output folder"
        raise InputError(msg)
    if not out.parent.is_dir():
        msg = f"{out.parent}: no such directory to create {out.name} in"
        raise InputError(msg)
    check_output_dir(out)


def run(args: argparse.Namespace) -> int:
    """Validate every input, build the targets in a temporary folder, write the report, rename it to ``--out-dir``."""
    if is_three_class_run(args.run_dir):
        msg = (
            f"{args.run_dir}: a three-class (electron/photon/pion) run cannot be deployed: the trigger firmware and "
            "compiled-C targets take one electron score; deploy a binary electron/photon run"
        )
        raise InputError(msg)
    require_extra("deploy", needed_by="egid deploy")
    out = Path(args.out_dir)
    _check_out(out)
    folder = _model_set(args.run_dir, args.model_set)
    check_outside(out, run_being_read(args.run_dir), option="--out-dir")
    kinds = _kinds(folder, args.model, args.target)
    models = [load_tree_model(folder, kind) for kind in kinds]
    table = _read_table(args.table, {LABEL_COLUMN, *(name for model in models for name in model.feature_names)})
    from egid.deploy.report import REPORT_MD, write_report

    # conifer calls g++ through os.system and turns any failure, a signal included, into a bare Exception.
    with writing(out), staged_dir(out) as staging, shell_commands_interruptible():
        try:
            sections = _deploy(args, models, folder, table, staging)
        except Exception as err:
            interrupt = as_interrupt(err)
            if interrupt is None:
                raise
            raise interrupt from None
        header = {
            "run_dir": str(folder),
            "table": str(args.table),
            "target": args.target,
            "events_note": f"at most {args.max_events} of {len(table)} in {args.table}, drawn stratified by class "
            "(seed 0)",
        }
        write_report(staging, sections, header, data=args.data_label, simulated=args.simulated)
    print((out / REPORT_MD).read_text())
    print(f"deploy directory: {out}")
    return 0


def _deploy(
    args: argparse.Namespace, models: list[TreeModel], folder: Path, table: pd.DataFrame, staging: Path
) -> list[dict[str, Any]]:
    """Build and check the target of each model in ``staging``; one report section each."""
    from egid.deploy.targets import DEFAULT_SCAN_WIDTHS, deploy_model

    return [
        deploy_model(
            model,
            folder,
            table,
            staging / model.kind,
            target=args.target,
            max_events=args.max_events,
            widths=args.widths or DEFAULT_SCAN_WIDTHS,
            precision=args.precision,
            input_scaling=args.input_scaling,
        )
        for model in models
    ]
