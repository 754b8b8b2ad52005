"""``egid importances``: rank the features of a run's boosted trees by gain, split count or mean |SHAP|.

Gain and split counts come from the exported boosters; SHAP from the summary stored at export time (mean
|SHAP| on the test split), so no data is needed. The manifest is checked before anything is read.

``--per-class`` ranks the gain of each class's trees separately (a multiclass booster grows one tree per class and
round): what tells electrons, photons and pions apart in a three-class run. Three-class runs store no SHAP values.
"""

from __future__ import annotations

import argparse

import pandas as pd

from egid.detector import InputError
from egid.models.bundle import model_sets
from egid.models.export import load_tree_model, native_path
from egid.models.importance import IMPORTANCE_KINDS, ranked, read_importances
from egid.models.manifest import read_manifest
from egid.models.three_class import is_three_class_run
from egid.models.trees import TREE_KINDS
from egid.pipelines.inputs import add_run_dir_argument
from egid.pipelines.options import option_type

_DESCRIPTIONS = {
    "gain": "total gain, the training-loss reduction of its splits",
    "split": "number of splits on it",
    "shap": "mean |SHAP value| on the test split, log-odds",
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    parser.add_argument(
        "--top", type=option_type("top"), default=20, metavar="N", help="show the N leading features (default: 20)"
    )
    parser.add_argument(
        "--measure", choices=IMPORTANCE_KINDS, default="gain", help="importance measure (default: gain)"
    )
    parser.add_argument("--model", choices=TREE_KINDS, help="only this model (default: every tree model in the run)")
    parser.add_argument(
        "--per-class",
        action="store_true",
        help="rank the gain of each class's trees separately (three-class runs: electron, photon, pion)",
    )
    parser.set_defaults(handler=run)


def format_ranking(values: pd.Series, *, model: str, kind: str, top: int) -> str:
    """The ranked table printed for one model: rank, feature, value and share of the total."""
    shown = ranked(values, top)
    total = float(values.sum())
    width = max([len("feature"), *(len(str(name)) for name in shown.index)])
    lines = [
        f"{model}: {kind} ({_DESCRIPTIONS[kind]}), top {len(shown)} of {len(values)} features",
        f"{'rank':>4}  {'feature':<{width}}  {kind:>12}  {'share':>6}",
    ]
    for rank, (name, value) in enumerate(shown.items(), start=1):
        share = f"{100.0 * value / total:5.1f}%" if total > 0 else "   n/a"
        lines.append(f"{rank:>4}  {name!s:<{width}}  {value:>12.6g}  {share:>6}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.per_class and args.measure != "gain":
        msg = f"--per-class: ranks the gain of each class's trees; --measure {args.measure} has no per-class values"
        raise InputError(msg)
    if args.measure == "shap" and is_three_class_run(args.run_dir):
        msg = (
            f"--measure shap: {args.run_dir} is a three-class run, which stores no SHAP values; "
            "rank it by gain or split (--per-class for each class's gain)"
        )
        raise InputError(msg)
    folders = model_sets(args.run_dir)
    tables = []
    for folder in folders:
        manifest = read_manifest(folder, feature_names=None, feature_set_version=None)
        for kind in TREE_KINDS:
            if native_path(folder, kind).name not in manifest.artifacts or args.model not in (None, kind):
                continue
            title = kind if len(folders) == 1 else f"{folder.name}/{kind}"
            if args.per_class:
                per_class = load_tree_model(folder, kind).class_importance()
                tables += [
                    format_ranking(per_class[name], model=f"{title}, {name} trees", kind="gain", top=args.top)
                    for name in per_class.columns
                ]
                continue
            if args.measure == "shap":
                values = read_importances(folder, kind)["shap"]
            else:
                values = load_tree_model(folder, kind).importance(args.measure)
            tables.append(format_ranking(values, model=title, kind=args.measure, top=args.top))
    if not tables:
        msg = f"{args.run_dir}: no {args.model or ' or '.join(TREE_KINDS)} model in this run"
        raise InputError(msg)
    print("\n\n".join(tables))
    return 0
