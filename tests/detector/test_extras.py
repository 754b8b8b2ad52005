"""require_extra: a missing optional part is one InputError line naming the extra, the pip line and the system
packages it needs; a complete one passes without importing anything."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import tomllib

from egid.detector.errors import InputError
from egid.detector.extras import EXTRAS, Extra, require_extra

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _without(monkeypatch: pytest.MonkeyPatch, *missing: str) -> None:
    """Make ``importlib.util.find_spec`` report ``missing`` as not installed and every other module as present."""
    present = importlib.util.spec_from_loader("present", loader=None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name in missing else present)


def test_every_extra_is_one_of_the_packages_optional_dependencies() -> None:
    optional = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) == {"deploy", "postgres", "dask"}
    assert set(EXTRAS) <= set(optional)


def test_a_missing_deploy_module_names_the_extra_the_pip_line_and_the_system_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "conifer")
    with pytest.raises(InputError) as caught:
        require_extra("deploy", needed_by="egid deploy")
    assert str(caught.value) == (
        "egid deploy: needs egid's deploy extra (conifer not installed): pip install 'egid[deploy]'; "
        "it also needs g++ and nlohmann-json (Debian/Ubuntu: apt-get install g++ nlohmann-json3-dev)"
    )


def test_every_missing_module_is_named_in_the_extras_order(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "hls4ml", "tl2cgen")
    with pytest.raises(InputError, match=r"^egid deploy: needs egid's deploy extra \(tl2cgen, hls4ml not installed\)"):
        require_extra("deploy", needed_by="egid deploy")


def test_the_postgres_extra_names_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "psycopg2")
    with pytest.raises(InputError) as caught:
        require_extra("postgres", needed_by="--storage postgresql://db/egid")
    message = str(caught.value)
    assert message.startswith("--storage postgresql://db/egid: needs egid's postgres extra (psycopg2 not installed)")
    assert "pip install 'egid[postgres]'; it also needs a PostgreSQL server" in message


def test_an_extra_without_system_needs_ends_at_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "distributed")
    with pytest.raises(InputError) as caught:
        require_extra("dask", needed_by="--scheduler")
    assert (
        str(caught.value)
        == "--scheduler: needs egid's dask extra (distributed not installed): pip install 'egid[dask]'"
    )


@pytest.mark.parametrize("name", list(EXTRAS))
def test_the_message_is_one_line_for_every_extra(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    _without(monkeypatch, *EXTRAS[name].modules)
    with pytest.raises(InputError) as caught:
        require_extra(name, needed_by=f"egid {name}")
    message = str(caught.value)
    assert "\n" not in message
    assert f"pip install 'egid[{name}]'" in message
    assert f"({', '.join(EXTRAS[name].modules)} not installed)" in message


@pytest.mark.parametrize("name", list(EXTRAS))
def test_a_complete_extra_passes(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    _without(monkeypatch)
    assert require_extra(name, needed_by="egid") is None


def test_the_check_finds_modules_without_importing_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "egid_probe_extra.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(EXTRAS, "probe", Extra(modules=("egid_probe_extra",)))
    require_extra("probe", needed_by="egid probe")
    assert "egid_probe_extra" not in sys.modules
    monkeypatch.setitem(EXTRAS, "probe", Extra(modules=("egid_probe_extra", "egid_no_such_module_anywhere")))
    with pytest.raises(
        InputError, match=r"\(egid_no_such_module_anywhere not installed\): pip install 'egid\[probe\]'$"
    ):
        require_extra("probe", needed_by="egid probe")
