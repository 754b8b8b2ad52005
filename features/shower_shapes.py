"""Shower shapes: the CMS log-weighted second moments of the 5x5 and linear-weighted moments of all lit crystals.

Notation: ``(i, j)`` are a crystal's offsets (in crystals) from the seed along i-eta and i-phi, ``E_i`` its
energy (GeV). Moments over *all hits* use linear energy weights and the energy centroid
``<i> = sum E_i i / E_sum``, ``<j> = sum E_i j / E_sum``. The 3.8 T field bends charged particles in phi only,
so brem and conversion deposits widen the shower along i-phi but not along i-eta.

A quantity undefined for an event (an empty crop, or a zero width dividing a higher moment) is NaN.

References: CMSSW ``RecoEcal/EgammaCoreTools/interface/EcalClusterTools.h`` (``localCovariances``,
``mean5x5PositionInLocalCrysCoord``); T. C. Awes et al., "A simple method of shower localization and
identification in laterally segmented calorimeters", NIM A 311 (1992) 130 (the log weights).
"""

from __future__ import annotations

import numpy as np

from egid.detector.schema import FloatArray
from egid.features.crops import WINDOW_HALF, CropBatch, Segments
from egid.features.feature import Feature

__all__ = ("CRYSTAL_SIZE", "EXTENT_THRESHOLD_GEV", "FEATURES", "LOG_WEIGHT_W0", "compute")

CRYSTAL_SIZE = 0.01745
"""Barrel crystal size in eta/phi that CMSSW multiplies the local covariances by."""
LOG_WEIGHT_W0 = 4.7
"""Cut-off of the log weights: crystals below exp(-4.7) = 0.9% of E5x5 get weight 0 (CMSSW's w0)."""
EXTENT_THRESHOLD_GEV = 0.5
"""Crystals above this energy (GeV) define the i-eta / i-phi extent."""


def compute(batch: CropBatch) -> dict[str, FloatArray]:
    """All shower-shape features of the batch, float64 (N,) arrays keyed by feature name."""
    out = _local_covariances(batch.window)
    hits = batch.hits
    energy, e_sum = hits.energy, batch.e_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_eta = hits.sum(energy * hits.ieta) / e_sum
        mean_phi = hits.sum(energy * hits.iphi) / e_sum
        d_eta, d_phi = hits.ieta - mean_eta[hits.event], hits.iphi - mean_phi[hits.event]
        e_d_phi = energy * d_phi
        e_d_phi2 = e_d_phi * d_phi
        cov_ee = hits.sum(energy * d_eta * d_eta) / e_sum
        cov_pp = hits.sum(e_d_phi2) / e_sum
        cov_ep = hits.sum(e_d_phi * d_eta) / e_sum
        out["eta_width"] = np.sqrt(cov_ee)
        out["phi_width"] = np.sqrt(cov_pp)
        half_sum, root = 0.5 * (cov_ee + cov_pp), np.sqrt(0.25 * (cov_ee - cov_pp) ** 2 + cov_ep**2)
        major, minor = half_sum + root, np.maximum(half_sum - root, 0.0)
        out["axis_major"] = np.sqrt(major)
        out["axis_minor"] = np.sqrt(minor)
        out["elongation"] = 1.0 - minor / major
        e_d_phi3 = e_d_phi2 * d_phi
        out["phi_skewness"] = hits.sum(e_d_phi3) / e_sum / (cov_pp * out["phi_width"])
        out["phi_kurtosis"] = hits.sum(e_d_phi3 * d_phi) / e_sum / (cov_pp * cov_pp) - 3.0
        side = np.sign(hits.iphi)
        out["phi_asymmetry"] = hits.sum(energy * side) / hits.sum(energy * np.abs(side))
    out["centroid_distance"] = np.hypot(mean_eta, mean_phi)
    strong = np.flatnonzero(energy > EXTENT_THRESHOLD_GEV)
    segments = Segments(hits.event[strong], hits.n_events)
    for axis, offsets in (("ieta", hits.ieta[strong]), ("iphi", hits.iphi[strong])):
        out[f"{axis}_extent"] = segments.max(offsets) + segments.max(-offsets) + 1.0
    return out


_OFFSETS = np.arange(-WINDOW_HALF, WINDOW_HALF + 1, dtype=np.float64)
_I, _J = (a.reshape(-1) for a in np.meshgrid(_OFFSETS, _OFFSETS, indexing="ij"))
# Rows 1, i, j, i^2, j^2, i*j over the flattened 5x5: one product gives every moment of a weighting. (einsum, not
# BLAS: OpenBLAS threads these skinny products and burns 20x the CPU time on a busy machine.)
_MOMENTS = np.stack([np.ones_like(_I), _I, _J, _I * _I, _J * _J, _I * _J])


def _local_covariances(window: FloatArray) -> dict[str, FloatArray]:
    """CMSSW ``EcalClusterTools::localCovariances`` on (N, 5, 5) windows: sigma_ietaieta, _iphiiphi, _ietaiphi.

    The weighted central moments use ``sum w (x - m)(y - n) = sum w x y - m sum w y - n sum w x + m n sum w``
    (offsets are at most 2 crystals, so the cancellation costs nothing in float64).
    """
    flat = window.reshape(len(window), _I.size)
    e5x5, e_eta, e_phi = np.einsum("nk,mk->mn", flat, _MOMENTS[:3])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_eta, mean_phi = e_eta / e5x5, e_phi / e5x5
        # Unlit crystals give log(0) = -inf, hence weight 0; an empty window gives NaN weights, hence NaN sigmas.
        weights = np.maximum(LOG_WEIGHT_W0 + np.log(flat / e5x5[:, None]), 0.0)
        total, w_eta, w_phi, w_eta2, w_phi2, w_eta_phi = np.einsum("nk,mk->mn", weights, _MOMENTS)
        norm = CRYSTAL_SIZE**2 / total
        cov_ee = (w_eta2 - 2 * mean_eta * w_eta + mean_eta**2 * total) * norm
        cov_pp = (w_phi2 - 2 * mean_phi * w_phi + mean_phi**2 * total) * norm
        cov_ep = (w_eta_phi - mean_eta * w_phi - mean_phi * w_eta + mean_eta * mean_phi * total) * norm
    return {
        "sigma_ietaieta": np.sqrt(np.maximum(cov_ee, 0.0)),
        "sigma_iphiiphi": np.sqrt(np.maximum(cov_pp, 0.0)),
        "sigma_ietaiphi": cov_ep,
    }


_W = "w_i = max(0, 4.7 + ln(E_i / e5x5)) over the lit crystals of the 5x5, <i>, <j> its linear energy-weighted mean"
_W_LATEX = r",\quad w_i = \max\left(0,\ 4.7 + \ln\frac{E_i}{E_{5\times5}}\right)"
_C_LATEX = (
    r",\quad C = \frac{1}{E_{\mathrm{sum}}} \sum_k E_k\, d_k d_k^{T},"
    r"\ d_k = \left(i_k - \langle i \rangle,\ j_k - \langle j \rangle\right)"
)
_ROWS = (
    (
        "sigma_ietaieta",
        "dimensionless",
        f"0.01745 * sqrt(sum w_i (i - <i>)^2 / sum w_i), {_W}",
        r"0.01745 \sqrt{\frac{\sum_i w_i \left(i - \langle i \rangle\right)^2}{\sum_i w_i}}" + _W_LATEX,
        "CMS sigma_ietaieta: lateral spread along i-eta, which the field does not widen",
    ),
    (
        "sigma_iphiiphi",
        "dimensionless",
        f"0.01745 * sqrt(sum w_i (j - <j>)^2 / sum w_i), {_W}",
        r"0.01745 \sqrt{\frac{\sum_i w_i \left(j - \langle j \rangle\right)^2}{\sum_i w_i}}" + _W_LATEX,
        "CMS sigma_iphiiphi: lateral spread along i-phi, widened by brem and conversions",
    ),
    (
        "sigma_ietaiphi",
        "dimensionless",
        f"0.01745^2 * sum w_i (i - <i>)(j - <j>) / sum w_i (a covariance, signed, no square root as in CMSSW), {_W}",
        r"0.01745^2 \frac{\sum_i w_i \left(i - \langle i \rangle\right)\left(j - \langle j \rangle\right)}{\sum_i w_i}"
        + _W_LATEX,
        "CMS sigma_ietaiphi: tilt of the 5x5 shower",
    ),
    (
        "eta_width",
        "crystals",
        "sqrt(sum E_i (i - <i>)^2 / E_sum) over all lit crystals",
        r"\sqrt{\sum_k E_k \left(i_k - \langle i \rangle\right)^2 / E_{\mathrm{sum}}}",
        "linear-weighted i-eta RMS of the whole deposit (CMS etaWidth, in crystals)",
    ),
    (
        "phi_width",
        "crystals",
        "sqrt(sum E_i (j - <j>)^2 / E_sum) over all lit crystals",
        r"\sigma_j = \sqrt{\sum_k E_k \left(j_k - \langle j \rangle\right)^2 / E_{\mathrm{sum}}}",
        "linear-weighted i-phi RMS of the whole deposit (CMS phiWidth, in crystals): the brem/conversion spread",
    ),
    (
        "axis_major",
        "crystals",
        "sqrt(larger eigenvalue of the energy-weighted (i, j) covariance of all lit crystals)",
        r"\sqrt{\lambda_{\max}(C)}" + _C_LATEX,
        "RMS length of the deposit along its principal axis",
    ),
    (
        "axis_minor",
        "crystals",
        "sqrt(smaller eigenvalue of the same covariance)",
        r"\sqrt{\lambda_{\min}(C)}" + _C_LATEX,
        "RMS width of the deposit across its principal axis",
    ),
    (
        "elongation",
        "dimensionless",
        "1 - minor eigenvalue / major eigenvalue; NaN for a single crystal",
        r"1 - \lambda_{\min}(C) / \lambda_{\max}(C)" + _C_LATEX,
        "0 for a round deposit, towards 1 for a line (a brem trail)",
    ),
    (
        "phi_asymmetry",
        "dimensionless",
        "(E(j > 0) - E(j < 0)) / (E(j > 0) + E(j < 0)) over the crop",
        r"\frac{E(j > 0) - E(j < 0)}{E(j > 0) + E(j < 0)}",
        "energy on the high-i-phi side versus the low side of the seed; the sign follows the bending charge",
    ),
    (
        "phi_skewness",
        "dimensionless",
        "sum E_i (j - <j>)^3 / E_sum / phi_width^3",
        r"\frac{\sum_k E_k \left(j_k - \langle j \rangle\right)^3}{E_{\mathrm{sum}}\, \sigma_j^3}",
        "one-sided tail along i-phi: an electron's brem trail lies on one side",
    ),
    (
        "phi_kurtosis",
        "dimensionless",
        "sum E_i (j - <j>)^4 / E_sum / phi_width^4 - 3",
        r"\frac{\sum_k E_k \left(j_k - \langle j \rangle\right)^4}{E_{\mathrm{sum}}\, \sigma_j^4} - 3",
        "heavy tails along i-phi (distant brem or conversion deposits) versus a compact core",
    ),
    (
        "centroid_distance",
        "crystals",
        "sqrt(<i>^2 + <j>^2) over all lit crystals",
        r"\sqrt{\langle i \rangle^2 + \langle j \rangle^2}",
        "offset of the energy centroid from the seed, large when energy lies away from the core",
    ),
    (
        "ieta_extent",
        "crystals",
        "max i - min i + 1 over crystals above 0.5 GeV; NaN if none",
        r"\max_{E_k > 0.5\,\mathrm{GeV}} i_k - \min_{E_k > 0.5\,\mathrm{GeV}} i_k + 1",
        "i-eta span of the significant deposits",
    ),
    (
        "iphi_extent",
        "crystals",
        "max j - min j + 1 over crystals above 0.5 GeV; NaN if none",
        r"\max_{E_k > 0.5\,\mathrm{GeV}} j_k - \min_{E_k > 0.5\,\mathrm{GeV}} j_k + 1",
        "i-phi span of the significant deposits: long for brem trails and opened conversion pairs",
    ),
)

FEATURES = tuple(
    Feature(name, unit, formula, description, compute, latex=latex) for name, unit, formula, latex, description in _ROWS
)
"""The shower-shape family, in table order."""
