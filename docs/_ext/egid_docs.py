"""Sphinx extension of egid's documentation: pages generated from the code at build time, so they cannot drift.

Directives
----------
``egid-cli``
    The command-line reference: for every entry of :data:`egid.pipelines.commands.COMMANDS`, the usage, description
    and options of the parser that :func:`egid.pipelines.run.build_parser` builds for it, and the deprecated
    spellings that ``egid.pipelines.vocabulary`` still reads (or that the parser marks as deprecated).
``egid-features``
    The feature reference: every :class:`egid.features.Feature` of :data:`egid.features.REGISTRY`, grouped by the
    family module that computes it, with its formula as maths (``feature.latex`` when the attribute exists and is
    non-empty), its formula as written in the code, unit, physics meaning and module.
``egid-renames``
    The table of deprecated command and option spellings (``egid.pipelines.vocabulary``).
``egid-autoclass``
    ``.. autoclass::`` of the first of several dotted paths that imports (a class that is being moved between
    modules), so the build does not break while both spellings are in flux.

The generators (:func:`cli_rst`, :func:`features_rst`) return reStructuredText and need no Sphinx, so the tests in
``tests/docs/`` check them directly.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import string
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

__all__ = ("cli_rst", "features_rst", "renames_rst", "rst_escape", "setup")

#: Width of the generated usage lines (argparse wraps to the terminal otherwise, which would make builds differ).
USAGE_COLUMNS = 88

_PUNCTUATION = frozenset(string.punctuation)


def rst_escape(text: str) -> str:
    """``text`` as reStructuredText that renders exactly as written (every ASCII punctuation mark escaped).

    Help strings and feature descriptions are plain text: ``|eta|`` would otherwise be a substitution, ``*`` an
    emphasis and ``_`` a link target.
    """
    return "".join("\\" + char if char in _PUNCTUATION else char for char in " ".join(text.split()))


def _literal_block(text: str, language: str = "text") -> list[str]:
    body = [f"   {line}" if line.strip() else "" for line in text.splitlines()]
    return [f".. code-block:: {language}", "", *body, ""]


def _title(text: str, underline: str) -> list[str]:
    return [text, underline * max(len(text), 4), ""]


def _docstring(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


# ----------------------------------------------------------------------------------------------------------------
# The command-line reference
# ----------------------------------------------------------------------------------------------------------------


@contextmanager
def _columns(width: int) -> Iterator[None]:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    msg = "egid's parser has no subcommands"
    raise RuntimeError(msg)


def _deprecated_strings(action: argparse.Action) -> tuple[bool, set[str]]:
    """Whether the whole option is deprecated, and which of its spellings are (however the parser marks them).

    Recognised: ``deprecated=True`` (argparse's own marker since Python 3.13) or a collection of option strings in
    ``deprecated`` / ``deprecated_options`` / ``deprecated_aliases`` / ``aliases``, and help text saying
    "deprecated".
    """
    whole = False
    spellings: set[str] = set()
    for attribute in ("deprecated", "deprecated_options", "deprecated_aliases", "aliases", "old_spellings"):
        value = getattr(action, attribute, None)
        if isinstance(value, bool):
            whole = whole or value
        elif isinstance(value, str):
            spellings.add(value)
        elif isinstance(value, Iterable):
            spellings.update(str(item) for item in value)
    help_text = action.help if isinstance(action.help, str) else ""
    if help_text != argparse.SUPPRESS and "deprecated" in help_text.lower() and not spellings:
        whole = True
    return whole, spellings & set(action.option_strings)


def _expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    formatter = parser._get_formatter()
    try:
        return formatter._expand_help(action)
    except (KeyError, TypeError, ValueError):
        return action.help


def _metavar(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    formatter = parser._get_formatter()
    default = action.dest.upper() if action.option_strings else action.dest
    return formatter._format_args(action, default)


def _option_lines(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    whole, old = _deprecated_strings(action)
    metavar = _metavar(parser, action)
    names = action.option_strings or [action.dest]
    spelled = []
    for name in names:
        term = f"``{name} {metavar}``" if metavar and action.option_strings else f"``{name}``"
        spelled.append(term + (" (deprecated)" if name in old else ""))
    notes = []
    if action.required:
        notes.append("required")
    if action.help == argparse.SUPPRESS:
        notes.append("not listed by ``--help``")
    if whole:
        notes.append("**deprecated**")
    help_text = _expanded_help(parser, action)
    body = rst_escape(help_text) if help_text else "(no help text)"
    if notes:
        body += " [" + "; ".join(notes) + "]"
    return [", ".join(spelled), f"   {body}", ""]


def _vocabulary() -> tuple[dict[str, str], dict[str, dict[str, str]], str]:
    """The renamed commands and options of :mod:`egid.pipelines.vocabulary` (empty where it does not exist)."""
    try:
        vocabulary = importlib.import_module("egid.pipelines.vocabulary")
    except ImportError:
        return {}, {}, ""
    return (
        dict(getattr(vocabulary, "RENAMED_COMMANDS", {})),
        {command: dict(renames) for command, renames in getattr(vocabulary, "RENAMED_OPTIONS", {}).items()},
        str(getattr(vocabulary, "REMOVED_IN", "")),
    )


def _removal(removed_in: str) -> str:
    return f"removed in {removed_in}" if removed_in else "to be removed"


def _command_section(
    name: str, summary: str, aliases: list[str], sub: argparse.ArgumentParser, old_options: dict[str, str]
) -> list[str]:
    renamed_commands, _, removed_in = _vocabulary()
    lines = [f".. _cli-{name}:", "", *_title(f"egid {name}", "-")]
    lines += [rst_escape(sub.description or summary), ""]
    old_names = [old for old, new in renamed_commands.items() if new == name]
    if aliases:
        lines += ["Also spelled: " + ", ".join(f"``egid {alias}``" for alias in aliases) + ".", ""]
    if old_names:
        spelled = ", ".join(f"``egid {old}``" for old in old_names)
        lines += [f"Deprecated name: {spelled} (still works, with a warning on stderr; {_removal(removed_in)}).", ""]
    lines += ["Usage:", "", *_literal_block(sub.format_usage().removeprefix("usage: ").rstrip())]
    for group in sub._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        shown = [a for a in actions if a.help != argparse.SUPPRESS]
        hidden = [a for a in actions if a.help == argparse.SUPPRESS]
        if shown:
            lines += [f".. rubric:: {rst_escape(group.title or 'options')}", ""]
            if group.description:
                lines += [rst_escape(group.description), ""]
            for action in shown:
                lines += _option_lines(sub, action)
        if hidden:
            lines += [".. rubric:: Other spellings (not listed by --help)", ""]
            for action in hidden:
                lines += _option_lines(sub, action)
    if old_options:
        lines += [".. rubric:: Deprecated spellings", ""]
        lines += [f"Still read, with a warning on stderr; {_removal(removed_in)}.", ""]
        lines += [f"* ``{old}``: use ``{new}``" for old, new in old_options.items()]
        lines += [""]
    if sub.epilog:
        lines += [rst_escape(sub.epilog), ""]
    return lines


def renames_rst() -> str:
    """The table of deprecated command and option spellings, from :mod:`egid.pipelines.vocabulary`."""
    renamed_commands, renamed_options, removed_in = _vocabulary()
    rows = [(f"``egid {old}``", f"``egid {new}``", "(the command)") for old, new in renamed_commands.items()]
    for command, renames in renamed_options.items():
        rows += [(f"``{old}``", f"``{new}``", f":ref:`egid {command} <cli-{command}>`") for old, new in renames.items()]
    if not rows:
        return "No deprecated spellings in this version.\n"
    lines = [
        f"Each old spelling still works, with one warning line on stderr, and is {_removal(removed_in)}.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - deprecated",
        "     - use instead",
        "     - in",
    ]
    for old, new, where in rows:
        lines += [f"   * - {old}", f"     - {new}", f"     - {where}"]
    return "\n".join(lines) + "\n"


def cli_rst() -> str:
    """The command-line reference as reStructuredText, generated from egid's argument parsers."""
    from egid.pipelines.commands import COMMANDS
    from egid.pipelines.run import build_parser

    lines: list[str] = []
    with _columns(USAGE_COLUMNS):
        top = build_parser(None)
        lines += ["Usage of ``egid`` itself:", "", *_literal_block(top.format_usage().removeprefix("usage: ").rstrip())]
        lines += [".. rubric:: Options of egid itself", ""]
        for action in top._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            lines += _option_lines(top, action)
        lines += [".. rubric:: Subcommands", ""]
        for name, command in COMMANDS.items():
            lines += [f"* :ref:`egid {name} <cli-{name}>`: {rst_escape(command.help)}"]
        lines += [""]
        for name, command in COMMANDS.items():
            choices = _subparsers(build_parser(name)).choices
            sub = choices[name]
            aliases = [alias for alias, parser in choices.items() if parser is sub and alias != name]
            lines += _command_section(name, command.help, aliases, sub, _vocabulary()[1].get(name, {}))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# The feature reference
# ----------------------------------------------------------------------------------------------------------------


def _family(feature: Any) -> str:
    """The module that computes ``feature`` (its family)."""
    family = getattr(feature, "family", None)
    if isinstance(family, str) and family:
        return family if "." in family else f"egid.features.{family}"
    return str(getattr(feature.compute, "__module__", "egid.features"))


def _family_title(module: str) -> str:
    return module.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def features_rst() -> str:
    """The feature reference as reStructuredText, generated from :data:`egid.features.REGISTRY`."""
    from egid import features

    window = set(getattr(features, "WINDOW_FEATURES", ()))
    families: dict[str, list[Any]] = {}
    for feature in features.REGISTRY.values():
        families.setdefault(_family(feature), []).append(feature)

    lines = [
        f"{len(features.REGISTRY)} features in {len(families)} families, feature-set version "
        f"``{features.FEATURE_SET_VERSION}``, in table column order.",
        "",
    ]
    for module, members in families.items():
        lines += [f"* :ref:`{_family_title(module)} <family-{module}>`: " + ", ".join(f"``{f.name}``" for f in members)]
    lines += [""]
    for module, members in families.items():
        lines += [f".. _family-{module}:", "", *_title(_family_title(module), "-")]
        lines += [f".. py:module:: {module}", "", f"Computed by ``{module}``.", ""]
        try:
            doc = _docstring(importlib.import_module(module))
        except ImportError:
            doc = ""
        if doc:
            lines += [*doc.splitlines(), ""]
        for feature in members:
            lines += _feature_lines(feature, module, feature.name in window)
    return "\n".join(lines) + "\n"


def _feature_lines(feature: Any, module: str, in_window: bool) -> list[str]:
    lines = [f".. _feature-{feature.name}:", "", *_title(f"``{feature.name}``", "~")]
    description = feature.description.strip()
    description = description[:1].upper() + description[1:] + ("" if description.endswith(".") else ".")
    lines += [rst_escape(description), ""]
    latex = getattr(feature, "latex", "")
    if isinstance(latex, str) and latex.strip():
        lines += [".. math::", "", *(f"   {line}" for line in latex.strip().splitlines()), ""]
    facts = [f"**Unit:** {rst_escape(feature.unit)}", f"**Module:** :mod:`{module}`"]
    if in_window:
        facts.append("**Trigger window:** computable from the 5x5 crystals around the seed")
    lines += [" · ".join(facts), "", "Formula as written in the code:", ""]
    lines += _literal_block(feature.formula)
    return lines


# ----------------------------------------------------------------------------------------------------------------
# Sphinx glue
# ----------------------------------------------------------------------------------------------------------------


def _generated_directive(generate: Any) -> Any:
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class Generated(SphinxDirective):
        has_content = False

        def run(self) -> list[nodes.Node]:
            # The page depends on the code, not on its source file: rebuild it on every build.
            self.env.egid_generated_docs = getattr(self.env, "egid_generated_docs", set()) | {self.env.docname}
            text = generate()
            source = f"<generated by {generate.__name__}>"
            content = StringList(text.splitlines(), source=source)
            holder = nodes.section()
            holder.document = self.state.document
            nested_parse_with_titles(self.state, content, holder)
            return list(holder.children)

    return Generated


def _autoclass_directive() -> Any:
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class FirstImportableAutoclass(SphinxDirective):
        """``.. egid-autoclass:: a.b.C x.y.C`` documents the first path that imports, with autoclass's options."""

        required_arguments = 1
        optional_arguments = 10
        has_content = False
        option_spec: ClassVar[dict[str, Any]] = {"members": str, "no-index": lambda _: True}

        def run(self) -> list[nodes.Node]:
            for path in self.arguments:
                module, _, name = path.rpartition(".")
                try:
                    getattr(importlib.import_module(module), name)
                except (ImportError, AttributeError):
                    continue
                lines = [f".. autoclass:: {path}"]
                if "members" in self.options:
                    members = self.options["members"]
                    lines.append(f"   :members: {members}" if members else "   :members:")
                if "no-index" in self.options:
                    lines.append("   :no-index:")
                holder = nodes.section()
                holder.document = self.state.document
                self.state.nested_parse(StringList(lines, source=path), self.content_offset, holder)
                return list(holder.children)
            msg = f"none of {', '.join(self.arguments)} imports"
            raise self.error(msg)

    return FirstImportableAutoclass


def _always_outdated(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """The pages generated from the code are re-read on every build (their source file rarely changes)."""
    return sorted(getattr(env, "egid_generated_docs", set()) - removed)


def _merge_generated(app: Any, env: Any, docnames: set[str], other: Any) -> None:
    env.egid_generated_docs = getattr(env, "egid_generated_docs", set()) | getattr(other, "egid_generated_docs", set())


def _purge_generated(app: Any, env: Any, docname: str) -> None:
    getattr(env, "egid_generated_docs", set()).discard(docname)


def setup(app: Any) -> dict[str, Any]:
    """Register the directives (``egid-cli``, ``egid-features``, ``egid-autoclass``)."""
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-merge-info", _merge_generated)
    app.connect("env-purge-doc", _purge_generated)
    app.add_directive("egid-cli", _generated_directive(cli_rst))
    app.add_directive("egid-features", _generated_directive(features_rst))
    app.add_directive("egid-renames", _generated_directive(renames_rst))
    app.add_directive("egid-autoclass", _autoclass_directive())
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
