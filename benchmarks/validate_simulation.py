#!/usr/bin/env python
"""Validate egid's fast simulation against the Geant4 reference sample (a developer tool, not run by tests).

Prints, per class, the simulated and Geant4 distributions of the main shower shapes side by side (mean and
median of the summed energy, R9 = E3x3 / E_sum, the log-weighted sigma_ietaieta and sigma_iphiiphi, the phi
and eta widths, the number of crystals above threshold, the seed time), the electrons' phi width and the
photon conversion fraction in bins of |eta|, and two classifier tests on the full feature table
(``egid.features.build_table``), each a LightGBM with its 5-fold cross-validated ROC AUC:

* two-sample test per class: simulated vs Geant4 images of the same class (0.5 = indistinguishable);
* electron-vs-photon separation on each sample: the simulation is useful if both AUCs agree (within 0.03).

Then the charged pions against the Geant4 ``pion.hdf5``: the fractions of events under 1 GeV of summed crop energy
and above 10 / 20 / 30 GeV, the mean and median summed energy, the crystals above threshold, the energy-weighted
RMS along i-eta and i-phi, the fractions without an inelastic interaction and with one in the tracker, the most
probable seed energy of the pions that make none (the MIP), a two-sample classifier AUC on the same features, and
what a simulated pion costs relative to an electron or photon, measured in this run (the machine is printed).

Usage::

    python benchmarks/validate_simulation.py [--g4-dir DIR] [--n 20000] [--n-pions 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import h5py
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score

from egid import features
from egid.detector import load_dataset
from egid.detector.schema import ELECTRON, ENERGY, ENERGY_SCALE_GEV, SEED_IETA, SEED_IPHI
from egid.simulation import simulate_events
from egid.simulation.gun import Particle
from egid.simulation.tracker import material_x0

REPO = Path(__file__).resolve().parents[1]
ETA_BINS = ((0.0, 0.4), (0.4, 0.8), (0.8, 1.2))
SHOWN = (
    "e_sum",
    "r9",
    "e5x5_over_e_sum",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "eta_width",
    "phi_width",
    "n_above_0p1",
    "n_hits",
    "seed_time",
)


def classifier_auc(x: pd.DataFrame, y: np.ndarray, *, seed: int) -> float:
    """5-fold cross-validated ROC AUC of a gradient-boosted classifier (LightGBM) telling ``y`` apart."""
    model = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        n_jobs=2,
        verbose=-1,
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return float(cross_val_score(model, x, y, cv=folds, scoring="roc_auc").mean())


def _side_by_side(sim: pd.DataFrame, g4: pd.DataFrame) -> pd.DataFrame:
    rows = {
        name: {
            "sim mean": sim[name].mean(),
            "G4 mean": g4[name].mean(),
            "sim median": sim[name].median(),
            "G4 median": g4[name].median(),
            "sim std": sim[name].std(),
            "G4 std": g4[name].std(),
        }
        for name in SHOWN
    }
    return pd.DataFrame(rows).T


def _in_bins(values: pd.Series, abs_eta: np.ndarray) -> list[float]:
    return [float(values[(abs_eta >= lo) & (abs_eta < hi + 1e-6)].mean()) for lo, hi in ETA_BINS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--g4-dir",
        type=Path,
        default=REPO.parent / "shared" / "data" / "g4_reference",
        help="directory holding the Geant4 electron.hdf5 and photon.hdf5 (default: %(default)s)",
    )
    parser.add_argument("--n", type=int, default=20_000, help="simulated events per class (default: %(default)s)")
    parser.add_argument("--n-pions", type=int, default=20_000, help="simulated pions (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="simulation and classifier seed (default: 0)")
    args = parser.parse_args(argv)
    egamma_seconds = 0.0

    g4 = load_dataset(electrons=args.g4_dir / "electron.hdf5", photons=args.g4_dir / "photon.hdf5")
    g4_images = g4.read_images()
    tables, sim_tables = {}, {}
    pd.set_option("display.width", 160)
    classes: tuple[tuple[Particle, np.ndarray], ...] = (
        ("electron", g4.labels == ELECTRON),
        ("photon", g4.labels != ELECTRON),
    )
    for particle, is_class in classes:
        start = time.perf_counter()
        images, extras = simulate_events(args.n, particle=particle, seed=args.seed)
        elapsed = time.perf_counter() - start
        egamma_seconds += elapsed
        sim = features.build_table(images).assign(abs_eta=np.abs(extras["eta"]))
        ref = features.build_table(g4_images[is_class]).assign(abs_eta=np.abs(g4.extras["eta"][is_class]))
        if particle == "photon":
            sim["converted"] = extras["converted"]
            ref["converted"] = g4.extras["converted"][is_class]
        tables[particle], sim_tables[particle] = ref, sim

        print(f"\n=== {particle}s: {args.n} simulated ({args.n / elapsed:.0f} events/s) vs {len(ref)} Geant4 ===")
        print(_side_by_side(sim, ref).to_string(float_format=lambda v: f"{v:.4g}"))
        bins = " / ".join(f"{lo}-{hi}" for lo, hi in ETA_BINS)
        print(
            f"phi_width in |eta| {bins}: sim {_fmt(_in_bins(sim['phi_width'], sim['abs_eta']))}, "
            f"G4 {_fmt(_in_bins(ref['phi_width'], ref['abs_eta']))}"
        )
        if particle == "photon":
            expected = [1 - np.exp(-7 / 9 * material_x0(np.linspace(lo, hi, 101))).mean() for lo, hi in ETA_BINS]
            print(
                f"conversion fraction in |eta| {bins}: sim {_fmt(_in_bins(sim['converted'], sim['abs_eta']))}, "
                f"G4 {_fmt(_in_bins(ref['converted'], ref['abs_eta']))}, 1 - exp(-7/9 t) {_fmt(expected)}"
            )
            for flag, label in ((0, "unconverted"), (1, "converted")):
                s, r = sim[sim["converted"] == flag], ref[ref["converted"] == flag]
                print(
                    f"{label}: r9 sim {s['r9'].mean():.3f} G4 {r['r9'].mean():.3f}; "
                    f"phi_width sim {s['phi_width'].mean():.3f} G4 {r['phi_width'].mean():.3f}"
                )

    names = list(features.FEATURE_NAMES)
    rng = np.random.default_rng(args.seed)
    print("\n=== classifier tests (LightGBM, 5-fold CV ROC AUC, all features of features.build_table) ===")
    balanced = {}
    for particle in ("electron", "photon"):
        ref, sim = tables[particle], sim_tables[particle]
        sim = sim.iloc[rng.choice(len(sim), size=min(len(sim), len(ref)), replace=False)]
        balanced[particle] = sim
        x = pd.concat([ref[names], sim[names]], ignore_index=True)
        y = np.r_[np.zeros(len(ref)), np.ones(len(sim))]
        print(
            f"two-sample sim vs Geant4, {particle}s: AUC {classifier_auc(x, y, seed=args.seed):.3f}"
            " (0.5 = indistinguishable)"
        )
    for label, pair in (("Geant4", tables), ("simulation", balanced)):
        x = pd.concat([pair["electron"][names], pair["photon"][names]], ignore_index=True)
        y = np.r_[np.ones(len(pair["electron"])), np.zeros(len(pair["photon"]))]
        print(f"electron vs photon separation on {label}: AUC {classifier_auc(x, y, seed=args.seed):.3f}")

    validate_pions(
        args.g4_dir / "pion.hdf5", n=args.n_pions, seed=args.seed, egamma_per_event=egamma_seconds / (2 * args.n)
    )
    return 0


def pion_figures(images: np.ndarray, int_depth: np.ndarray) -> dict[str, float]:
    """The pion figures of one sample: fractions, summed energy (GeV), hits, lateral RMS (crystals), MIP (GeV)."""
    energy = images[..., ENERGY].astype(np.float64) * ENERGY_SCALE_GEV
    e_sum = energy.sum(axis=(1, 2))
    weights = energy / np.where(e_sum > 0, e_sum, 1.0)[:, None, None]
    index = np.arange(energy.shape[1])
    rms = {}
    for name, profile in (("eta", weights.sum(axis=2)), ("phi", weights.sum(axis=1))):
        mean = (profile * index).sum(axis=1)
        rms[name] = np.sqrt((profile * (index - mean[:, None]) ** 2).sum(axis=1))[e_sum > 0].mean()
    mip_seed = energy[np.isnan(int_depth), SEED_IETA, SEED_IPHI]
    counts, edges = np.histogram(mip_seed, bins=np.arange(0.12, 0.80, 0.02))
    return {
        "fraction under 1 GeV": float(np.mean(e_sum < 1.0)),
        "fraction above 10 GeV": float(np.mean(e_sum > 10.0)),
        "fraction above 20 GeV": float(np.mean(e_sum > 20.0)),
        "fraction above 30 GeV": float(np.mean(e_sum > 30.0)),
        "fraction without inelastic interaction": float(np.mean(np.isnan(int_depth))),
        "fraction interacting in the tracker": float(np.mean(int_depth < 0)),
        "mean summed energy (GeV)": float(e_sum.mean()),
        "median summed energy (GeV)": float(np.median(e_sum)),
        "crystals above threshold": float((energy > 0).sum(axis=(1, 2)).mean()),
        "energy-weighted RMS i-eta (crystals)": float(rms["eta"]),
        "energy-weighted RMS i-phi (crystals)": float(rms["phi"]),
        "MIP most probable seed energy (GeV)": float(edges[counts.argmax()] + 0.01),
    }


def validate_pions(path: Path, *, n: int, seed: int, egamma_per_event: float) -> None:
    """Print egid's pions beside the Geant4 ones, the two-sample AUC and the cost per event against e/gamma."""
    with h5py.File(path) as f:
        g4_images, g4_depth = f["X"][:], f["int_depth"][:]
    start = time.perf_counter()
    images, extras = simulate_events(n, particle="pion", seed=seed)
    per_event = (time.perf_counter() - start) / n

    sim, ref = pion_figures(images, extras["int_depth"]), pion_figures(g4_images, g4_depth)
    print(f"\n=== charged pions: {n} simulated vs {len(g4_images)} Geant4 ===")
    table = pd.DataFrame({"egid": sim, "Geant4": ref})
    table["egid - Geant4"] = table["egid"] - table["Geant4"]
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))

    names = list(features.FEATURE_NAMES)
    rng = np.random.default_rng(seed)
    sim_images = images[rng.choice(n, size=min(n, len(g4_images)), replace=False)]
    x = pd.concat([features.build_table(g4_images)[names], features.build_table(sim_images)[names]], ignore_index=True)
    y = np.r_[np.zeros(len(g4_images)), np.ones(len(sim_images))]
    print(f"two-sample sim vs Geant4, pions: AUC {classifier_auc(x, y, seed=seed):.3f} (0.5 = indistinguishable)")
    print(
        f"simulation cost: {per_event * 1e3:.3f} ms per pion, {egamma_per_event * 1e3:.3f} ms per electron or photon "
        f"(ratio {per_event / egamma_per_event:.2f}) on {platform.machine()} with {os.cpu_count()} cores, "
        "numpy on the CPU, no GPU"
    )


def _fmt(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
