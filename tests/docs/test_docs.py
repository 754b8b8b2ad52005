"""The documentation site: its generated pages hold what the code holds, its prose names real options, it builds.

``docs/_ext/egid_docs.py`` generates the command-line reference from the argument parsers and the feature
reference from the feature registry; the tests below check the generated text against the same objects, so a
feature or an option cannot go missing from the docs. The full Sphinx build (``-W``, offline) is marked slow.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from egid import features
from egid.pipelines.commands import COMMANDS
from egid.pipelines.run import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _load_extension():
    spec = importlib.util.spec_from_file_location("egid_docs", DOCS / "_ext" / "egid_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


egid_docs = _load_extension()


def _command_parser(name: str) -> argparse.ArgumentParser:
    for action in build_parser(name)._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError("egid's parser has no subcommands")


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


@pytest.fixture(scope="module")
def feature_page() -> str:
    return egid_docs.features_rst()


@pytest.fixture(scope="module")
def cli_page() -> str:
    return egid_docs.cli_rst()


@pytest.mark.parametrize("name", list(features.REGISTRY))
def test_every_feature_is_documented_with_its_formula(feature_page: str, name: str) -> None:
    feature = features.REGISTRY[name]
    section = feature_page.split(f".. _feature-{name}:\n", 1)
    assert len(section) == 2, f"feature {name!r} has no entry in the generated feature reference"
    entry = section[1].split("\n.. _feature-", 1)[0].split("\n.. _family-", 1)[0]
    assert f"``{name}``" in entry
    for line in feature.formula.strip().splitlines():
        assert f"   {line}" in entry, f"{name}: formula line {line!r} missing"
    latex = getattr(feature, "latex", "")
    if latex and latex.strip():
        assert ".. math::" in entry, f"{name}: has LaTeX but no math block"
        for line in latex.strip().splitlines():
            assert f"   {line}" in entry, f"{name}: LaTeX line {line!r} missing"
    assert egid_docs.rst_escape(feature.unit) in entry
    module = feature.compute.__module__
    assert f":mod:`{module}`" in entry


def test_features_appear_once_in_table_order(feature_page: str) -> None:
    found = re.findall(r"^\.\. _feature-(\S+):$", feature_page, flags=re.MULTILINE)
    assert found == list(features.REGISTRY)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_and_option_is_in_the_cli_reference(cli_page: str, name: str) -> None:
    assert f".. _cli-{name}:" in cli_page, f"egid {name} has no section in the generated CLI reference"
    section = cli_page.split(f".. _cli-{name}:\n", 1)[1].split("\n.. _cli-", 1)[0]
    assert f"egid {name}\n" in section
    missing = sorted(
        option for option in _option_strings(_command_parser(name)) - {"-h", "--help"} if f"``{option}" not in section
    )
    assert not missing, f"egid {name}: options missing from the CLI reference: {missing}"
    vocabulary = pytest.importorskip("egid.pipelines.vocabulary")
    for old, new in vocabulary.RENAMED_OPTIONS.get(name, {}).items():
        assert f"* ``{old}``: use ``{new}``" in section, f"egid {name}: deprecated {old} not listed"


def test_every_deprecated_spelling_is_on_the_changes_page() -> None:
    vocabulary = pytest.importorskip("egid.pipelines.vocabulary")
    table = egid_docs.renames_rst()
    for old, new in vocabulary.RENAMED_COMMANDS.items():
        assert f"   * - ``egid {old}``\n     - ``egid {new}``" in table
    for command, renames in vocabulary.RENAMED_OPTIONS.items():
        for old, new in renames.items():
            assert f"   * - ``{old}``\n     - ``{new}``\n     - :ref:`egid {command} <cli-{command}>`" in table


def test_escaped_text_renders_as_written() -> None:
    docutils_core = pytest.importorskip("docutils.core")
    text = "|eta| < 1.2, E_i * w_i, `q`, [1], x_ <y>: **not bold**"
    html = docutils_core.publish_parts(egid_docs.rst_escape(text), writer_name="html")["body"]
    assert "problematic" not in html and "system-message" not in html
    assert "|eta| &lt; 1.2, E_i * w_i, `q`, [1], x_ &lt;y&gt;: **not bold**" in html


_COMMAND_LINE = re.compile(r"^\s*(?:\$\s*)?egid\s+([a-z]+)\b(.*)$")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _documented_invocations() -> list[tuple[str, str, str]]:
    """(page, command, option) for every ``egid COMMAND ... --option`` line in the prose pages' code blocks."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS).as_posix()
        if relative.startswith("_"):
            continue
        in_code = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            match = _COMMAND_LINE.match(line) if in_code else None
            if match and match.group(1) in COMMANDS:
                command, rest = match.groups()
                rest = rest.split("#", 1)[0]
                found += [(relative, command, option) for option in _OPTION.findall(rest)]
    return found


def test_prose_pages_name_only_real_options() -> None:
    invocations = _documented_invocations()
    assert invocations, "found no egid command lines in the docs' code blocks"
    options = {name: _option_strings(_command_parser(name)) for name in {command for _, command, _ in invocations}}
    unknown = sorted(
        {(page, f"egid {command} {option}") for page, command, option in invocations if option not in options[command]}
    )
    assert not unknown, f"the docs name options the parsers do not have: {unknown}"


_DOTTED = re.compile(r"`(egid(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\([^`]*\))?`")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attribute in parts[i:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


_HISTORY = "changes.md"
"""The page that names the old homes of moved objects on purpose: what no longer exists is its subject."""


def test_prose_pages_name_only_real_python_names() -> None:
    named = set()
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS).as_posix()
        if relative.startswith("_") or relative == _HISTORY:
            continue
        text = page.read_text(encoding="utf-8")
        for dotted in _DOTTED.findall(text):
            # Only names inside egid's subpackages (``egid.feature_names`` is an ONNX metadata key, not Python).
            second = dotted.split(".")[1]
            if second == "load" or importlib.util.find_spec(f"egid.{second}") is not None:
                named.add((relative, dotted))
    assert named, "found no egid names in the docs"
    broken = sorted((page, dotted) for page, dotted in named if not _resolves(dotted))
    assert not broken, f"the docs name egid objects that do not exist: {broken}"


@pytest.mark.slow
def test_site_builds_offline_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (out / "features.html").read_text(encoding="utf-8")
    for name in features.REGISTRY:
        assert f'id="feature-{name.replace("_", "-")}"' in page, f"{name} missing from the built feature reference"
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax is not served from the build"
    assert (out / "walkthrough.html").is_file()
    external = set()
    for html in out.rglob("*.html"):
        external |= set(
            re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html.read_text("utf-8"))
        )
    assert not external, f"pages load resources from the network: {sorted(external)[:5]}"
