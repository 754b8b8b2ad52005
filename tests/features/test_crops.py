"""One input rule for the library and the files: build_table and compute_columns refuse what predict refuses.

Each bad input is one ``InputError`` line saying what was expected and what was found; the pixel rule is
:func:`egid.detector.check_images` itself, so its message comes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from egid.detector import InputError, check_images
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, MAX_ABS_TIME_NS, MAX_ENERGY_GEV, TIME, TIME_SCALE_NS
from egid.features import FEATURE_NAMES, build_table
from egid.features.crops import CropBatch, as_crops, checked_crops
from egid.features.registry import compute_columns
from tests.features.toy_images import SYMMETRIC_3X3, crops

GOOD = crops(SYMMETRIC_3X3, SYMMETRIC_3X3, SYMMETRIC_3X3)
"""Three valid crops in file units; the cases below damage a copy."""


def with_pixel(value: float, *, event: int = 1, channel: int = ENERGY, dtype: type = np.float32) -> np.ndarray:
    """GOOD in ``dtype`` with one crystal of event ``event`` set to ``value`` (file units)."""
    x = GOOD.astype(dtype)
    x[event, 3, 5, channel] = value
    return x


SHAPES: dict[str, object] = {
    "one crop without the batch axis": GOOD[0],
    "energy channel only": GOOD[..., 0],
    "channels first": np.moveaxis(GOOD, -1, 1),
    "28x28 crops": np.zeros((2, 28, 28, 2), np.float32),
    "three channels": np.zeros((2, 32, 32, 3), np.float32),
    "a scalar": np.float32(1.0),
    "a flat vector": np.zeros(2048, np.float32),
}
DTYPES: dict[str, object] = {
    "complex": GOOD.astype(np.complex64),
    "bool": GOOD > 0,
    "strings": GOOD.astype(str),
    "objects": GOOD.astype(object),
}
UNREADABLE: dict[str, Callable[[], object]] = {
    "a ragged list": lambda: [GOOD[0].tolist(), GOOD[0, :3].tolist()],
    "a tensor that requires grad": lambda: torch.tensor(GOOD, requires_grad=True),
}
PIXELS: dict[str, np.ndarray] = {
    "NaN energy": with_pixel(np.nan),
    "NaN time": with_pixel(np.nan, channel=TIME),
    "+inf energy": with_pixel(np.inf),
    "-inf time": with_pixel(-np.inf, channel=TIME),
    "negative energy": with_pixel(-0.01),
    "energy above the physical bound": with_pixel(2 * MAX_ENERGY_GEV / ENERGY_SCALE_GEV),
    "time beyond the physical bound": with_pixel(-2 * MAX_ABS_TIME_NS / TIME_SCALE_NS, channel=TIME),
    "finite float64 beyond float32's range": with_pixel(1e300, dtype=np.float64),
    "huge finite float32": with_pixel(1e30),
}
ENTRY_POINTS: dict[str, Callable[[object], object]] = {
    "build_table": build_table,
    "compute_columns": compute_columns,
    "checked_crops": checked_crops,
}


def refused(call: Callable[[object], object], images: object) -> str:
    """The one-line message ``call(images)`` raises as InputError."""
    with pytest.raises(InputError) as info:
        call(images)
    message = str(info.value)
    assert message.startswith("images: ") and "\n" not in message, message
    return message


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_a_wrong_shape_names_the_expected_and_the_found_shape(entry: str, case: str) -> None:
    images = np.asarray(SHAPES[case])
    message = refused(ENTRY_POINTS[entry], images)
    assert f"expected shape (N, 32, 32, 2), got {images.shape}" in message


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(DTYPES))
def test_arrays_of_anything_but_real_numbers_are_refused(entry: str, case: str) -> None:
    images = np.asarray(DTYPES[case])
    assert f"expected real numbers (float32 crops), got dtype {images.dtype}" in refused(ENTRY_POINTS[entry], images)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_inputs_that_are_not_arrays_of_crops_are_refused(entry: str, case: str) -> None:
    message = refused(ENTRY_POINTS[entry], UNREADABLE[case]())
    assert "detach()" in message or "cannot be read as an array" in message


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(PIXELS))
def test_the_pixel_rule_is_check_images_and_names_the_first_bad_crop(entry: str, case: str) -> None:
    images = PIXELS[case]
    with pytest.raises(InputError) as expected:
        check_images(images, name="images")
    assert refused(ENTRY_POINTS[entry], images) == str(expected.value)
    assert "(first at index 1)" in str(expected.value)


def test_shape_errors_of_the_lower_layers_are_input_errors_too() -> None:
    for call in (as_crops, CropBatch):
        refused(call, GOOD[0])


def test_valid_crops_of_any_real_dtype_and_layout_give_the_same_table() -> None:
    expected = build_table(GOOD)
    for images in (np.repeat(GOOD, 2, axis=0)[::2], torch.tensor(GOOD), GOOD.tolist()):
        np.testing.assert_array_equal(build_table(images), expected)
    np.testing.assert_allclose(build_table(GOOD.astype(np.float64)), expected)
    lit = (GOOD > 0).astype(np.int16)  # integer crops are real numbers too (1 = 50 GeV)
    np.testing.assert_array_equal(build_table(lit), build_table(lit.astype(np.float32)))


def test_no_crops_give_an_empty_table() -> None:
    assert build_table(np.zeros((0, 32, 32, 2), np.float64)).shape == (0, len(FEATURE_NAMES))


def test_checked_crops_refuses_no_crops_only_when_asked() -> None:

    empty = np.zeros((0, 32, 32, 2), np.float32)
    assert checked_crops(empty).shape == (0, 32, 32, 2)
    with pytest.raises(InputError, match=r"^batch: holds no crops, expected an array of shape \(N, 32, 32, 2\)"):
        checked_crops(empty, name="batch", allow_empty=False)
