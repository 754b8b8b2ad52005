"""Slow, literal per-image implementations of every feature: the reference the vectorised code must match.

Loops over events and crystals are deliberate here: each function follows the written definition in the
family modules' docstrings as directly as possible, sharing nothing with the fast code but the constants.
"""

from __future__ import annotations

import math

import numpy as np

from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, SEED_IETA, SEED_IPHI, TIME, TIME_SCALE_NS

__all__ = ("reference_features", "reference_table")

NAN = float("nan")


def _div(a: float, b: float) -> float:
    return a / b if b != 0 else NAN


def reference_table(images: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature of every image, computed one image at a time: {name: (N,) float64}."""
    rows = [reference_features(image) for image in images]
    return {name: np.array([row[name] for row in rows], dtype=np.float64) for name in rows[0]}


def reference_features(image: np.ndarray) -> dict[str, float]:
    """All features of one (32, 32, 2) crop, by the book."""
    energy = image[..., ENERGY].astype(np.float64) * ENERGY_SCALE_GEV
    time = image[..., TIME].astype(np.float64) * TIME_SCALE_NS
    hits = [
        (i - SEED_IETA, j - SEED_IPHI, energy[i, j], time[i, j])
        for i in range(32)
        for j in range(32)
        if energy[i, j] != 0
    ]

    def e(di: int, dj: int) -> float:
        i, j = SEED_IETA + di, SEED_IPHI + dj
        return float(energy[i, j]) if 0 <= i < 32 and 0 <= j < 32 else 0.0

    def box(rows: range, cols: range) -> float:
        return sum(e(i, j) for i in rows for j in cols)

    f: dict[str, float] = {}
    f.update(_energies(energy, hits, e, box))
    f.update(_shower_shapes(hits, e, f["e_sum"]))
    f.update(_profiles(hits, f["e_sum"]))
    f.update(_clusters(energy, hits))
    f.update(_timing(energy, time, hits))
    f.update(_hadronic(energy, hits, f["e_sum"], f["e_max"]))
    return f


def _energies(energy, hits, e, box) -> dict[str, float]:
    flat = energy.ravel()
    ranked = sorted(range(flat.size), key=lambda k: (-flat[k], k))
    first, second = ranked[0], ranked[1]
    has_first, has_second = flat[first] > 0, flat[second] > 0
    f = {
        "e_sum": float(sum(h[2] for h in hits)),
        "e_seed": e(0, 0),
        "e_max": float(flat[first]) if has_first else 0.0,
        "e_max_dieta": float(first // 32 - SEED_IETA) if has_first else NAN,
        "e_max_diphi": float(first % 32 - SEED_IPHI) if has_first else NAN,
        "e_2nd": float(flat[second]) if has_second else 0.0,
        "e_2nd_dieta": float(second // 32 - SEED_IETA) if has_second else NAN,
        "e_2nd_diphi": float(second % 32 - SEED_IPHI) if has_second else NAN,
        "e2x2": max(box(range(a, a + 2), range(b, b + 2)) for a in (-1, 0) for b in (-1, 0)),
        "e3x3": box(range(-1, 2), range(-1, 2)),
        "e5x5": box(range(-2, 3), range(-2, 3)),
        "e1x3_ieta": box(range(-1, 2), range(1)),
        "e1x3_iphi": box(range(1), range(-1, 2)),
        "e1x5_ieta": box(range(-2, 3), range(1)),
        "e1x5_iphi": box(range(1), range(-2, 3)),
        "e2x5_max": max(box(range(-1, 1), range(-2, 3)), box(range(2), range(-2, 3))),
        "e_left": e(0, -1),
        "e_right": e(0, 1),
        "e_top": e(-1, 0),
        "e_bottom": e(1, 0),
        "e_outside_5x5": sum(h[2] for h in hits if abs(h[0]) > 2 or abs(h[1]) > 2),
        "e_iphi_road_outside_5x5": sum(h[2] for h in hits if abs(h[0]) <= 1 and abs(h[1]) > 2),
        "e_ieta_road_outside_5x5": sum(h[2] for h in hits if abs(h[1]) <= 1 and abs(h[0]) > 2),
    }
    f["seed_is_max"] = float(f["e_seed"] >= f["e_max"]) if has_first else NAN
    f["r9"] = _div(f["e3x3"], f["e_sum"])
    f["e_max_over_e5x5"] = _div(f["e_max"], f["e5x5"])
    f["e_2nd_over_e_max"] = _div(f["e_2nd"], f["e_max"])
    f["s4"] = _div(f["e2x2"], f["e5x5"])
    f["e1x5_iphi_over_e5x5"] = _div(f["e1x5_iphi"], f["e5x5"])
    f["e1x5_ieta_over_e5x5"] = _div(f["e1x5_ieta"], f["e5x5"])
    f["e2x5_max_over_e5x5"] = _div(f["e2x5_max"], f["e5x5"])
    f["e5x5_over_e_sum"] = _div(f["e5x5"], f["e_sum"])
    return f


def _shower_shapes(hits, e, e_sum) -> dict[str, float]:
    f: dict[str, float] = {}
    # CMSSW localCovariances over the 5x5, skipping unlit crystals.
    cells = [(i, j, e(i, j)) for i in range(-2, 3) for j in range(-2, 3) if e(i, j) > 0]
    e5x5 = sum(c[2] for c in cells)
    if e5x5 > 0:
        m_eta = sum(c[2] * c[0] for c in cells) / e5x5
        m_phi = sum(c[2] * c[1] for c in cells) / e5x5
        den = num_ee = num_pp = num_ep = 0.0
        for i, j, en in cells:
            w = max(0.0, 4.7 + math.log(en / e5x5))
            den += w
            num_ee += w * (i - m_eta) ** 2
            num_pp += w * (j - m_phi) ** 2
            num_ep += w * (i - m_eta) * (j - m_phi)
        f["sigma_ietaieta"] = math.sqrt(0.01745**2 * num_ee / den)
        f["sigma_iphiiphi"] = math.sqrt(0.01745**2 * num_pp / den)
        f["sigma_ietaiphi"] = 0.01745**2 * num_ep / den
    else:
        f["sigma_ietaieta"] = f["sigma_iphiiphi"] = f["sigma_ietaiphi"] = NAN
    names = (
        "eta_width",
        "phi_width",
        "axis_major",
        "axis_minor",
        "elongation",
        "phi_skewness",
        "phi_kurtosis",
        "phi_asymmetry",
        "centroid_distance",
        "ieta_extent",
        "iphi_extent",
    )
    if e_sum == 0:
        return f | dict.fromkeys(names, NAN)
    m_eta = sum(h[2] * h[0] for h in hits) / e_sum
    m_phi = sum(h[2] * h[1] for h in hits) / e_sum
    cov = np.zeros((2, 2))
    m3 = m4 = 0.0
    for i, j, en, _ in hits:
        d = np.array([i - m_eta, j - m_phi])
        cov += en * np.outer(d, d) / e_sum
        m3 += en * d[1] ** 3 / e_sum
        m4 += en * d[1] ** 4 / e_sum
    eigen = np.linalg.eigvalsh(cov)  # ascending
    f["eta_width"] = math.sqrt(cov[0, 0])
    f["phi_width"] = math.sqrt(cov[1, 1])
    f["axis_major"] = math.sqrt(eigen[1])
    f["axis_minor"] = math.sqrt(max(eigen[0], 0.0))
    f["elongation"] = 1 - max(eigen[0], 0.0) / eigen[1] if eigen[1] > 0 else NAN
    f["phi_skewness"] = m3 / cov[1, 1] ** 1.5 if cov[1, 1] > 0 else NAN
    f["phi_kurtosis"] = m4 / cov[1, 1] ** 2 - 3 if cov[1, 1] > 0 else NAN
    high = sum(h[2] for h in hits if h[1] > 0)
    low = sum(h[2] for h in hits if h[1] < 0)
    f["phi_asymmetry"] = _div(high - low, high + low)
    f["centroid_distance"] = math.hypot(m_eta, m_phi)
    strong = [h for h in hits if h[2] > 0.5]
    f["ieta_extent"] = float(max(h[0] for h in strong) - min(h[0] for h in strong) + 1) if strong else NAN
    f["iphi_extent"] = float(max(h[1] for h in strong) - min(h[1] for h in strong) + 1) if strong else NAN
    return f


def _profiles(hits, e_sum) -> dict[str, float]:
    def road(side: int, near: int, far: int) -> float:
        return sum(h[2] for h in hits if abs(h[0]) <= 1 and h[1] * side > 0 and near <= abs(h[1]) <= far)

    high_is_major = road(+1, 1, 99) >= road(-1, 1, 99)
    major, minor = (+1, -1) if high_is_major else (-1, +1)
    f = {}
    for label, near, far in (("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4", 4, 4), ("far", 5, 99)):
        f[f"iphi_major_side_{label}"] = _div(road(major, near, far), e_sum)
        f[f"iphi_minor_side_{label}"] = _div(road(minor, near, far), e_sum)
    for k in (1, 2):
        f[f"ieta_sides_{k}"] = _div(sum(h[2] for h in hits if abs(h[1]) <= 1 and abs(h[0]) == k), e_sum)
    return f


def _clusters(energy, hits) -> dict[str, float]:
    f: dict[str, float] = {"n_hits": float(len(hits))}
    for name, threshold in (("n_above_0p1", 0.1), ("n_above_0p5", 0.5), ("n_above_1", 1.0), ("n_above_5", 5.0)):
        f[name] = float(sum(h[2] > threshold for h in hits))

    def at(i: int, j: int) -> float:
        return float(energy[i, j]) if 0 <= i < 32 and 0 <= j < 32 else 0.0

    peaks = []
    for i in range(32):
        for j in range(32):
            c = energy[i, j]
            if c <= 1.0:
                continue
            earlier = [at(i - 1, j - 1), at(i - 1, j), at(i - 1, j + 1), at(i, j - 1)]
            later = [at(i, j + 1), at(i + 1, j - 1), at(i + 1, j), at(i + 1, j + 1)]
            if all(c > x for x in earlier) and all(c >= x for x in later):
                peaks.append((c, i, j))
    f["n_local_maxima"] = float(len(peaks))
    peaks.sort(key=lambda p: (-p[0], p[1], p[2]))
    if len(peaks) >= 2:
        (_, i1, j1), (c2, i2, j2) = peaks[0], peaks[1]
        f["e_2nd_local_max"] = float(c2)
        f["e3x3_2nd_local_max"] = sum(at(i2 + a, j2 + b) for a in (-1, 0, 1) for b in (-1, 0, 1))
        f["dieta_2nd_local_max"] = float(abs(i2 - i1))
        f["diphi_2nd_local_max"] = float(abs(j2 - j1))
    else:
        f["e_2nd_local_max"] = f["e3x3_2nd_local_max"] = NAN
        f["dieta_2nd_local_max"] = f["diphi_2nd_local_max"] = NAN
    return f


def _timing(energy, time, hits) -> dict[str, float]:
    seed_lit = energy[SEED_IETA, SEED_IPHI] != 0
    seed_time = float(time[SEED_IETA, SEED_IPHI]) if seed_lit else NAN
    timed = [h for h in hits if h[2] > 1.0]
    weight = sum(h[2] for h in timed)
    mean = sum(h[2] * h[3] for h in timed) / weight if timed else NAN
    flat = energy.ravel()
    ranked = sorted(range(flat.size), key=lambda k: (-flat[k], k))
    second = ranked[1]
    return {
        "seed_time": seed_time,
        "time_mean": mean,
        "time_rms": math.sqrt(sum(h[2] * (h[3] - mean) ** 2 for h in timed) / weight) if timed else NAN,
        "time_2nd_minus_seed": float(time.ravel()[second]) - seed_time if flat[second] > 0 else NAN,
        "time_max_abs": max(abs(h[3]) for h in timed) if timed else NAN,
    }


def _hadronic(energy, hits, e_sum, e_max) -> dict[str, float]:
    def neighbours(i: int, j: int) -> list[float]:
        return [
            float(energy[i + di, j + dj]) if 0 <= i + di < 32 and 0 <= j + dj < 32 else 0.0
            for di in (-1, 0, 1)
            for dj in (-1, 0, 1)
            if (di, dj) != (0, 0)
        ]

    soft = halo = isolated = contrast = 0.0
    for di, dj, en, _ in hits:
        around = neighbours(SEED_IETA + di, SEED_IPHI + dj)
        soft += en if en < 0.5 else 0.0
        halo += en if abs(di) >= 2 else 0.0
        isolated += en if all(k == 0 for k in around) else 0.0
        contrast += abs(en - sum(around) / 8)
    return {
        "mip_like": float(0.1 <= e_max <= 0.6 and e_sum - e_max <= 0.5),
        "e_max_over_e_sum": _div(e_max, e_sum),
        "soft_energy_fraction": _div(soft, e_sum),
        "ieta_halo_fraction": _div(halo, e_sum),
        "isolated_energy_fraction": _div(isolated, e_sum),
        "lateral_contrast": _div(contrast, e_sum),
    }
