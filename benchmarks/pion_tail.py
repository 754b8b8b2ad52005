#!/usr/bin/env python
"""Which charged pions a three-class model lets through at 99 % e/gamma efficiency, and what they look like.

Usage::

    python benchmarks/pion_tail.py RUN_DIR [--geant4 DIR] [--thresholds 0 10 20 30] [--efficiency 0.99]
        [--model NAME] [--out tail.json]

``RUN_DIR`` is a three-class run (``egid run --with-pions`` or ``--pions``); the data are the Geant4 reference
folder (``DIR/{electron,photon,pion}.hdf5``, default ``../shared/data/g4_reference``), whose pion file records
each pion's first inelastic interaction (``int_depth``, cm behind the ECAL front face; negative: in the tracker;
NaN: none) and its ``eta``. Every event is scored by every model of the run (``egid.load(run).score``).

Printed, per model and threshold ``T`` on the summed crop energy (``e_sum >= T``, GeV): the e/gamma events and
pions kept and the pions passing the cut on ``p_e + p_gamma`` that keeps ``--efficiency`` of the e/gamma events
(:func:`egid.evaluation.three_class_metrics.threshold_at`, the cut behind the run's "pion efficiency at 99 %
e/gamma efficiency"). Then, for ``--model`` (default: the run's first stacked model, else its first) above the
highest threshold: each passing pion's interaction depth, summed crop energy, its share of the generated energy
``E = pT cosh(eta)`` (:func:`egid.simulation.gun.generated_energy`) its shower shapes and timing, beside the
median photon, electron and pion above that threshold. A pion that converted nearly all of its energy into a
compact electromagnetic shower (a charge exchange ``pi- p -> pi0 n`` or a pi0-dominated early interaction) looks
like a photon to the ECAL alone: these rows show how many of the passing pions are such events.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import egid
from egid.detector import InputError, atomic_path, load_dataset
from egid.detector.schema import ELECTRON, PHOTON, PION
from egid.evaluation.three_class_metrics import threshold_at
from egid.evaluation.threshold_study import (
    DEFAULT_THRESHOLDS_GEV,
    ENERGY_COLUMN,
    above_threshold,
    check_thresholds,
)
from egid.models.boosters import TREE_KINDS
from egid.models.catalogue import stacked_name
from egid.models.three_class import ThreeClassBundle, model_probabilities
from egid.simulation.gun import generated_energy

DEFAULT_G4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "g4_reference"
SHOWN = (
    "e_max_over_e_sum",
    "r9",
    "n_hits",
    "soft_energy_fraction",
    "ieta_halo_fraction",
    "lateral_contrast",
    "time_mean",
    "time_rms",
)
"""Features shown for the passing pions (:doc:`features`): EM showers have high ``r9`` and contrast, low soft-energy
and halo fractions, and arrive in time; hadronic showers add late energy."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a three-class egid run directory")
    parser.add_argument("--geant4", type=Path, default=DEFAULT_G4, help="folder with electron/photon/pion.hdf5")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(DEFAULT_THRESHOLDS_GEV), metavar="GEV")
    parser.add_argument("--efficiency", type=float, default=0.99, help="e/gamma efficiency of the cut")
    parser.add_argument("--model", help="the model whose passing pions are listed (default: first stacked)")
    parser.add_argument("--out", type=Path, help="write the counts and the listed pions as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    thresholds = check_thresholds(args.thresholds, source="--thresholds")
    if not 0.0 < args.efficiency <= 1.0:
        raise InputError(f"--efficiency: must be in (0, 1], got {args.efficiency}")
    bundle = egid.load(args.run_dir)
    if not isinstance(bundle, ThreeClassBundle):
        raise InputError(f"{args.run_dir}: not a three-class run (egid run --with-pions or --pions)")
    names = bundle.names
    stacked = {stacked_name(kind) for kind in TREE_KINDS}
    model = args.model or next((name for name in names if name in stacked), names[0])
    if model not in names:
        raise InputError(f"--model: {model!r} is not a model of {args.run_dir} ({', '.join(names)})")
    dataset = load_dataset(
        electrons=args.geant4 / "electron.hdf5", photons=args.geant4 / "photon.hdf5", pions=args.geant4 / "pion.hdf5"
    )
    table, frame = bundle.score(dataset)
    labels = dataset.labels
    energy = table[ENERGY_COLUMN].to_numpy()
    egamma, pion = (labels == ELECTRON) | (labels == PHOTON), labels == PION

    top = max(thresholds)
    counts = []
    for name in names:
        probabilities = model_probabilities(frame, name)
        score = probabilities[:, int(ELECTRON)] + probabilities[:, int(PHOTON)]
        for threshold in thresholds:
            kept = above_threshold(energy, threshold)
            cut = threshold_at(score[egamma & kept], args.efficiency)
            through = pion & kept & (score >= cut)
            counts.append(
                {
                    "model": name,
                    "threshold_gev": threshold,
                    "egamma": int(np.count_nonzero(egamma & kept)),
                    "pions": int(np.count_nonzero(pion & kept)),
                    "passing": int(np.count_nonzero(through)),
                    "pion_efficiency": float(np.count_nonzero(through) / max(int(np.count_nonzero(pion & kept)), 1)),
                }
            )
            if name == model and threshold == top:
                rows = np.flatnonzero(through)
    print(f"pions passing the cut keeping {args.efficiency:.0%} of the e/gamma events above each threshold:")
    print(pd.DataFrame(counts).to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    share = energy / generated_energy(dataset.extras["eta"])
    listed = table.iloc[rows][[ENERGY_COLUMN, *SHOWN]].assign(
        int_depth_cm=dataset.extras["int_depth"][rows], energy_share=share[rows]
    )
    print(f"\n{model}: the {rows.size} pions passing above {top:g} GeV (int_depth < 0: interacted in the tracker)")
    print(listed.to_string(float_format=lambda v: f"{v:.3f}"))
    above = above_threshold(energy, top)
    medians = {
        label: table[[ENERGY_COLUMN, *SHOWN]].assign(energy_share=share)[above & (labels == value)].median().to_dict()
        for label, value in (("photon", PHOTON), ("electron", ELECTRON), ("pion", PION))
    }
    print(f"\nmedians above {top:g} GeV:")
    print(pd.DataFrame(medians).T.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.out is not None:
        document = {
            "run_dir": str(args.run_dir),
            "efficiency": args.efficiency,
            "counts": counts,
            "model": model,
            "threshold_gev": top,
            "passing": json.loads(listed.to_json(orient="records")),
            "medians": medians,
        }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
