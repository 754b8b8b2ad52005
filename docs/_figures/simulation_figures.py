#!/usr/bin/env python
"""Draw the figures of the docs' simulation page: egid's simulation against the Geant4 reference sample.

Writes PNGs into ``docs/_static/simulation/`` (committed; the docs build reads no data):

* ``shapes_electron.png``, ``shapes_photon.png``: normalised distributions of six features, simulation (filled)
  against Geant4 (points with Poisson errors), for one class each;
* ``vs_eta.png``: the photon conversion fraction and the electrons' phi width in bins of |eta|, simulation against
  Geant4 (and, for conversions, the expectation 1 - exp(-7/9 t(eta)) of the tracker material).

The simulation uses the settings of ``benchmarks/validate_simulation.py`` (20k events per class, seed 0), the
Geant4 sample is ``shared/data/g4_reference`` beside the repository (2000 events per class).

Usage::

    python docs/_figures/simulation_figures.py [--g4-dir DIR] [--n 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from egid import features
from egid.detector import load_dataset
from egid.simulation import simulate_events
from egid.simulation.tracker import material_x0

DOCS = Path(__file__).resolve().parents[1]
REPO = DOCS.parent
OUT = DOCS / "_static" / "simulation"
ETA_EDGES = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2])

#: feature -> (axis label, histogram range)
PANELS = {
    "e_sum": ("summed crop energy [GeV]", (40.0, 95.0)),
    "r9": ("R9 = E3x3 / E_sum", (0.5, 1.0)),
    "sigma_ietaieta": ("sigma_ietaieta", (0.005, 0.014)),
    "sigma_iphiiphi": ("sigma_iphiiphi", (0.005, 0.022)),
    "phi_width": ("phi width [crystals]", (0.0, 3.0)),
    "n_hits": ("crystals above threshold", (0.0, 60.0)),
}


def _tables(g4_dir: Path, n: int, seed: int) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per class: (simulated table, Geant4 table), each with ``abs_eta`` and, for photons, ``converted``."""
    g4 = load_dataset(electrons=g4_dir / "electron.hdf5", photons=g4_dir / "photon.hdf5")
    g4_images = g4.read_images()
    out = {}
    for particle, label in (("electron", 1.0), ("photon", 0.0)):
        images, extras = simulate_events(n, particle=particle, seed=seed)
        sim = features.build_table(images).assign(abs_eta=np.abs(extras["eta"]))
        mask = g4.labels == label
        ref = features.build_table(g4_images[mask]).assign(abs_eta=np.abs(g4.extras["eta"][mask]))
        if particle == "photon":
            sim["converted"] = extras["converted"]
            ref["converted"] = g4.extras["converted"][mask]
        out[particle] = (sim, ref)
    return out


def shapes_figure(particle: str, sim: pd.DataFrame, ref: pd.DataFrame) -> plt.Figure:
    """Six normalised feature distributions of one class: simulation filled, Geant4 as points."""
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 5.6), layout="constrained")
    for ax, (name, (label, (lo, hi))) in zip(axes.flat, PANELS.items(), strict=True):
        edges = np.linspace(lo, hi, 31)
        width = np.diff(edges)
        s = sim[name].dropna().clip(lo, hi - 1e-9)
        r = ref[name].dropna().clip(lo, hi - 1e-9)
        ax.hist(s, bins=edges, density=True, color="#9ecae1", edgecolor="#3182bd", label=f"egid simulation ({len(s)})")
        counts, _ = np.histogram(r, bins=edges)
        scale = 1.0 / (counts.sum() * width)
        centres = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(
            centres,
            counts * scale,
            yerr=np.sqrt(counts) * scale,
            fmt="o",
            ms=3,
            color="black",
            label=f"Geant4 ({len(r)})",
        )
        ax.set_xlabel(label)
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{particle}s, pT = 50 GeV, |eta| < 1.2: normalised distributions (end bins hold under- and overflow)")
    return fig


def _binned_mean(values: pd.Series, abs_eta: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    index = np.clip(np.digitize(abs_eta, ETA_EDGES) - 1, 0, len(ETA_EDGES) - 2)
    frame = pd.DataFrame({"v": values.to_numpy(), "bin": index})
    grouped = frame.groupby("bin")["v"]
    mean = grouped.mean().reindex(range(len(ETA_EDGES) - 1)).to_numpy()
    err = (grouped.std() / np.sqrt(grouped.count())).reindex(range(len(ETA_EDGES) - 1)).to_numpy()
    return mean, err


def eta_figure(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> plt.Figure:
    """Photon conversion fraction and electron phi width against |eta|, simulation vs Geant4."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained")
    centres = 0.5 * (ETA_EDGES[1:] + ETA_EDGES[:-1])
    sim, ref = tables["photon"]
    for frame, label, style in ((sim, "egid simulation", "s-"), (ref, "Geant4", "o")):
        mean, err = _binned_mean(frame["converted"].astype(float), frame["abs_eta"])
        left.errorbar(centres, mean, yerr=err, fmt=style, ms=4, label=label, capsize=2)
    grid = np.linspace(0.0, 1.2, 121)
    left.plot(grid, 1 - np.exp(-7 / 9 * material_x0(grid)), "--", color="grey", label="1 - exp(-7/9 t(eta))")
    left.set_xlabel("|eta|")
    left.set_ylabel("photon conversion fraction")
    left.legend(fontsize=8)
    sim, ref = tables["electron"]
    for frame, label, style in ((sim, "egid simulation", "s-"), (ref, "Geant4", "o")):
        mean, err = _binned_mean(frame["phi_width"], frame["abs_eta"])
        right.errorbar(centres, mean, yerr=err, fmt=style, ms=4, label=label, capsize=2)
    right.set_xlabel("|eta|")
    right.set_ylabel("electron phi width [crystals], mean")
    right.legend(fontsize=8)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--g4-dir", type=Path, default=REPO.parent / "shared" / "data" / "g4_reference")
    parser.add_argument("--n", type=int, default=20_000, help="simulated events per class (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default: 0)")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    tables = _tables(args.g4_dir, args.n, args.seed)
    for particle, (sim, ref) in tables.items():
        shapes_figure(particle, sim, ref).savefig(OUT / f"shapes_{particle}.png", dpi=90)
    eta_figure(tables).savefig(OUT / "vs_eta.png", dpi=90)
    plt.close("all")
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(REPO), f"{path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
