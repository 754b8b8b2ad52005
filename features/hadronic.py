"""Hadronic against electromagnetic showers: what a charged pion leaves in 23 cm (about one lambda_I) of PbWO4.

About a third of the pions cross the crystals without a nuclear interaction and leave only a minimum-ionising
track: ~0.27 GeV (most probable) in one crystal, barely above the zero suppression. The others start a hadronic
shower at an exponentially distributed depth; only part of it is contained. Besides its dense electromagnetic
(pi0) core, a hadronic shower spreads its energy broadly and irregularly, in both i-eta and i-phi, over many soft
crystals and detached fragments (nuclear fragments, neutrons, de-excitation photons). An electromagnetic shower
is compact (Moliere radius about one crystal) with a steep lateral fall-off, and spreads beyond its core only
along i-phi, through brem and conversions in the 3.8 T field.

Notation: ``E_i`` crystal energy (GeV), ``(i, j)`` offsets from the seed along i-eta and i-phi, ``E_sum`` the
energy of the whole crop, ``e_max`` its hottest crystal, ``N(i)`` the 8 crystals around crystal ``i`` (crystals
outside the crop count as unlit, energy 0). A fraction of ``E_sum`` is NaN for an empty crop.

References: ``../shared/PHYSICS.md`` ("Charged pions in the ECAL"); PDG, "Passage of particles through matter"
(minimum ionisation, nuclear interaction length); R. Wigmans, "Calorimetry", Oxford (2017), ch. 2 (hadronic
shower development, its electromagnetic fraction and the invisible energy).
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import ENERGY_SCALE_GEV, FloatArray
from egid.features.crops import CropBatch, take
from egid.features.feature import Feature

__all__ = (
    "FEATURES",
    "HALO_MIN_IETA",
    "MIP_MAX_GEV",
    "MIP_MAX_REST_GEV",
    "MIP_MIN_GEV",
    "SOFT_THRESHOLD_GEV",
    "compute",
)

MIP_MIN_GEV = 0.1
"""Lower edge of the MIP window for the hottest crystal, GeV (below the 120 MeV zero suppression nothing is lit)."""
MIP_MAX_GEV = 0.6
"""Upper edge of the MIP window, GeV: about twice the most probable loss of a pion crossing 23 cm of PbWO4."""
MIP_MAX_REST_GEV = 0.5
"""Most energy (GeV) the rest of a MIP-like crop may hold: delta rays and the track's neighbour crystal."""
SOFT_THRESHOLD_GEV = 0.5
"""Crystals below this energy (GeV) are *soft*: the diffuse part of a shower."""
HALO_MIN_IETA = 2
"""Energy at ``|i| >= 2`` crystals from the seed along i-eta is *halo*: beyond an EM shower's core in the
direction the field does not spread."""


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All hadronic-shower features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    energy, e_sum = hits.energy, batch.e_sum
    e_max = take(energy, batch.hottest[0], missing=0.0)
    around = batch.raw_neighbourhood(np.arange(energy.size))
    neighbours = np.delete(around, 4, axis=0).astype(np.float64) * ENERGY_SCALE_GEV  # (8, n_hits), GeV
    isolated = ~neighbours.any(axis=0)
    out: dict[str, FloatArray] = {
        "mip_like": ((e_max >= MIP_MIN_GEV) & (e_max <= MIP_MAX_GEV) & (e_sum - e_max <= MIP_MAX_REST_GEV)).astype(
            np.float64
        )
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / e_sum  # inf for an empty crop: its sums are 0, so every fraction is NaN
        out["e_max_over_e_sum"] = e_max * scale
        out["soft_energy_fraction"] = hits.sum(np.where(energy < SOFT_THRESHOLD_GEV, energy, 0.0)) * scale
        out["ieta_halo_fraction"] = hits.sum(np.where(np.abs(hits.ieta) >= HALO_MIN_IETA, energy, 0.0)) * scale
        out["isolated_energy_fraction"] = hits.sum(np.where(isolated, energy, 0.0)) * scale
        out["lateral_contrast"] = hits.sum(np.abs(energy - neighbours.mean(axis=0))) * scale
    return out


_ROWS = (
    (
        "mip_like",
        "flag",
        "1 if 0.1 GeV <= e_max <= 0.6 GeV and E_sum - e_max <= 0.5 GeV, else 0 (0 for an empty crop)",
        r"\mathbb{1}\left[0.1 \leq e_{\max} \leq 0.6\ \mathrm{GeV}\ \wedge\ E_{\mathrm{sum}} - e_{\max} \leq 0.5\ "
        r"\mathrm{GeV}\right]",
        "a minimum-ionising track: a pion that crossed the crystals without a nuclear interaction (~0.27 GeV in "
        "one crystal), never an electron or photon",
    ),
    (
        "e_max_over_e_sum",
        "dimensionless",
        "e_max / E_sum",
        r"e_{\max} / E_{\mathrm{sum}}",
        "hottest-crystal fraction: high for a compact EM shower, lower for a broad hadronic one (1 for a MIP)",
    ),
    (
        "soft_energy_fraction",
        "dimensionless",
        "sum of E_i with E_i < 0.5 GeV / E_sum",
        r"\sum_{i:\,E_i < 0.5\,\mathrm{GeV}} E_i \,/\, E_{\mathrm{sum}}",
        "share of the energy in soft crystals: hadronic showers spread energy over many soft deposits, "
        "EM showers concentrate it",
    ),
    (
        "ieta_halo_fraction",
        "dimensionless",
        "sum of E(i, j) with |i| >= 2 over the crop / E_sum",
        r"\sum_{|i| \geq 2} E(i, j) \,/\, E_{\mathrm{sum}}",
        "energy beyond the core along i-eta, where the field spreads nothing: the lateral width of a hadronic "
        "shower, independent of brem",
    ),
    (
        "isolated_energy_fraction",
        "dimensionless",
        "sum of E_i over lit crystals whose 8 neighbours are all unlit / E_sum",
        r"\sum_{i:\,E_k = 0\ \forall k \in N(i)} E_i \,/\, E_{\mathrm{sum}}",
        "detached deposits (nuclear fragments, neutrons, de-excitation photons) of a hadronic shower; "
        "EM deposits are contiguous",
    ),
    (
        "lateral_contrast",
        "dimensionless",
        "sum over lit crystals of |E_i - (1/8) sum_{k in N(i)} E_k| / E_sum",
        r"\sum_{i:\,E_i > 0} \left| E_i - \frac{1}{8} \sum_{k \in N(i)} E_k \right| \,/\, E_{\mathrm{sum}}",
        "how sharply crystals stand out from their neighbourhood: large for the steep, dense core of an EM "
        "shower, smaller for the broad, diffuse spread of a hadronic one",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The hadronic-shower family, in table order."""
