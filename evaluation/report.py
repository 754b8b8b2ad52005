"""The run report a physicist reads: ``report.md`` and a self-contained ``report.html`` with the same content.

Both are rendered from one list of blocks (headings, paragraphs, tables, figures, code), so the two files never
disagree: the summary table (AUC with its DeLong interval and accuracy per model and split), the working points
(threshold chosen on validation, efficiencies on test), the paired model comparisons, the AUC cost of a constrained
model (the trigger-sized one) against the best of its references, the |eta|-binned tables,
the figures, and the resolved configuration. The HTML embeds every PNG as a base64 data URI and its CSS inline,
so it can be mailed or archived as one file; the Markdown links the PNGs by relative path.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egid.detector import atomic_path
from egid.evaluation.metrics import validate_metrics

__all__ = ("write_report",)

_WORKING_POINTS = (
    "An event is selected as an electron when its score is at least the threshold. Each threshold is the highest "
    "one that keeps the target fraction of electrons (signal efficiency ε_S) on the sample it was chosen on; the "
    "efficiencies ε_S and ε_B (photons passing) and the background rejection 1/ε_B are measured on the test sample."
)
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.warning { background: #fff4e5; border-left: 4px solid #f0a020; padding: .5em .8em; }
"""


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Paragraph:
    text: str
    warning: bool = False


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Figure:
    name: str
    path: Path


@dataclass(frozen=True)
class _Code:
    text: str


_Block = _Heading | _Paragraph | _Bullets | _Table | _Figure | _Code


def write_report(
    run_dir: str | Path,
    *,
    title: str,
    metrics: Mapping[str, Any],
    figures: Mapping[str, Path],
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
    metrics : dict
        The result of :func:`egid.evaluation.metrics.compute_metrics` (validated against its schema here).
    figures : mapping of caption -> PNG path
        Shown in the given order (see :func:`egid.evaluation.plots.save_figure`).
    config : mapping
        The resolved configuration of the run, shown as JSON (values JSON cannot hold are shown as strings).
    notes : sequence of str
        Free-form remarks listed near the top (data used, caveats).

    Raises
    ------
    jsonschema.ValidationError, ValueError
        If ``metrics`` does not follow :data:`egid.evaluation.metrics.METRICS_SCHEMA`, or a figure is not a ``.png``.
    FileNotFoundError
        If a figure file is missing.
    """
    validate_metrics(metrics)
    not_png = [str(path) for path in figures.values() if Path(path).suffix.lower() != ".png"]
    if not_png:
        msg = f"Expected PNG figures to embed; got {not_png}."
        raise ValueError(msg)
    folder = Path(run_dir)
    blocks = _blocks(title, metrics, {name: Path(path) for name, path in figures.items()}, config, notes)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_text = _to_html(title, blocks)  # reads the PNGs first, so a missing one leaves no partial report
    with atomic_path(md_path) as tmp:
        tmp.write_text(_to_markdown(blocks, folder), encoding="utf-8")
    with atomic_path(html_path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    return html_path, md_path


def _blocks(
    title: str, metrics: Mapping[str, Any], figures: Mapping[str, Path], config: Mapping[str, Any], notes: Sequence[str]
) -> list[_Block]:
    """The report's content, in reading order."""
    blocks: list[_Block] = [_Heading(1, title), _Paragraph(_events_sentence(metrics))]
    if notes:
        blocks += [_Heading(2, "Notes"), _Bullets(tuple(notes))]
    blocks += [_Heading(2, "Summary"), _summary_table(metrics)]
    if any(metrics["results"][model]["working_points"] for model in metrics["models"]):
        blocks += [_Heading(2, "Working points"), _Paragraph(_WORKING_POINTS)]
        if metrics["thresholds_from_test"]:
            blocks.append(
                _Paragraph(
                    "Some thresholds were chosen on the test sample itself (no validation sample and no saved "
                    "thresholds): their test efficiencies are optimistic.",
                    warning=True,
                )
            )
        blocks.append(_working_point_table(metrics))
    if metrics["comparisons"]:
        split = metrics["comparisons"][0]["split"]
        blocks += [
            _Heading(2, "Model comparison"),
            _Paragraph(
                f"Paired DeLong tests on the {split} sample: the difference of two models' AUCs on the same events, "
                "its standard deviation and the two-sided p-value of no difference."
            ),
            _comparison_table(metrics),
        ]
    if metrics["costs"]:
        split = metrics["costs"][0]["split"]
        blocks += [
            _Heading(2, "AUC cost of the constrained models"),
            _Paragraph(
                f"Each constrained model against the best of its reference models on the same {split} events (the "
                "reference with the highest AUC there): the cost is the reference's AUC minus the model's, with the "
                "standard deviation and two-sided p-value of the paired DeLong test."
            ),
            _cost_table(metrics),
        ]
    blocks += _eta_blocks(metrics)
    if figures:
        blocks.append(_Heading(2, "Figures"))
        blocks += [_Figure(name, path) for name, path in figures.items()]
    blocks += [_Heading(2, "Configuration"), _Code(json.dumps(config, indent=2, default=str))]
    return blocks


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _events_sentence(metrics: Mapping[str, Any]) -> str:
    samples = metrics["results"][metrics["models"][0]]["splits"]
    parts = [
        f"{split} {samples[split]['n_events']} ({samples[split]['n_signal']} electrons, "
        f"{samples[split]['n_background']} photons)"
        for split in metrics["splits"]
    ]
    return (
        "Electron (signal, label 1) versus photon (background, label 0) identification. Events: "
        + "; ".join(parts)
        + f". Accuracy counts an event as an electron when its score is at least {metrics['accuracy_threshold']}."
    )


def _summary_table(metrics: Mapping[str, Any]) -> _Table:
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
    return _Table(header, tuple(rows))


def _working_point_table(metrics: Mapping[str, Any]) -> _Table:
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
    return _Table(header, tuple(rows))


def _comparison_table(metrics: Mapping[str, Any]) -> _Table:
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
    return _Table(("Model A", "Model B", "AUC A - AUC B", "Std", "p-value"), rows)


def _cost_table(metrics: Mapping[str, Any]) -> _Table:
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
    return _Table(("Model", "Reference", "AUC", "Reference AUC", "Cost", "Std", "p-value"), rows)


def _eta_blocks(metrics: Mapping[str, Any]) -> list[_Block]:
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
        _Heading(2, f"Performance in |η| bins ({split} sample)"),
        _Paragraph("AUC with its DeLong standard deviation:"),
        _Table(("Model", *columns), tuple(auc_rows)),
        _Paragraph(f"Accuracy at score {metrics['accuracy_threshold']}:"),
        _Table(("Model", *columns), tuple(accuracy_rows)),
    ]


def _to_markdown(blocks: Sequence[_Block], run_dir: Path) -> str:
    lines: list[str] = []
    for block in blocks:
        match block:
            case _Heading(level, text):
                lines.append("#" * level + " " + text)
            case _Paragraph(text, warning):
                lines.append(("> **Warning:** " if warning else "") + text)
            case _Bullets(items):
                lines.append("\n".join(f"- {item}" for item in items))
            case _Table(header, rows):
                cells = [header, tuple("---" for _ in header), *rows]
                lines.append("\n".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells))
            case _Figure(name, path):
                link = Path(os.path.relpath(path, run_dir)).as_posix()
                target = f"<{link}>" if " " in link else link
                lines.append(f"### {name}\n\n![{name}]({target})")
            case _Code(text):
                lines.append(f"```json\n{text}\n```")
    return "\n\n".join(lines) + "\n"


def _to_html(title: str, blocks: Sequence[_Block]) -> str:
    esc = html.escape
    parts: list[str] = []
    for block in blocks:
        match block:
            case _Heading(level, text):
                parts.append(f"<h{level}>{esc(text)}</h{level}>")
            case _Paragraph(text, warning):
                parts.append(f'<p class="warning">{esc(text)}</p>' if warning else f"<p>{esc(text)}</p>")
            case _Bullets(items):
                parts.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>")
            case _Table(header, rows):
                head = "".join(f"<th>{esc(cell)}</th>" for cell in header)
                body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            case _Figure(name, path):
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                image = f'<img alt="{esc(name)}" src="data:image/png;base64,{data}">'
                parts.append(f"<h3>{esc(name)}</h3>\n<figure>{image}</figure>")
            case _Code(text):
                parts.append(f"<pre><code>{esc(text)}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )
