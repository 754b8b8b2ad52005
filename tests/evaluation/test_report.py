"""write_report: a self-contained HTML report opening on the headline, its Markdown twin, written atomically."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import jsonschema
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from egid.evaluation.metrics import compute_metrics
from egid.evaluation.report import HEADLINE_AUC_ID, ReportFigure, best_model, write_report

MODELS = ["lightgbm", "xgboost+cnn"]
CONFIG = {"seed": 7, "models": MODELS, "data": Path("/data/electron.hdf5"), "trees": {"n_trials": 20}}
DATA = "egid simulation (simulated events) from electron.hdf5"


def synthetic_scores(splits: tuple[str, ...], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = (rng.random(900) < 0.5).astype(np.float64)
    table = {"label": labels, "split": rng.choice(np.array(splits), 900), "eta": rng.uniform(-1.2, 1.2, 900)}
    for model, separation in zip(MODELS, (1.5, 2.5), strict=True):
        table[model] = 1.0 / (1.0 + np.exp(-rng.normal(separation * (labels - 0.5), 1.0)))
    return pd.DataFrame(table)


@pytest.fixture(scope="module")
def metrics() -> dict:
    return compute_metrics(synthetic_scores(("train", "validation", "test")), MODELS)


@pytest.fixture
def figures(tmp_path: Path) -> list[ReportFigure]:
    """Two small real PNGs in a figures/ folder of the run directory: the headline's ROC and a detail figure."""
    folder = tmp_path / "run" / "figures"
    folder.mkdir(parents=True)
    shown = [
        ReportFigure("roc", folder / "roc.png", "ROC curves on the test sample of egid simulation.", "headline"),
        ReportFigure(
            "scores_lightgbm", folder / "scores lightgbm.png", "Scores of lightgbm, egid simulation.", "overtraining"
        ),
    ]
    for k, figure in enumerate(shown):
        plt.imsave(figure.path, np.full((4, 6), float(k)), vmin=0, vmax=1)
    return shown


def visible_text(html_text: str) -> str:
    """The page's text without its markup (tags, attributes and embedded images)."""
    return re.sub(r"<[^>]+>", "", html_text)


def test_html_is_self_contained(tmp_path: Path, metrics: dict, figures: list[ReportFigure]) -> None:
    html_path, _ = write_report(
        tmp_path / "run", title="egid run", data=DATA, metrics=metrics, figures=figures, config=CONFIG
    )
    text = html_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "<script" not in text and "<link" not in text
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert [base64.b64decode(data) for data in embedded] == [figure.path.read_bytes() for figure in figures]


def test_markdown_has_the_tables_figures_and_config(tmp_path: Path, metrics: dict, figures: list[ReportFigure]) -> None:
    run = tmp_path / "run"
    _, md_path = write_report(
        run,
        title="egid run",
        data=DATA,
        metrics=metrics,
        figures=figures,
        config=CONFIG,
        notes=["1000 events per class"],
    )
    text = md_path.read_text(encoding="utf-8")
    assert text.startswith("# egid run\n")
    assert "- 1000 events per class" in text
    # Rows per model: summary 1, working points 2, eta AUC and accuracy 2, and lightgbm opens the comparison row.
    rows = {model: len(re.findall(rf"^\| {re.escape(model)} \|", text, flags=re.MULTILINE)) for model in MODELS}
    assert rows == {"lightgbm": 6, "xgboost+cnn": 5}
    for model in MODELS:
        test = metrics["results"][model]["splits"]["test"]
        low, high = test["auc_ci"]
        assert f"{test['auc']:.4f} [{low:.4f}, {high:.4f}]" in text
        point = metrics["results"][model]["working_points"][0]
        assert f"| {model} | 0.80 | {point['threshold']:.4f} | validation | {point['signal_efficiency']:.4f} |" in text
    assert "| lightgbm | xgboost+cnn |" in text  # the paired comparison
    assert "| 0.8 ≤ \\|η\\| ≤ 1.2 |" in text  # the last bin includes its upper edge; "|" escaped inside a table
    links = re.findall(r"!\[[^\]]*\]\(<?([^)>]+)>?\)", text)
    assert links == ["figures/roc.png", "figures/scores lightgbm.png"]
    assert all((run / link).is_file() for link in links)
    config = json.loads(re.search(r"```json\n(.*?)\n```", text, flags=re.DOTALL).group(1))
    assert config == {**CONFIG, "data": "/data/electron.hdf5"}
    assert sorted(p.name for p in run.iterdir()) == ["figures", "report.html", "report.md"]  # no temp files left


def test_both_files_carry_the_same_numbers(tmp_path: Path, metrics: dict, figures: list[ReportFigure]) -> None:
    html_path, md_path = write_report(
        tmp_path / "run", title="egid run", data=DATA, metrics=metrics, figures=figures, config={}
    )
    html_text, md_text = html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8")
    md_numbers = re.findall(r"\d\.\d{4}", md_text)
    html_numbers = re.findall(r"\d\.\d{4}", visible_text(html_text))
    assert md_numbers == html_numbers
    assert len(md_numbers) > 40


def test_thresholds_from_test_are_flagged(tmp_path: Path, figures: list[ReportFigure]) -> None:
    unseen = compute_metrics(synthetic_scores(("test",)), MODELS)
    html_path, md_path = write_report(
        tmp_path / "run", title="unseen", data=DATA, metrics=unseen, figures=[], config={}
    )
    assert "> **Warning:** Some thresholds were chosen on the test sample itself" in md_path.read_text(encoding="utf-8")
    assert '<p class="warning">' in html_path.read_text(encoding="utf-8")
    assert "| validation |" not in md_path.read_text(encoding="utf-8")


def test_text_is_escaped_in_html(tmp_path: Path, metrics: dict) -> None:
    title = "<b>e & γ</b>"
    html_path, _ = write_report(
        tmp_path, title=title, data=DATA, metrics=metrics, figures=[], config={}, notes=["a < b"]
    )
    text = html_path.read_text(encoding="utf-8")
    assert "<h1>&lt;b&gt;e &amp; γ&lt;/b&gt;</h1>" in text
    assert "<li>a &lt; b</li>" in text


def test_refuses_invalid_metrics_and_non_png_figures(
    tmp_path: Path, metrics: dict, figures: list[ReportFigure]
) -> None:
    broken = {**metrics, "models": "lightgbm"}
    with pytest.raises(jsonschema.ValidationError):
        write_report(tmp_path / "a", title="x", data=DATA, metrics=broken, figures=figures, config={})
    with pytest.raises(ValueError, match=r"Expected PNG figures to embed; got \['.*roc\.pdf'\]"):
        pdf = ReportFigure("roc", tmp_path / "roc.pdf", "ROC", "headline")
        write_report(tmp_path / "b", title="x", data=DATA, metrics=metrics, figures=[pdf], config={})
    with pytest.raises(FileNotFoundError):
        gone = ReportFigure("roc", tmp_path / "gone.png", "ROC", "headline")
        write_report(tmp_path / "c", title="x", data=DATA, metrics=metrics, figures=[gone], config={})
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c"))  # nothing half-written


def test_the_cost_of_a_constrained_model_has_its_section(tmp_path: Path, metrics: dict) -> None:
    with_cost = compute_metrics(synthetic_scores(("validation", "test")), MODELS, costs={"lightgbm": ["xgboost+cnn"]})
    _, md_path = write_report(tmp_path / "run", title="x", data=DATA, metrics=with_cost, figures=[], config={})
    text = md_path.read_text(encoding="utf-8")
    (cost,) = with_cost["costs"]
    assert "## AUC cost of the constrained models" in text
    row = (
        f"| lightgbm | xgboost+cnn (best of xgboost+cnn) | {cost['auc']:.4f} | {cost['reference_auc']:.4f} | "
        f"{cost['auc_cost']:+.4f} | {cost['std']:.4f} | {cost['p_value']:.3g} |"
    )
    assert row in text and cost["auc_cost"] > 0
    _, plain = write_report(tmp_path / "plain", title="x", data=DATA, metrics=metrics, figures=[], config={})
    assert "AUC cost" not in plain.read_text(encoding="utf-8")


def test_report_opens_with_the_data_the_best_auc_and_the_roc(
    tmp_path: Path, metrics: dict, figures: list[ReportFigure]
) -> None:
    html_path, md_path = write_report(
        tmp_path / "run", title="egid run", data=DATA, metrics=metrics, figures=figures, config={}
    )
    best = max(MODELS, key=lambda model: metrics["results"][model]["splits"]["test"]["auc"])
    assert best_model(metrics) == (best, "test")
    test = metrics["results"][best]["splits"]["test"]
    text = html_path.read_text(encoding="utf-8")
    shown = re.search(rf'<strong id="{HEADLINE_AUC_ID}" data-auc="([^"]+)">([^<]+)</strong>', text)
    assert shown is not None
    assert float(shown.group(1)) == test["auc"] and shown.group(2) == f"{test['auc']:.4f}"
    low, high = test["auc_ci"]
    sentence = (
        f"{best}, AUC {test['auc']:.4f} (95% CI [{low:.4f}, {high:.4f}], DeLong), accuracy {test['accuracy']:.4f}"
    )
    page = visible_text(text)
    assert 0 <= page.find(f"Data: {DATA}.") < page.find(sentence) < page.find("Contents") < page.find("Performance")
    assert 0 <= text.find('id="fig-roc"') < text.find('id="contents"') < text.find("<h2")
    md = md_path.read_text(encoding="utf-8")
    events = "| Split | Electrons | Photons | Events | Share |"
    assert (
        0
        <= md.find(f"Data: {DATA}.")
        < md.find(events)
        < md.find(sentence.replace(f"{test['auc']:.4f}", f"**{test['auc']:.4f}**"))
    )
    assert 0 <= md.find("](figures/roc.png)") < md.find("Contents: ") < md.find("## Performance")
    for split in metrics["splits"]:
        sample = metrics["results"][best]["splits"][split]
        assert f"| {split} | {sample['n_signal']} | {sample['n_background']} | {sample['n_events']} |" in md


def test_contents_link_every_section_in_both_files(tmp_path: Path, metrics: dict, figures: list[ReportFigure]) -> None:
    html_path, md_path = write_report(
        tmp_path / "run", title="egid run", data=DATA, metrics=metrics, figures=figures, config={}
    )
    text = html_path.read_text(encoding="utf-8")
    nav = re.search(r'<nav id="contents".*?</nav>', text).group(0)
    links = re.findall(r'href="#([^"]+)"', nav)
    assert links == re.findall(r'<h2 id="([^"]+)">', text)
    assert links[:2] == ["performance", "working-points"] and links[-1] == "configuration"
    assert "performance-in-η-bins" in links and "overtraining-check-and-training-curves" in links
    md = md_path.read_text(encoding="utf-8")
    contents = re.search(r"^Contents: (.*)$", md, flags=re.MULTILINE).group(1)
    titles = re.findall(r"^## (.*)$", md, flags=re.MULTILINE)
    assert re.findall(r"\[([^\]]+)\]\(#([^)]+)\)", contents) == list(zip(titles, links, strict=True))


def test_every_figure_has_its_caption_in_its_section(
    tmp_path: Path, metrics: dict, figures: list[ReportFigure]
) -> None:
    html_path, md_path = write_report(
        tmp_path / "run", title="egid run", data=DATA, metrics=metrics, figures=figures, config={}
    )
    text, md = html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8")
    assert re.findall(r"<figcaption>([^<]+)</figcaption>", text) == [figure.caption for figure in figures]
    assert text.count("<figure") == len(figures)
    overtraining = text.find('id="overtraining-check-and-training-curves"')
    assert (
        0
        <= text.find('id="fig-roc"')
        < text.find('id="contents"')
        < overtraining
        < text.find('id="fig-scores_lightgbm"')
    )
    assert all(f"*{figure.caption}*" in md for figure in figures)


def test_the_headline_judges_on_the_last_split_without_test(tmp_path: Path) -> None:
    validation_only = compute_metrics(synthetic_scores(("validation",)), MODELS)
    model, split = best_model(validation_only)
    assert split == "validation" and model == "xgboost+cnn"  # the better separated synthetic model
    html_path, _ = write_report(tmp_path, title="x", data=DATA, metrics=validation_only, figures=[], config={})
    assert "Best model on the validation sample: xgboost+cnn, AUC" in visible_text(
        html_path.read_text(encoding="utf-8")
    )
