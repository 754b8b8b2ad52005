"""Energy sums around the seed and their ratios: how compact the shower is and where its energy lies.

Notation: ``E(i, j)`` is the energy (GeV) of the crystal at offset ``i`` along i-eta and ``j`` along i-phi from
the seed at (16, 16); ``E_sum`` runs over the whole 32x32 crop. *Left/right* are the i-phi neighbours
(``j = -1 / +1``) and *top/bottom* the i-eta neighbours (``i = -1 / +1``), as in an image drawn with i-eta
as rows. An ``AxB`` strip is A crystals along i-eta by B along i-phi (the CMS convention: ``e1x5`` and
``e2x5_max`` are long in i-phi, the direction in which the 3.8 T field spreads brem and conversion deposits).

Ratios whose denominator is 0 (an empty crop, an unlit 5x5) are NaN.

References: CMS Collaboration, "Performance of electron reconstruction and selection with the CMS detector in
proton-proton collisions at sqrt(s) = 8 TeV", JINST 10 (2015) P06005; CMSSW ``EcalClusterTools``.
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import FloatArray
from egid.features.crops import WINDOW_HALF, CropBatch, take
from egid.features.feature import Feature

__all__ = ("FEATURES", "compute")

_C = WINDOW_HALF  # index of the seed inside the 5x5 window
_SIDE = 2 * WINDOW_HALF + 1


def _box(rows: range, cols: range) -> np.ndarray:
    """Indicator (25,) of the crystals at i-eta offsets ``rows`` and i-phi offsets ``cols`` in the 5x5 window."""
    mask = np.zeros((_SIDE, _SIDE))
    mask[rows.start + _C : rows.stop + _C, cols.start + _C : cols.stop + _C] = 1.0
    return mask.reshape(-1)


# Every sum over the 5x5 is one row of a (k, 25) matrix: a single product gives them all (einsum, not BLAS, which
# threads such skinny products and burns many times the CPU time on a busy machine).
_BOXES = {
    "e5x5": _box(range(-2, 3), range(-2, 3)),
    "e3x3": _box(range(-1, 2), range(-1, 2)),
    "e1x3_ieta": _box(range(-1, 2), range(1)),
    "e1x3_iphi": _box(range(1), range(-1, 2)),
    "e1x5_ieta": _box(range(-2, 3), range(1)),
    "e1x5_iphi": _box(range(1), range(-2, 3)),
    "2x5_low": _box(range(-1, 1), range(-2, 3)),
    "2x5_high": _box(range(2), range(-2, 3)),
    **{f"2x2_{i}{j}": _box(range(i, i + 2), range(j, j + 2)) for i in (-1, 0) for j in (-1, 0)},
}
_BOX_MATRIX = np.stack(list(_BOXES.values()))


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All energy sums and ratios of the batch, float64 (N,) arrays keyed by feature name."""
    w = batch.window
    hits = batch.hits
    hottest, second = batch.hottest
    sums = dict(zip(_BOXES, np.einsum("nk,mk->mn", w.reshape(len(w), _SIDE * _SIDE), _BOX_MATRIX), strict=True))
    out = {
        "e_sum": batch.e_sum,
        "e_seed": w[:, _C, _C],
        "e_max": take(hits.energy, hottest, missing=0.0),
        "e_2nd": take(hits.energy, second, missing=0.0),
        "e2x2": np.max([sums[f"2x2_{i}{j}"] for i in (-1, 0) for j in (-1, 0)], axis=0),
        **{name: sums[name] for name in ("e3x3", "e5x5", "e1x3_ieta", "e1x3_iphi", "e1x5_ieta", "e1x5_iphi")},
        "e2x5_max": np.maximum(sums["2x5_low"], sums["2x5_high"]),
        "e_left": w[:, _C, _C - 1],
        "e_right": w[:, _C, _C + 1],
        "e_top": w[:, _C - 1, _C],
        "e_bottom": w[:, _C + 1, _C],
    }
    outside = (np.abs(hits.ieta) > WINDOW_HALF) | (np.abs(hits.iphi) > WINDOW_HALF)
    outside_energy = np.where(outside, hits.energy, 0.0)
    out["e_outside_5x5"] = hits.sum(outside_energy)
    out["e_iphi_road_outside_5x5"] = hits.sum(np.where(np.abs(hits.ieta) <= 1, outside_energy, 0.0))
    out["e_ieta_road_outside_5x5"] = hits.sum(np.where(np.abs(hits.iphi) <= 1, outside_energy, 0.0))
    out["seed_is_max"] = np.where(out["e_max"] > 0, out["e_seed"] >= out["e_max"], np.nan)
    for which, index in (("max", hottest), ("2nd", second)):
        out[f"e_{which}_dieta"] = take(hits.ieta, index)
        out[f"e_{which}_diphi"] = take(hits.iphi, index)
    out["r9"] = _ratio(out["e3x3"], out["e_sum"])
    out["e_max_over_e5x5"] = _ratio(out["e_max"], out["e5x5"])
    out["e_2nd_over_e_max"] = _ratio(out["e_2nd"], out["e_max"])
    out["s4"] = _ratio(out["e2x2"], out["e5x5"])
    out["e1x5_iphi_over_e5x5"] = _ratio(out["e1x5_iphi"], out["e5x5"])
    out["e1x5_ieta_over_e5x5"] = _ratio(out["e1x5_ieta"], out["e5x5"])
    out["e2x5_max_over_e5x5"] = _ratio(out["e2x5_max"], out["e5x5"])
    out["e5x5_over_e_sum"] = _ratio(out["e5x5"], out["e_sum"])
    return out


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN where the denominator is 0 (undefined, whatever the numerator)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


_ROWS = (
    (
        "e_sum",
        "GeV",
        "sum_i E_i over the 32x32 crop",
        r"E_{\mathrm{sum}} = \sum_{k \in \mathrm{crop}} E_k",
        "total deposit; the energy scale of the candidate",
    ),
    ("e_seed", "GeV", "E(0, 0)", r"E(0, 0)", "energy of the seed crystal (16, 16), the hottest one in the CMS crops"),
    (
        "e_max",
        "GeV",
        "max_i E_i over the crop (0 if empty)",
        r"e_{\max} = \max_{k \in \mathrm{crop}} E_k",
        "hottest crystal, which need not be the seed",
    ),
    (
        "seed_is_max",
        "flag",
        "1 if E(0,0) >= e_max else 0; NaN for an empty crop",
        r"\mathbb{1}\left[E(0, 0) \geq e_{\max}\right]",
        "whether the crop is centred on its hottest crystal",
    ),
    (
        "e_max_dieta",
        "crystals",
        "i-eta offset of the hottest crystal from the seed (first in raster order on ties)",
        r"i_{k_1},\quad k_1 = \arg\max_k E_k",
        "where the true maximum lies when it is not the seed",
    ),
    (
        "e_max_diphi",
        "crystals",
        "i-phi offset of the hottest crystal from the seed",
        r"j_{k_1},\quad k_1 = \arg\max_k E_k",
        "as e_max_dieta, along i-phi",
    ),
    (
        "e_2nd",
        "GeV",
        "second-largest E_i in the crop (0 with fewer than two lit crystals)",
        r"E_{k_2},\quad k_2 = \arg\max_{k \ne k_1} E_k",
        "energy sharing of the core; a large value hints at a second particle or an impact near a crystal edge",
    ),
    (
        "e_2nd_dieta",
        "crystals",
        "i-eta offset of the second-hottest crystal from the seed; NaN if there is none",
        r"i_{k_2}",
        "neighbour (|offset| = 1) for a single shower, far for a second deposit",
    ),
    (
        "e_2nd_diphi",
        "crystals",
        "i-phi offset of the second-hottest crystal from the seed; NaN if there is none",
        r"j_{k_2}",
        "far along i-phi for a brem photon or a conversion leg",
    ),
    (
        "e2x2",
        "GeV",
        "max over the four 2x2 blocks containing the seed of their sum",
        r"E_{2\times2} = \max_{a, b \in \{-1, 0\}} \sum_{i = a}^{a + 1} \sum_{j = b}^{b + 1} E(i, j)",
        "core energy, tolerant to where the particle hit the seed crystal",
    ),
    (
        "e3x3",
        "GeV",
        "sum_{|i|,|j|<=1} E(i, j)",
        r"E_{3\times3} = \sum_{|i|, |j| \leq 1} E(i, j)",
        "energy in the 3x3 around the seed; the core of a single shower",
    ),
    (
        "e5x5",
        "GeV",
        "sum_{|i|,|j|<=2} E(i, j)",
        r"E_{5\times5} = \sum_{|i|, |j| \leq 2} E(i, j)",
        "energy in the 5x5 around the seed; ~96% of a single shower",
    ),
    (
        "e1x3_ieta",
        "GeV",
        "sum_{|i|<=1} E(i, 0)",
        r"\sum_{|i| \leq 1} E(i, 0)",
        "3-crystal strip along i-eta through the seed",
    ),
    (
        "e1x3_iphi",
        "GeV",
        "sum_{|j|<=1} E(0, j)",
        r"\sum_{|j| \leq 1} E(0, j)",
        "3-crystal strip along i-phi through the seed",
    ),
    (
        "e1x5_ieta",
        "GeV",
        "sum_{|i|<=2} E(i, 0)",
        r"E_{5\times1} = \sum_{|i| \leq 2} E(i, 0)",
        "5-crystal strip along i-eta through the seed",
    ),
    (
        "e1x5_iphi",
        "GeV",
        "sum_{|j|<=2} E(0, j)",
        r"E_{1\times5} = \sum_{|j| \leq 2} E(0, j)",
        "5-crystal strip along i-phi through the seed (the CMS e1x5: 1 i-eta x 5 i-phi)",
    ),
    (
        "e2x5_max",
        "GeV",
        "max(sum_{i in {-1,0}, |j|<=2} E(i, j), sum_{i in {0,1}, |j|<=2} E(i, j))",
        r"E_{2\times5}^{\max} = \max\left(\sum_{i \in \{-1, 0\},\ |j| \leq 2} E(i, j),\ "
        r"\sum_{i \in \{0, 1\},\ |j| \leq 2} E(i, j)\right)",
        "the larger 2 (i-eta) x 5 (i-phi) strip through the seed, as CMS e2x5Max",
    ),
    ("e_left", "GeV", "E(0, -1)", r"E(0, -1)", "i-phi neighbour of the seed on the low side"),
    ("e_right", "GeV", "E(0, +1)", r"E(0, +1)", "i-phi neighbour of the seed on the high side"),
    ("e_top", "GeV", "E(-1, 0)", r"E(-1, 0)", "i-eta neighbour of the seed on the low side"),
    ("e_bottom", "GeV", "E(+1, 0)", r"E(+1, 0)", "i-eta neighbour of the seed on the high side"),
    (
        "e_outside_5x5",
        "GeV",
        "sum of E(i, j) over the crop with |i| > 2 or |j| > 2",
        r"\sum_{|i| > 2\ \vee\ |j| > 2} E(i, j)",
        "energy far from the core: brem photons, conversion legs, lateral tails",
    ),
    (
        "e_iphi_road_outside_5x5",
        "GeV",
        "sum of E(i, j) with |i| <= 1 and |j| > 2",
        r"\sum_{|i| \leq 1,\ |j| > 2} E(i, j)",
        "energy in the i-phi road outside the 5x5: what the field spread along i-phi (brem/conversion recovery)",
    ),
    (
        "e_ieta_road_outside_5x5",
        "GeV",
        "sum of E(i, j) with |j| <= 1 and |i| > 2",
        r"\sum_{|j| \leq 1,\ |i| > 2} E(i, j)",
        "the same road along i-eta, where the field spreads nothing: a control for the i-phi road",
    ),
    (
        "r9",
        "dimensionless",
        "e3x3 / e_sum",
        r"R_9 = E_{3\times3} / E_{\mathrm{sum}}",
        "compactness; above ~0.94 for unconverted photons, lower for conversions and showering electrons",
    ),
    (
        "e_max_over_e5x5",
        "dimensionless",
        "e_max / e5x5",
        r"e_{\max} / E_{5\times5}",
        "fraction of the 5x5 in the hottest crystal",
    ),
    (
        "e_2nd_over_e_max",
        "dimensionless",
        "e_2nd / e_max",
        r"E_{k_2} / e_{\max}",
        "sharing between the two hottest crystals",
    ),
    (
        "s4",
        "dimensionless",
        "e2x2 / e5x5",
        r"S_4 = E_{2\times2} / E_{5\times5}",
        "CMS S4: core fraction of the 5x5, lower for spread-out deposits",
    ),
    (
        "e1x5_iphi_over_e5x5",
        "dimensionless",
        "e1x5_iphi / e5x5",
        r"E_{1\times5} / E_{5\times5}",
        "fraction of the 5x5 in the seed's i-phi strip",
    ),
    (
        "e1x5_ieta_over_e5x5",
        "dimensionless",
        "e1x5_ieta / e5x5",
        r"E_{5\times1} / E_{5\times5}",
        "fraction of the 5x5 in the seed's i-eta strip",
    ),
    (
        "e2x5_max_over_e5x5",
        "dimensionless",
        "e2x5_max / e5x5",
        r"E_{2\times5}^{\max} / E_{5\times5}",
        "CMS e2x5Max/e5x5 (HEEP shower-shape ratio)",
    ),
    (
        "e5x5_over_e_sum",
        "dimensionless",
        "e5x5 / e_sum",
        r"E_{5\times5} / E_{\mathrm{sum}}",
        "containment of the crop's energy in the 5x5",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The energy family, in table order."""
