"""egid.pipelines.bundle, the deprecated home of the loaded-model object: each moved name still resolves, to the very
object of egid.models.bundle, with a DeprecationWarning pointing at the caller's line; any other name is an
AttributeError."""

from __future__ import annotations

import importlib
import re
import warnings

import pytest

import egid.models.bundle

MOVED = {
    "ModelBundle": ("egid.models.bundle", "ModelBundle"),
    "model_sets": ("egid.models.bundle", "model_sets"),
    "model_dir_of": ("egid.models.bundle", "model_dir_of"),
    "export_models": ("egid.models.bundle", "save_model_sets"),
    "FEATURES_ONLY": ("egid.models.catalogue", "FEATURES_ONLY"),
    "STACKED": ("egid.models.catalogue", "STACKED"),
    "TRIGGER": ("egid.models.catalogue", "TRIGGER"),
}
"""Every public name of egid 0.1's egid.pipelines.bundle and where it lives now."""


@pytest.mark.parametrize("name", sorted(MOVED))
def test_a_moved_name_is_the_new_object_with_a_deprecation_warning(name: str) -> None:
    old = importlib.import_module("egid.pipelines.bundle")
    module, new = MOVED[name]
    message = "^" + re.escape(
        f"egid.pipelines.bundle.{name} moved to {module}.{new} (egid 0.2); the old path goes in 0.3"
    )
    with pytest.warns(DeprecationWarning, match=message) as caught:
        value = getattr(old, name)
    assert value is getattr(importlib.import_module(module), new)
    assert len(caught) == 1 and caught[0].filename == __file__  # the warning points at the caller


def test_from_import_warns_at_the_importing_line() -> None:
    with pytest.warns(DeprecationWarning, match="ModelBundle moved to egid.models.bundle.ModelBundle") as caught:
        from egid.pipelines.bundle import ModelBundle
    assert ModelBundle is egid.models.bundle.ModelBundle
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("name", ["Bundle", "no_such_name"])
def test_any_other_name_is_an_attribute_error_without_a_warning(name: str) -> None:
    old = importlib.import_module("egid.pipelines.bundle")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(AttributeError, match=rf"^module 'egid\.pipelines\.bundle' has no attribute '{name}'$"):
            getattr(old, name)
    assert caught == []
    assert not hasattr(old, name)
