"""Crystal timing: in-time showers share one time; out-of-time deposits, spikes and pile-up do not.

Notation: ``t_i`` crystal time (ns, file value x 50), ``E_i`` crystal energy (GeV). Low-energy crystals have
poor timing (sigma_t ~ 35 ns x 40 MeV / E), so the averages use only crystals above 1 GeV and weight them by
energy. A time is defined only for a lit crystal; a quantity without crystals to run over is NaN.
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import ENERGY, SEED_IETA, SEED_IPHI, TIME, TIME_SCALE_NS, FloatArray
from egid.features.crops import CropBatch, take
from egid.features.feature import Feature

__all__ = ("FEATURES", "TIMING_THRESHOLD_GEV", "compute")

TIMING_THRESHOLD_GEV = 1.0
"""Only crystals above this energy (GeV) enter time_mean, time_rms and time_max_abs."""


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All timing features of the batch, float64 (N,) arrays keyed by feature name."""
    hits = batch.hits
    seed = batch.images[:, SEED_IETA, SEED_IPHI]
    seed_time = np.where(seed[:, ENERGY] != 0, seed[:, TIME].astype(np.float64) * TIME_SCALE_NS, np.nan)
    timed = hits.energy > TIMING_THRESHOLD_GEV
    weight = np.where(timed, hits.energy, 0.0)
    mean = hits.mean(hits.time, weight)
    deviation = hits.time - mean[hits.event]
    return {
        "seed_time": seed_time,
        "time_mean": mean,
        "time_rms": np.sqrt(hits.mean(deviation * deviation, weight)),
        "time_2nd_minus_seed": take(hits.time, batch.hottest[1]) - seed_time,
        "time_max_abs": hits.max(np.where(timed, np.abs(hits.time), -np.inf)),
    }


_ROWS = (
    ("seed_time", "ns", "t of the seed crystal (16, 16); NaN if it is not lit", r"t(0, 0)", "time of the shower core"),
    (
        "time_mean",
        "ns",
        "sum E_i t_i / sum E_i over crystals with E_i > 1 GeV",
        r"\bar{t} = \frac{\sum_{E_k > 1\,\mathrm{GeV}} E_k t_k}{\sum_{E_k > 1\,\mathrm{GeV}} E_k}",
        "energy-weighted shower time",
    ),
    (
        "time_rms",
        "ns",
        "sqrt(sum E_i (t_i - time_mean)^2 / sum E_i) over crystals with E_i > 1 GeV",
        r"\sqrt{\frac{\sum_{E_k > 1\,\mathrm{GeV}} E_k \left(t_k - \bar{t}\right)^2}"
        r"{\sum_{E_k > 1\,\mathrm{GeV}} E_k}}",
        "time spread of the significant crystals: small for one in-time shower",
    ),
    (
        "time_2nd_minus_seed",
        "ns",
        "t(second-hottest crystal) - t(seed); NaN if either is missing",
        r"t_{k_2} - t(0, 0)",
        "whether the second deposit is in time with the core",
    ),
    (
        "time_max_abs",
        "ns",
        "max |t_i| over crystals with E_i > 1 GeV",
        r"\max_{E_k > 1\,\mathrm{GeV}} \left|t_k\right|",
        "the most out-of-time significant crystal (spikes, pile-up)",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The timing family, in table order."""
