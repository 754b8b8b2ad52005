"""The report in a browser: headless Chromium opens a freshly published report.html from disk.

The report is what :func:`egid.evaluation.publish.publish` writes for two small boosted trees, so the page holds
real figures at their real size. Chromium is Debian's ``chromium`` (``apt-get install chromium``), driven by
Playwright through its ``executable_path``: no browser is downloaded. Without Chromium the test fails (CI installs
it), as it does without Playwright (the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from egid.evaluation.publish import DataDescription, publish, tree_history
from egid.evaluation.report import HEADLINE_AUC_ID
from egid.models.trees import TREE_KINDS, fit_tree_model
from tests.tree_fixtures import make_tree_table

#: A laptop's screen: the ROC curves must be seen without scrolling.
SCREEN = {"width": 1366, "height": 768}
#: The synthetic table's columns under registry names, so the feature figures get their units.
REGISTRY_NAMES = {
    "sigma_ieta_ieta": "sigma_ietaieta",
    "sigma_iphi_iphi": "sigma_iphiiphi",
    "e2x5_over_e5x5": "e2x5_max_over_e5x5",
    "time_spread": "time_rms",
    "n_crystals": "n_hits",
}


def chromium_path() -> str:
    """Debian's Chromium (or ``$EGID_CHROMIUM``); fail, not skip, without it: CI must run this test."""
    path = os.environ.get("EGID_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium not found (looked for $EGID_CHROMIUM and 'chromium' on PATH); the report's browser test "
            "needs it: apt-get install -y chromium",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory published from two small trees on a synthetic table split 60/20/20."""
    t = make_tree_table(900, seed=3)
    parts = {"train": (t.X_train, t.y_train), "validation": (t.X_val, t.y_val), "test": (t.X_test, t.y_test)}
    X_train, X_val = t.X_train.rename(columns=REGISTRY_NAMES), t.X_val.rename(columns=REGISTRY_NAMES)
    trees = {
        kind: fit_tree_model(kind, X_train, t.y_train, X_val, t.y_val, max_rounds=60, early_stopping_rounds=10)
        for kind in TREE_KINDS
    }
    table = pd.concat([X.rename(columns=REGISTRY_NAMES) for X, _ in parts.values()], ignore_index=True)
    scores = pd.DataFrame(
        {
            "label": np.concatenate([y for _, y in parts.values()]).astype(np.float64),
            "split": np.repeat(list(parts), [len(y) for _, y in parts.values()]),
            "eta": np.random.default_rng(3).uniform(-1.4, 1.4, len(table)),
            **{name: model.predict(table) for name, model in trees.items()},
        }
    )
    out = tmp_path_factory.mktemp("browser") / "run"
    publish(
        out,
        title="egid run browser-test",
        scores=scores,
        models=list(trees),
        table=table,
        trees=trees,
        data=DataDescription(label="egid simulation", simulated=True),
        config={"electrons": "electron.hdf5", "photons": "photon.hdf5", "seed": 3},
        histories={name: [tree_history(model)] for name, model in trees.items()},
    )
    return out


@dataclass
class OpenedReport:
    """The page of the report in the browser, with what it logged and fetched since it was opened."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def report(report_dir: Path) -> Iterator[OpenedReport]:
    """The report opened from disk in a 1366x768 window."""
    executable = chromium_path()
    try:
        from playwright.sync_api import ConsoleMessage, sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[test]' (or pip install playwright)", pytrace=False)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(message.text)

    with sync_playwright() as playwright:
        # No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        opened = OpenedReport(browser.new_page(viewport=SCREEN))
        opened.page.on("console", on_console)
        opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
        opened.page.on("request", lambda request: opened.requests.append(request.url))
        opened.page.goto((report_dir / "report.html").as_uri(), wait_until="load")
        yield opened
        browser.close()


def test_every_image_loads_without_console_errors_or_outside_requests(report: OpenedReport) -> None:
    images = report.page.eval_on_selector_all("img", "all => all.map(img => [img.complete, img.naturalWidth])")
    assert len(images) >= 8
    assert all(complete and width > 0 for complete, width in images), images
    assert report.errors == []
    outside = [url for url in report.requests if not url.startswith(("file:", "data:"))]
    assert outside == [], "the report must work offline"


def test_headline_auc_is_the_best_models_auc_in_metrics_json(report: OpenedReport, report_dir: Path) -> None:
    metrics = json.loads((report_dir / "metrics.json").read_text())
    best = max(metrics["models"], key=lambda model: metrics["results"][model]["splits"]["test"]["auc"])
    auc = metrics["results"][best]["splits"]["test"]["auc"]
    shown = report.page.locator(f"#{HEADLINE_AUC_ID}")
    assert shown.inner_text() == f"{auc:.4f}"
    assert float(shown.get_attribute("data-auc")) == auc
    assert f"Best model on the test sample: {best}, AUC {auc:.4f}" in report.page.locator(".best").inner_text()


def test_roc_curves_are_on_the_first_screen_at_a_readable_size(report: OpenedReport) -> None:
    box = report.page.locator("#fig-roc img").bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], box
    assert box["width"] >= 450, box
    assert "egid simulation" in report.page.locator("#fig-roc figcaption").inner_text()
    assert report.page.evaluate("document.documentElement.scrollWidth") <= SCREEN["width"]  # no sideways scrolling


def test_contents_links_reach_their_sections(report: OpenedReport) -> None:
    targets = report.page.eval_on_selector_all("#contents a", "links => links.map(a => a.getAttribute('href'))")
    assert len(targets) >= 6
    for target in targets:
        assert report.page.locator(f"[id='{target[1:]}']").count() == 1, target
