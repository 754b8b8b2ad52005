"""Lateral energy profiles around the seed, with the i-phi profile folded onto the side the energy went.

The 3.8 T field sweeps an electron's brem trail to one side in i-phi (which side follows its charge), while a
converted photon's pair opens to both sides and an unconverted photon stays compact. Folding the i-phi profile
onto its *major* side (the side of the seed holding more road energy) makes the one-sidedness visible without
the charge: the *minor* side carries little for an electron and a comparable share for a conversion.

Notation: ``(i, j)`` crystal offsets from the seed along i-eta and i-phi, ``E_i`` energy (GeV). The *road* is
the three i-eta rows ``|i| <= 1``. Its high side is ``j > 0`` and its low side ``j < 0``; the major side is the
one with more road energy (the high side on a tie). Every profile value is a fraction of ``E_sum``, so it is
NaN for an empty crop.
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import FloatArray
from egid.features.crops import CropBatch
from egid.features.feature import Feature

__all__ = ("FAR_DISTANCE", "FEATURES", "compute")

FAR_DISTANCE = 5
"""Road crystals at ``|j| >= 5`` are summed into the ``_far`` bin of each side."""

_PHI_BINS = FAR_DISTANCE  # distances 1, 2, 3, 4 and >= 5 on each side
_ETA_BINS = 2  # distances 1 and 2 along i-eta


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All profile features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    n = hits.n_events
    in_road = (np.abs(hits.ieta) <= 1) & (hits.iphi != 0)
    distance = np.minimum(np.abs(hits.iphi[in_road]), FAR_DISTANCE).astype(np.int64) - 1
    side = (hits.iphi[in_road] > 0).astype(np.int64)  # 1 high, 0 low
    code = (hits.event[in_road] * 2 + side) * _PHI_BINS + distance
    phi = np.bincount(code, weights=hits.energy[in_road], minlength=2 * _PHI_BINS * n).reshape(n, 2, _PHI_BINS)
    high_is_major = phi[:, 1].sum(axis=1) >= phi[:, 0].sum(axis=1)
    major = np.where(high_is_major[:, None], phi[:, 1], phi[:, 0])
    minor = np.where(high_is_major[:, None], phi[:, 0], phi[:, 1])

    in_column = (np.abs(hits.iphi) <= 1) & (np.abs(hits.ieta) >= 1) & (np.abs(hits.ieta) <= _ETA_BINS)
    code = hits.event[in_column] * _ETA_BINS + np.abs(hits.ieta[in_column]).astype(np.int64) - 1
    eta = np.bincount(code, weights=hits.energy[in_column], minlength=_ETA_BINS * n).reshape(n, _ETA_BINS)

    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / batch.e_sum[:, None]
        major, minor, eta = major * scale, minor * scale, eta * scale
    out = {}
    for k in range(_PHI_BINS):
        label = "far" if k == _PHI_BINS - 1 else str(k + 1)
        out[f"iphi_major_side_{label}"] = major[:, k]
        out[f"iphi_minor_side_{label}"] = minor[:, k]
    for k in range(_ETA_BINS):
        out[f"ieta_sides_{k + 1}"] = eta[:, k]
    return out


_SIDE = {"major": "on the side the energy went", "minor": "on the other side"}
_ROAD = r"\sum_{{|i| \leq 1,\ {distance},\ \mathrm{{{side}\ side}}}} E(i, j) \,/\, E_{{\mathrm{{sum}}}}"
_COLUMN = r"\sum_{{|j| \leq 1,\ |i| = {k}}} E(i, j) \,/\, E_{{\mathrm{{sum}}}}"
_ROWS = (
    *(
        (
            f"iphi_{side}_side_{k}",
            "dimensionless",
            f"sum of E(i, j) with |i| <= 1, |j| = {k} on the {side} side / E_sum",
            _ROAD.format(distance=f"|j| = {k}", side=side),
            f"share of the i-phi road {k} crystal(s) from the seed {_SIDE[side]}",
        )
        for k in (1, 2, 3, 4)
        for side in ("major", "minor")
    ),
    (
        "iphi_major_side_far",
        "dimensionless",
        "sum of E(i, j) with |i| <= 1, |j| >= 5 on the major side / E_sum",
        _ROAD.format(distance=r"|j| \geq 5", side="major"),
        "distant deposits on the major side: late brem, or one leg of a conversion",
    ),
    (
        "iphi_minor_side_far",
        "dimensionless",
        "sum of E(i, j) with |i| <= 1, |j| >= 5 on the minor side / E_sum",
        _ROAD.format(distance=r"|j| \geq 5", side="minor"),
        "distant deposits on the minor side: a conversion leg bent the other way",
    ),
    (
        "ieta_sides_1",
        "dimensionless",
        "sum of E(i, j) with |j| <= 1, |i| = 1 (both sides) / E_sum",
        _COLUMN.format(k=1),
        "i-eta profile next to the seed, untouched by the field: the shower's own lateral spread",
    ),
    (
        "ieta_sides_2",
        "dimensionless",
        "sum of E(i, j) with |j| <= 1, |i| = 2 (both sides) / E_sum",
        _COLUMN.format(k=2),
        "i-eta profile two crystals from the seed",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The profile family, in table order."""
