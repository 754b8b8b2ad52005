"""The run report a physicist reads: a self-contained ``report.html`` and its ``report.md`` twin.

Both open with the headline: the data used (its name, files and events per class in each split), the best model's
AUC with its DeLong interval and its accuracy, and the ROC curves of all models. A table of contents follows, then
the details in sections a reader can jump to: the per-model summary table, the working points (threshold chosen on
validation, efficiencies on test), the paired model comparisons, the AUC cost of a constrained model (the
trigger-sized one) against the best of its references, the |eta|-binned tables, the overtraining check and
training curves, the feature importances, the input features and the resolved configuration.

Both files are rendered from one list of blocks, so they never disagree; :func:`write_blocks` renders any such
list, so other reports (the three-class run's, :mod:`egid.evaluation.three_class_report`) look the same. The HTML
embeds every PNG as a base64 data URI and its CSS inline (no script, no external resource), so it can be mailed or
archived as one file and opened from disk offline; the Markdown links the PNGs by relative path. Every figure
carries a caption saying what it shows and on which data.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from egid.detector import atomic_path
from egid.evaluation.metrics import validate_metrics

__all__ = (
    "HEADLINE_AUC_ID",
    "Block",
    "Figures",
    "Heading",
    "Paragraph",
    "ReportFigure",
    "Section",
    "Table",
    "best_model",
    "write_blocks",
    "write_report",
)

Section = Literal["headline", "performance", "working_points", "overtraining", "importance", "features"]
"""Where a figure is shown: next to the headline (the ROC curves) or in one of the detail sections."""

HEADLINE_AUC_ID = "headline-auc"
"""HTML id of the element holding the best model's AUC; its ``data-auc`` attribute holds metrics.json's value."""

_TITLES = {
    "performance": "Performance",
    "working_points": "Working points",
    "comparison": "Model comparison",
    "costs": "AUC cost of the constrained models",
    "eta": "Performance in |η| bins",
    "overtraining": "Overtraining check and training curves",
    "importance": "Feature importance",
    "features": "Input features",
    "configuration": "Configuration",
}
"""The detail sections in reading order, with their headings (whose slugs are the anchors)."""
_WORKING_POINTS = (
    "An event is selected as an electron when its score is at least the threshold. Each threshold is the highest "
    "one that keeps the target fraction of electrons (signal efficiency ε_S) on the sample it was chosen on; the "
    "efficiencies ε_S and ε_B (photons passing) and the background rejection 1/ε_B are measured on the test sample."
)
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px;
       margin: 1em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; margin: .3em 0 .6em; font-size: 1.7em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
.headline { display: grid; gap: 0 2em; align-items: start; grid-template-columns: minmax(300px, 1fr) minmax(0, 640px);
            grid-template-rows: auto 1fr; grid-template-areas: "facts roc" "contents roc"; }
.headline .facts { grid-area: facts; }
.headline .lead { grid-area: roc; }
.headline figure { margin-top: 0; }
.headline nav { grid-area: contents; }
@media (max-width: 900px) { .headline { grid-template-columns: 1fr; grid-template-rows: auto;
                                          grid-template-areas: "facts" "roc" "contents"; } }
.best { font-size: 1.2em; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 460px), 1fr)); gap: 1em; }
figure { margin: 1em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #444; margin-top: .3em; }
nav ol { margin: .3em 0 0; }
.table { overflow-x: auto; }
table { border-collapse: collapse; margin: .8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.warning { background: #fff4e5; border-left: 4px solid #f0a020; padding: .5em .8em; }
"""


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report.

    Attributes
    ----------
    name : str
        Stable identifier (the HTML element's id is ``fig-<name>``), e.g. ``"roc"``.
    path : Path
        The PNG file.
    caption : str
        What the figure shows and on which data, e.g. "ROC curves of all models on the test sample of egid
        simulation."
    section : Section
        Where it is shown.
    """

    name: str
    path: Path
    caption: str
    section: Section


@dataclass(frozen=True)
class Heading:
    """A heading; level 2 headings get an HTML id (their GitHub-style anchor) that contents links can target.

    Attributes
    ----------
    level : int
        1 for the report's title, 2 for a section, 3 for a subsection.
    text : str
        The heading, plain text.
    """

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (escaped in the HTML).

    Attributes
    ----------
    text : str
        The paragraph.
    warning : bool
        Shown highlighted as a caveat ("Warning:" in the Markdown).
    """

    text: str
    warning: bool = False


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells; the first column is left-aligned, the others right-aligned (HTML).

    Attributes
    ----------
    header : tuple of str
        The column headings.
    rows : tuple of tuple of str
        One tuple of cells per row, as many as ``header``.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figures:
    """Figures shown side by side (HTML grid) with their captions; their ``section`` is not read here.

    Attributes
    ----------
    items : tuple of ReportFigure
        In display order.
    """

    items: tuple[ReportFigure, ...]


@dataclass(frozen=True)
class _Code:
    text: str


@dataclass(frozen=True)
class _Headline:
    """The opening of the report: the data, the best model's numbers, the headline figures and the contents."""

    model: str
    split: str
    auc: float | None
    auc_ci: tuple[float, float] | None
    accuracy: float | None
    level: int
    threshold: float
    data: str
    events: Table
    notes: tuple[str, ...]
    figures: tuple[ReportFigure, ...]
    contents: tuple[str, ...]
    """The titles of the detail sections."""


Block = Heading | Paragraph | Table | Figures | _Code | _Headline
"""One piece of a report's content; :func:`write_blocks` renders a list of them as HTML and Markdown."""


def write_report(
    run_dir: str | Path,
    *,
    title: str,
    data: str,
    metrics: Mapping[str, Any],
    figures: Sequence[ReportFigure],
    config: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``run_dir/report.html`` and ``run_dir/report.md`` atomically and return their paths (html, md).

    Parameters
    ----------
    run_dir : path
        The run's output folder (created if missing); the Markdown links figures relative to it.
    title : str
        The report's title.
    data : str
        The data used, as the headline states it, e.g. "egid simulation (simulated events) from electron.hdf5,
        photon.hdf5"; the events per class and split are taken from ``metrics``.
    metrics : dict
        The result of :func:`egid.evaluation.metrics.compute_metrics` (validated against its schema here).
    figures : sequence of ReportFigure
        Shown in the given order within their sections (see :func:`egid.evaluation.plots.save_figure`).
    config : mapping
        The resolved configuration of the run, shown as JSON (values JSON cannot hold are shown as strings).
    notes : sequence of str
        Free-form remarks listed in the headline (caveats).

    Raises
    ------
    jsonschema.ValidationError, ValueError
        If ``metrics`` does not follow :data:`egid.evaluation.metrics.METRICS_SCHEMA` or holds no split, or a
        figure is not a ``.png``.
    FileNotFoundError
        If a figure file is missing.
    """
    validate_metrics(metrics)
    not_png = [str(figure.path) for figure in figures if Path(figure.path).suffix.lower() != ".png"]
    if not_png:
        msg = f"Expected PNG figures to embed; got {not_png}."
        raise ValueError(msg)
    return write_blocks(run_dir, title, _blocks(title, data, metrics, figures, config, notes))


def write_blocks(folder: str | Path, title: str, blocks: Sequence[Block]) -> tuple[Path, Path]:
    """Render ``blocks`` as ``folder/report.html`` and ``folder/report.md``, atomically; return their paths (html, md).

    The HTML is rendered first (it reads every figure's PNG), so a missing figure leaves no partial report.

    Parameters
    ----------
    folder : path
        The output folder; the Markdown links figures relative to it.
    title : str
        The HTML page's title (the blocks carry the visible heading).
    blocks : sequence of Block
        The report's content in reading order (:class:`Heading`, :class:`Paragraph`, :class:`Table`,
        :class:`Figures`).

    Raises
    ------
    FileNotFoundError
        If a figure file is missing.
    """
    root = Path(folder)
    html_path, md_path = root / "report.html", root / "report.md"
    html_text = _to_html(title, blocks)
    with atomic_path(md_path) as tmp:
        tmp.write_text(_to_markdown(blocks, root), encoding="utf-8")
    with atomic_path(html_path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    return html_path, md_path


def best_model(metrics: Mapping[str, Any]) -> tuple[str, str]:
    """The model the headline shows and the split it is judged on: ``(model, split)``.

    The split is ``test`` when present, else the last split of ``metrics``; the model has the highest AUC there
    (an undefined AUC ranks last; the first model in display order wins a tie).

    Raises
    ------
    ValueError
        If ``metrics`` holds no split.
    """
    if not metrics["splits"]:
        msg = "Expected metrics of at least one split (train, validation or test); found none."
        raise ValueError(msg)
    split = "test" if "test" in metrics["splits"] else str(metrics["splits"][-1])
    model = max(metrics["models"], key=lambda name: _auc_rank(metrics["results"][name]["splits"][split]["auc"]))
    return str(model), split


def _auc_rank(auc: float | None) -> float:
    return -1.0 if auc is None else auc


def _blocks(
    title: str,
    data: str,
    metrics: Mapping[str, Any],
    figures: Sequence[ReportFigure],
    config: Mapping[str, Any],
    notes: Sequence[str],
) -> list[Block]:
    """The report's content, in reading order: title, headline, contents, then the detail sections."""
    shown: dict[str, list[ReportFigure]] = {}
    for figure in figures:
        shown.setdefault(figure.section, []).append(figure)
    sections: dict[str, list[Block]] = {
        "performance": [_summary_table(metrics)],
        "working_points": _working_point_blocks(metrics),
        "comparison": _comparison_blocks(metrics),
        "costs": _cost_blocks(metrics),
        "eta": _eta_blocks(metrics),
        "overtraining": [],
        "importance": [],
        "features": [],
        "configuration": [_Code(json.dumps(config, indent=2, default=str))],
    }
    for section, items in shown.items():
        if section != "headline":
            sections[section].append(Figures(tuple(items)))
    kept = [key for key in _TITLES if sections[key]]
    blocks: list[Block] = [
        Heading(1, title),
        _headline(data, metrics, tuple(shown.get("headline", ())), notes, tuple(_TITLES[key] for key in kept)),
    ]
    for key in kept:
        blocks += [Heading(2, _TITLES[key]), *sections[key]]
    return blocks


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _headline(
    data: str,
    metrics: Mapping[str, Any],
    figures: tuple[ReportFigure, ...],
    notes: Sequence[str],
    contents: tuple[str, ...],
) -> _Headline:
    model, split = best_model(metrics)
    sample = metrics["results"][model]["splits"][split]
    counts = {name: metrics["results"][model]["splits"][name] for name in metrics["splits"]}
    total = sum(part["n_events"] for part in counts.values())
    rows = tuple(
        (
            name,
            str(part["n_signal"]),
            str(part["n_background"]),
            str(part["n_events"]),
            f"{100 * part['n_events'] / total:.0f}%" if total else "n/a",
        )
        for name, part in counts.items()
    )
    ci = sample["auc_ci"]
    return _Headline(
        model=model,
        split=split,
        auc=sample["auc"],
        auc_ci=None if ci is None else (ci[0], ci[1]),
        accuracy=sample["accuracy"],
        level=round(100 * metrics["confidence_level"]),
        threshold=metrics["accuracy_threshold"],
        data=data,
        events=Table(("Split", "Electrons", "Photons", "Events", "Share"), rows),
        notes=tuple(notes),
        figures=figures,
        contents=contents,
    )


def _headline_sentence(headline: _Headline) -> tuple[str, str]:
    """The best model's result in words, as the text before and after its AUC (which each format marks up)."""
    interval = ""
    if headline.auc_ci is not None:
        low, high = headline.auc_ci
        interval = f" ({headline.level}% CI [{low:.4f}, {high:.4f}], DeLong)"
    return (
        f"Best model on the {headline.split} sample: {headline.model}, AUC ",
        f"{interval}, accuracy {_fmt(headline.accuracy)} (an event counts as an electron when its score is at "
        f"least {headline.threshold}).",
    )


def _summary_table(metrics: Mapping[str, Any]) -> Table:
    splits = metrics["splits"]
    level = round(100 * metrics["confidence_level"])
    header = ("Model", *(f"AUC {split} ({level}% CI)" for split in splits), *(f"Accuracy {split}" for split in splits))
    rows = []
    for model in metrics["models"]:
        samples = metrics["results"][model]["splits"]
        aucs = []
        for split in splits:
            ci = samples[split]["auc_ci"]
            aucs.append(_fmt(samples[split]["auc"]) + ("" if ci is None else f" [{ci[0]:.4f}, {ci[1]:.4f}]"))
        rows.append((model, *aucs, *(_fmt(samples[split]["accuracy"]) for split in splits)))
    return Table(header, tuple(rows))


def _working_point_blocks(metrics: Mapping[str, Any]) -> list[Block]:
    if not any(metrics["results"][model]["working_points"] for model in metrics["models"]):
        return []
    blocks: list[Block] = [Paragraph(_WORKING_POINTS)]
    if metrics["thresholds_from_test"]:
        blocks.append(
            Paragraph(
                "Some thresholds were chosen on the test sample itself (no validation sample and no saved "
                "thresholds): their test efficiencies are optimistic.",
                warning=True,
            )
        )
    header = ("Model", "Target ε_S", "Threshold", "Chosen on", "ε_S (test)", "ε_B (test)", "Rejection 1/ε_B")
    rows = []
    for model in metrics["models"]:
        for point in metrics["results"][model]["working_points"]:
            rejection = _fmt(point["background_rejection"], 1)
            if point["background_efficiency"] == 0.0:
                rejection = f"> {point['n_background']} (no photon passes)"
            rows.append(
                (
                    model,
                    _fmt(point["target_signal_efficiency"], 2),
                    _fmt(point["threshold"]),
                    point["threshold_source"],
                    _fmt(point["signal_efficiency"]),
                    _fmt(point["background_efficiency"]),
                    rejection,
                )
            )
    return [*blocks, Table(header, tuple(rows))]


def _comparison_blocks(metrics: Mapping[str, Any]) -> list[Block]:
    if not metrics["comparisons"]:
        return []
    rows = tuple(
        (
            item["model_a"],
            item["model_b"],
            f"{item['auc_difference']:+.4f}",
            _fmt(item["std"]),
            _fmt_p(item["p_value"]),
        )
        for item in metrics["comparisons"]
    )
    split = metrics["comparisons"][0]["split"]
    return [
        Paragraph(
            f"Paired DeLong tests on the {split} sample: the difference of two models' AUCs on the same events, "
            "its standard deviation and the two-sided p-value of no difference."
        ),
        Table(("Model A", "Model B", "AUC A - AUC B", "Std", "p-value"), rows),
    ]


def _cost_blocks(metrics: Mapping[str, Any]) -> list[Block]:
    if not metrics["costs"]:
        return []
    rows = tuple(
        (
            cost["model"],
            f"{cost['reference']} (best of {', '.join(cost['candidates'])})",
            _fmt(cost["auc"]),
            _fmt(cost["reference_auc"]),
            f"{cost['auc_cost']:+.4f}",
            _fmt(cost["std"]),
            _fmt_p(cost["p_value"]),
        )
        for cost in metrics["costs"]
    )
    split = metrics["costs"][0]["split"]
    return [
        Paragraph(
            f"Each constrained model against the best of its reference models on the same {split} events (the "
            "reference with the highest AUC there): the cost is the reference's AUC minus the model's, with the "
            "standard deviation and two-sided p-value of the paired DeLong test."
        ),
        Table(("Model", "Reference", "AUC", "Reference AUC", "Cost", "Std", "p-value"), rows),
    ]


def _eta_blocks(metrics: Mapping[str, Any]) -> list[Block]:
    """AUC and accuracy in |η| bins on the test sample (or the last split present), when eta was given."""
    if metrics["eta_bins"] is None or not metrics["splits"]:
        return []
    split = "test" if "test" in metrics["splits"] else metrics["splits"][-1]
    first = metrics["results"][metrics["models"][0]]["eta_bins"][split]
    columns = tuple(
        f"{b['abs_eta_low']:g} ≤ |η| {'≤' if i == len(first) - 1 else '<'} {b['abs_eta_high']:g}"
        for i, b in enumerate(first)
    )
    events = ("events (e / γ)", *(f"{b['n_signal']} / {b['n_background']}" for b in first))
    auc_rows = [events]
    accuracy_rows = [events]
    for model in metrics["models"]:
        bins = metrics["results"][model]["eta_bins"][split]
        auc_rows.append(
            (model, *(_fmt(b["auc"]) + ("" if b["auc_std"] is None else f" ± {b['auc_std']:.4f}") for b in bins))
        )
        accuracy_rows.append((model, *(_fmt(b["accuracy"]) for b in bins)))
    return [
        Paragraph(f"AUC with its DeLong standard deviation on the {split} sample:"),
        Table(("Model", *columns), tuple(auc_rows)),
        Paragraph(f"Accuracy at score {metrics['accuracy_threshold']} on the {split} sample:"),
        Table(("Model", *columns), tuple(accuracy_rows)),
    ]


def _anchor(heading: str) -> str:
    """The anchor of a heading as GitHub derives it, so the Markdown's contents links work there too.

    Lower case, every character other than a letter, digit, ``_``, ``-`` or space dropped, spaces turned
    into ``-``; the HTML uses the same ids.
    """
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _md_table(table: Table) -> str:
    cells = [table.header, tuple("---" for _ in table.header), *table.rows]
    return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells)


def _md_figures(figures: Sequence[ReportFigure], run_dir: Path) -> str:
    parts = []
    for figure in figures:
        link = Path(os.path.relpath(figure.path, run_dir)).as_posix()
        target = f"<{link}>" if " " in link else link
        parts.append(f"![{figure.name}]({target})\n\n*{figure.caption}*")
    return "\n\n".join(parts)


def _to_markdown(blocks: Sequence[Block], run_dir: Path) -> str:
    lines: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                lines.append("#" * level + " " + text)
            case _Headline() as headline:
                before, after = _headline_sentence(headline)
                lines += [f"Data: {headline.data}.", _md_table(headline.events)]
                lines.append(f"{before}**{_fmt(headline.auc)}**{after}")
                if headline.notes:
                    lines.append("\n".join(f"- {note}" for note in headline.notes))
                if headline.figures:
                    lines.append(_md_figures(headline.figures, run_dir))
                lines.append("Contents: " + " · ".join(f"[{title}](#{_anchor(title)})" for title in headline.contents))
            case Paragraph(text, warning):
                lines.append(("> **Warning:** " if warning else "") + text)
            case Table() as table:
                lines.append(_md_table(table))
            case Figures(items):
                lines.append(_md_figures(items, run_dir))
            case _Code(text):
                lines.append(f"```json\n{text}\n```")
    return "\n\n".join(lines) + "\n"


def _html_table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(cell)}</th>" for cell in table.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in table.rows)
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _html_figure(figure: ReportFigure) -> str:
    esc = html.escape
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    return (
        f'<figure id="fig-{esc(figure.name)}"><img alt="{esc(figure.caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(figure.caption)}</figcaption></figure>"
    )


def _html_headline(headline: _Headline) -> str:
    esc = html.escape
    full = "" if headline.auc is None else f' data-auc="{headline.auc!r}"'
    auc = f'<strong id="{HEADLINE_AUC_ID}"{full}>{_fmt(headline.auc)}</strong>'
    before, after = _headline_sentence(headline)
    facts = [
        f"<p>Data: {esc(headline.data)}.</p>",
        _html_table(headline.events),
        f'<p class="best">{esc(before)}{auc}{esc(after)}</p>',
    ]
    if headline.notes:
        facts.append("<ul>" + "".join(f"<li>{esc(note)}</li>" for note in headline.notes) + "</ul>")
    figures = '<div class="lead">' + "".join(_html_figure(figure) for figure in headline.figures) + "</div>"
    links = "".join(f'<li><a href="#{esc(_anchor(title))}">{esc(title)}</a></li>' for title in headline.contents)
    contents = f'<nav id="contents" aria-label="Contents"><strong>Contents</strong><ol>{links}</ol></nav>'
    facts_html = "".join(facts)
    return f'<section class="headline" id="headline"><div class="facts">{facts_html}</div>{figures}{contents}</section>'


def _to_html(title: str, blocks: Sequence[Block]) -> str:
    esc = html.escape
    parts: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                anchor = f' id="{esc(_anchor(text))}"' if level == 2 else ""
                parts.append(f"<h{level}{anchor}>{esc(text)}</h{level}>")
            case _Headline() as headline:
                parts.append(_html_headline(headline))
            case Paragraph(text, warning):
                parts.append(f'<p class="warning">{esc(text)}</p>' if warning else f"<p>{esc(text)}</p>")
            case Table() as table:
                parts.append(_html_table(table))
            case Figures(items):
                parts.append('<div class="figures">' + "".join(_html_figure(figure) for figure in items) + "</div>")
            case _Code(text):
                parts.append(f"<pre><code>{esc(text)}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )
