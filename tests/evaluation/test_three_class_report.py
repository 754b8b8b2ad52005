"""write_three_class_report on real metrics and a real threshold study: headline, tables, figures, well-formed HTML."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from egid.detector.schema import CLASS_LABELS
from egid.evaluation.three_class_metrics import three_class_metrics
from egid.evaluation.three_class_report import CONFUSION_FIGURE, ROC_FIGURE, write_three_class_report
from egid.evaluation.threshold_study import (
    DEFAULT_THRESHOLDS_GEV,
    MODES,
    PUBLISHED_ACCURACY,
    PUBLISHED_NOTE,
    threshold_study,
    write_threshold_study,
)

DATA = "egid simulation"
MODELS = {"logistic": [0, 1, 2], "one feature": [0]}
"""Each model: a multinomial logistic regression on these columns of the toy features (the first one is better)."""
VOID = {"meta", "img", "br", "hr", "link", "input"}


class Run(NamedTuple):
    folder: Path
    written: list[Path]
    metrics: dict[str, dict[str, Any]]
    study: pd.DataFrame
    labels: np.ndarray
    probabilities: dict[str, np.ndarray]


def toy_events(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels 0/1/2, three features that separate the classes better at high energy, energies 0-60 GeV."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.array(CLASS_LABELS), n // 3)
    energy = rng.uniform(0, 60, labels.size)
    features = rng.normal(size=(labels.size, 3))
    features[np.arange(labels.size), labels.astype(int)] += 1.0 + energy / 30
    return labels, features, energy


def fitted(features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
    """Every model trained on ``train``; its (len(test), 3) probabilities, column k the class of label k."""
    out = {}
    for name, columns in MODELS.items():
        model = LogisticRegression().fit(features[train][:, columns], labels[train])
        assert list(model.classes_) == [0.0, 1.0, 2.0]
        out[name] = model.predict_proba(features[test][:, columns])
    return out


def write_run(folder: Path, *, retrain: bool = True, study_figure: bool = True) -> Run:
    labels, features, energy = toy_events()
    train, validation, test = np.arange(450), np.arange(450, 600), np.arange(600, 900)
    probabilities = fitted(features, labels, train, test)
    study = threshold_study(
        energy,
        labels,
        train=train,
        validation=validation,
        test=test,
        test_probabilities=probabilities,
        retrain=(lambda cuts: [fitted(features, labels, tr, te) for tr, _va, te in cuts]) if retrain else None,
    )
    if study_figure:
        write_threshold_study(study, folder, data=DATA, simulated=True)
    metrics = {name: three_class_metrics(labels[test], p) for name, p in probabilities.items()}
    written = write_three_class_report(
        folder,
        metrics=metrics,
        study=study,
        labels=labels[test],
        probabilities=probabilities,
        data=DATA,
        simulated=True,
    )
    return Run(folder, written, metrics, study, labels[test], probabilities)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return write_run(tmp_path_factory.mktemp("three_class") / "run")


class Page(HTMLParser):
    """The tables, images and text of a page; fails on a closing tag that does not close the innermost open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag in VOID:
            return
        self.open.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self.tables[-1][-1].append("")

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.open and self.open[-1] in ("th", "td"):
            self.tables[-1][-1][-1] += data


def parsed(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.open == [], f"unclosed tags {page.open}"
    return page


def table_starting(page: Page, *header: str) -> list[list[str]]:
    (table,) = [t for t in page.tables if tuple(t[0][: len(header)]) == header]
    return table


def test_writes_both_documents_and_every_figure(run: Run) -> None:
    names = {path.name for path in run.written}
    assert names == {"report.html", "report.md"} | {
        f"{s}.{x}" for s in (CONFUSION_FIGURE, ROC_FIGURE) for x in ("png", "pdf")
    }
    assert all(path.parent == run.folder and path.stat().st_size > 0 for path in run.written)
    assert not list(run.folder.glob(".*.tmp"))  # atomic writes leave no temporary file behind


def test_headline_comes_first_and_names_the_best_model_by_accuracy(run: Run) -> None:
    accuracy = {name: np.mean(p.argmax(axis=1) == run.labels) for name, p in run.probabilities.items()}
    best = max(accuracy, key=lambda name: accuracy[name])
    assert best == "logistic"  # all three features beat one
    values = run.metrics[best]
    expected = [
        f"{best}, accuracy {values['accuracy']:.4f}, balanced accuracy {values['balanced_accuracy']:.4f}",
        f"e/γ-vs-pion AUC {values['egamma_vs_pion_auc']['auc']:.4f}",
        f"pion efficiency {values['pion_efficiency_at_egamma_efficiency']['0.99']:.4f} at 99% e/γ efficiency",
        f"electron-vs-photon AUC {values['electron_vs_photon_auc']['auc']:.4f}",
    ]
    markdown = run.folder.joinpath("report.md").read_text(encoding="utf-8")
    headline = markdown.split("\n## ")[0]
    assert all(part in headline for part in expected), headline
    text = "".join(parsed(run.folder / "report.html").text)
    assert all(text.index(part) < text.index("Performance") for part in expected)


def test_summary_and_efficiency_tables_hold_every_model(run: Run) -> None:
    page = parsed(run.folder / "report.html")
    summary = table_starting(page, "Model", "Accuracy", "Balanced accuracy")
    assert [row[:2] for row in summary[1:]] == [[name, f"{m['accuracy']:.4f}"] for name, m in run.metrics.items()]
    efficiencies = table_starting(page, "Model", "electron", "photon", "pion")
    for row, (name, m) in zip(efficiencies[1:], run.metrics.items(), strict=True):
        assert row == [name, *(f"{m['efficiency'][c]:.4f}" for c in ("electron", "photon", "pion"))]
    aucs = table_starting(page, "Model", "Separation", "AUC")
    assert len(aucs) - 1 == 7 * len(run.metrics)  # 3 one-vs-rest, 3 pairwise, e/γ vs pion
    pion = run.metrics["logistic"]["one_vs_rest_auc"]["pion"]
    assert ["logistic", "pion vs rest", f"{pion['auc']:.4f}", f"{pion['std']:.4f}"] in [row[:4] for row in aucs]


def test_threshold_table_holds_every_threshold_and_mode(run: Run) -> None:
    assert set(run.study["mode"]) == set(MODES)
    page = parsed(run.folder / "report.html")
    pivot = table_starting(page, "T [GeV]", f"Accuracy logistic ({MODES[0]})")
    columns = [f"Accuracy {model} ({mode})" for model in MODELS for mode in MODES]
    assert pivot[0] == ["T [GeV]", *columns]
    assert [row[0] for row in pivot[1:]] == [f"{t:g}" for t in DEFAULT_THRESHOLDS_GEV]
    accuracy = run.study.set_index(["threshold_gev", "model", "mode"])["accuracy"]
    for row, threshold in zip(pivot[1:], DEFAULT_THRESHOLDS_GEV, strict=True):
        assert row[1:] == [f"{accuracy[threshold, model, mode]:.4f}" for model in MODELS for mode in MODES]
    details = table_starting(page, "T [GeV]", "Mode", "Model")
    assert [tuple(row[:3]) for row in details[1:]] == [
        (f"{t:g}", mode, model)
        for t, mode, model in run.study[["threshold_gev", "mode", "model"]].itertuples(index=False)
    ]


def test_published_figures_are_labelled_as_a_different_simulation(run: Run) -> None:
    assert "different simulation" in PUBLISHED_NOTE
    page = parsed(run.folder / "report.html")
    published = table_starting(page, "Published network")
    assert published[1:] == [
        [name, f"{low:.3f} – {high:.3f}", PUBLISHED_NOTE] for name, (low, high) in PUBLISHED_ACCURACY.items()
    ]
    markdown = run.folder.joinpath("report.md").read_text(encoding="utf-8")
    for name, (low, high) in PUBLISHED_ACCURACY.items():
        assert f"| {name} | {low:.3f} – {high:.3f} | {PUBLISHED_NOTE} |" in markdown


def test_every_image_is_a_figure_written_in_the_folder(run: Run) -> None:
    images = parsed(run.folder / "report.html").images
    embedded = [base64.b64decode(src.removeprefix("data:image/png;base64,")) for src in images]
    assert all(src.startswith("data:image/png;base64,") for src in images)
    shown = ["three_class_confusion.png", "three_class_roc.png", "threshold_study.png"]
    assert embedded == [run.folder.joinpath(name).read_bytes() for name in shown]
    markdown = run.folder.joinpath("report.md").read_text(encoding="utf-8")
    assert re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown) == shown


def test_html_is_one_self_contained_well_formed_page(run: Run) -> None:
    text = run.folder.joinpath("report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    page = parsed(run.folder / "report.html")  # every tag closed in order
    assert all(len(row) == len(table[0]) for table in page.tables for row in table)


def test_without_retraining_or_study_figure(tmp_path: Path) -> None:
    run = write_run(tmp_path, retrain=False, study_figure=False)
    page = parsed(tmp_path / "report.html")
    assert table_starting(page, "T [GeV]", f"Accuracy logistic ({MODES[0]})")[0] == [
        "T [GeV]",
        *(f"Accuracy {model} ({MODES[0]})" for model in MODELS),
    ]
    assert len(page.images) == 2 and not (tmp_path / "threshold_study.png").exists()
    assert run.written[0] == tmp_path / "report.html"


def test_refuses_probabilities_that_do_not_match_the_metrics(run: Run, tmp_path: Path) -> None:
    given = {"metrics": run.metrics, "study": run.study, "data": DATA, "simulated": True}
    with pytest.raises(ValueError, match=r"probabilities of the models of metrics \['logistic', 'one feature'\]"):
        write_three_class_report(
            tmp_path, labels=run.labels, probabilities={"logistic": run.probabilities["logistic"]}, **given
        )
    short = {name: p[1:] for name, p in run.probabilities.items()}
    with pytest.raises(ValueError, match=r"Expected labels \(n,\) and probabilities \(n, 3\)"):
        write_three_class_report(tmp_path, labels=run.labels, probabilities=short, **given)
    assert not list(tmp_path.iterdir())  # nothing written
