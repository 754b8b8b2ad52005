"""The registry's public names are pinned: changing them is a deliberate act that shows up here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib import mathtext

from egid import features
from egid.features import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HADRONIC_FEATURES,
    REGISTRY,
    TABLE_DTYPE,
    THREE_CLASS_FEATURES,
    Feature,
    build_table,
    feature_set_version,
    get_feature,
)
from egid.features.crops import CropBatch
from tests.features.toy_images import SYMMETRIC_3X3, crops

PINNED_NAMES = (
    "e_sum",
    "e_seed",
    "e_max",
    "seed_is_max",
    "e_max_dieta",
    "e_max_diphi",
    "e_2nd",
    "e_2nd_dieta",
    "e_2nd_diphi",
    "e2x2",
    "e3x3",
    "e5x5",
    "e1x3_ieta",
    "e1x3_iphi",
    "e1x5_ieta",
    "e1x5_iphi",
    "e2x5_max",
    "e_left",
    "e_right",
    "e_top",
    "e_bottom",
    "e_outside_5x5",
    "e_iphi_road_outside_5x5",
    "e_ieta_road_outside_5x5",
    "r9",
    "e_max_over_e5x5",
    "e_2nd_over_e_max",
    "s4",
    "e1x5_iphi_over_e5x5",
    "e1x5_ieta_over_e5x5",
    "e2x5_max_over_e5x5",
    "e5x5_over_e_sum",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "sigma_ietaiphi",
    "eta_width",
    "phi_width",
    "axis_major",
    "axis_minor",
    "elongation",
    "phi_asymmetry",
    "phi_skewness",
    "phi_kurtosis",
    "centroid_distance",
    "ieta_extent",
    "iphi_extent",
    "iphi_major_side_1",
    "iphi_minor_side_1",
    "iphi_major_side_2",
    "iphi_minor_side_2",
    "iphi_major_side_3",
    "iphi_minor_side_3",
    "iphi_major_side_4",
    "iphi_minor_side_4",
    "iphi_major_side_far",
    "iphi_minor_side_far",
    "ieta_sides_1",
    "ieta_sides_2",
    "n_hits",
    "n_above_0p1",
    "n_above_0p5",
    "n_above_1",
    "n_above_5",
    "n_local_maxima",
    "e_2nd_local_max",
    "e3x3_2nd_local_max",
    "dieta_2nd_local_max",
    "diphi_2nd_local_max",
    "seed_time",
    "time_mean",
    "time_rms",
    "time_2nd_minus_seed",
    "time_max_abs",
)
PINNED_HADRONIC = (
    "mip_like",
    "e_max_over_e_sum",
    "soft_energy_fraction",
    "ieta_halo_fraction",
    "isolated_energy_fraction",
    "lateral_contrast",
)
#: Names that other packages code against (the project's contract).
CONTRACT = (
    "e_sum",
    "e_max",
    "e_2nd",
    "e2x2",
    "e3x3",
    "e5x5",
    "r9",
    "s4",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "sigma_ietaiphi",
    "eta_width",
    "phi_width",
    "n_above_0p1",
    "n_above_0p5",
    "n_above_1",
    "n_above_5",
    "seed_is_max",
    "seed_time",
)
UNITS = {"GeV", "ns", "crystals", "count", "flag", "dimensionless"}


def test_feature_names_are_pinned() -> None:
    assert FEATURE_NAMES == PINNED_NAMES
    assert set(CONTRACT) <= set(FEATURE_NAMES)
    assert isinstance(FEATURE_SET_VERSION, str) and FEATURE_SET_VERSION


def test_the_three_class_set_is_the_egamma_set_then_the_hadronic_features() -> None:
    assert HADRONIC_FEATURES == PINNED_HADRONIC
    assert THREE_CLASS_FEATURES == PINNED_NAMES + PINNED_HADRONIC
    assert tuple(REGISTRY) == THREE_CLASS_FEATURES


def test_each_feature_set_has_its_own_version_and_the_egamma_one_is_unchanged() -> None:
    assert feature_set_version() == feature_set_version(FEATURE_NAMES) == FEATURE_SET_VERSION
    versions = {feature_set_version(names) for names in (FEATURE_NAMES, THREE_CLASS_FEATURES, ["r9", "e_sum"])}
    assert len(versions) == 3
    assert feature_set_version(["r9", "e_sum"]) != feature_set_version(["e_sum", "r9"])
    with pytest.raises(KeyError, match="unknown feature 'nope'"):
        feature_set_version(["nope"])


def test_public_api_is_pinned() -> None:
    assert sorted(features.__all__) == sorted(
        [
            "FEATURE_NAMES",
            "FEATURE_SET_VERSION",
            "HADRONIC_FEATURES",
            "REGISTRY",
            "TABLE_DTYPE",
            "THREE_CLASS_FEATURES",
            "WINDOW_FEATURES",
            "Feature",
            "build_table",
            "cached_table",
            "extract_table",
            "feature_set_version",
            "get_feature",
        ]
    )


def test_every_feature_is_documented() -> None:
    for name, feature in REGISTRY.items():
        assert feature.name == name
        assert feature.unit in UNITS, name
        assert feature.formula and feature.description, name
        assert name in feature.doc and feature.unit in feature.doc


def braces_balance(latex: str) -> bool:
    """Whether every unescaped ``{`` of ``latex`` is closed, in order (``\\{`` and ``\\}`` are set braces)."""
    depth = 0
    for k, char in enumerate(latex):
        if latex[k - 1 : k] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_braces_balance_sees_unclosed_stray_and_escaped_braces() -> None:
    assert braces_balance(r"\frac{a}{b} + \{k\}")
    assert not braces_balance(r"\frac{a}{b")
    assert not braces_balance(r"a}{b")
    assert not braces_balance(r"\{a}")


@pytest.mark.parametrize("name", tuple(REGISTRY))
def test_every_feature_has_a_latex_formula_that_renders(name: str) -> None:
    """Rendered with matplotlib's mathtext, a strict subset of what the docs' MathJax renders."""
    feature = get_feature(name)
    assert feature.unit in UNITS
    assert feature.latex.strip(), "no LaTeX formula"
    assert braces_balance(feature.latex), feature.latex
    assert "$" not in feature.latex and "\n" not in feature.latex
    mathtext.math_to_image(f"${feature.latex}$", io.BytesIO(), format="png")


def test_each_family_computes_exactly_its_registered_features() -> None:
    batch = CropBatch(crops(SYMMETRIC_3X3))
    families = {f.compute for f in REGISTRY.values()}
    for family in families:
        registered = {f.name for f in REGISTRY.values() if f.compute is family}
        assert set(family(batch)) == registered, family.__module__


def test_unknown_name_lists_the_valid_ones() -> None:
    assert get_feature("r9").unit == "dimensionless"
    with pytest.raises(KeyError, match=r"unknown feature 'R9'; valid names are: e_sum, e_seed, .*time_max_abs, mip"):
        get_feature("R9")
    with pytest.raises(KeyError, match="unknown feature 'nope'"):
        build_table(crops(SYMMETRIC_3X3), names=["r9", "nope"])


def test_feature_records_are_frozen() -> None:
    with pytest.raises(AttributeError):
        get_feature("r9").unit = "GeV"
    assert isinstance(get_feature("r9"), Feature)


def test_build_table_columns_dtype_and_order() -> None:
    images = crops(SYMMETRIC_3X3, {}, {(0, 0): 1.0})
    table = build_table(images)
    assert tuple(table.columns) == FEATURE_NAMES and len(table) == 3
    assert set(table.dtypes) == {np.dtype(TABLE_DTYPE)}
    subset = build_table(images, names=["s4", "e_sum"])
    assert list(subset.columns) == ["s4", "e_sum"]
    np.testing.assert_array_equal(subset["s4"], table["s4"])


def test_build_table_of_no_images_is_empty_with_all_columns() -> None:
    table = build_table(np.zeros((0, 32, 32, 2), np.float32))
    assert tuple(table.columns) == FEATURE_NAMES and len(table) == 0


def test_build_table_accepts_float64_and_strided_input() -> None:
    images = crops(SYMMETRIC_3X3, {(0, 1): 3.0})
    expected = build_table(images)
    np.testing.assert_allclose(build_table(images.astype(np.float64)), expected)
    doubled = np.repeat(images, 2, axis=0)[::2]
    np.testing.assert_allclose(build_table(doubled), expected)
