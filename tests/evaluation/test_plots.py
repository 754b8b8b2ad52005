"""Each figure function draws what it claims: the right curves and numbers, the house labels, and files on save."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score, roc_curve

from egid.evaluation.plots import (
    plot_background_rejection,
    plot_confusion_matrix,
    plot_feature_distributions,
    plot_roc,
    plot_score_distributions,
    plot_training_curves,
    save_figure,
)
from egid.models.history import TrainingHistory

MODELS = ["lightgbm", "cnn"]
DATA = "egid simulation"


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    """600 events: electron probabilities from two overlapping Gaussians, eta uniform in [-1.2, 1.2]."""
    rng = np.random.default_rng(0)
    labels = (rng.random(600) < 0.5).astype(np.float64)
    split = rng.choice(["train", "validation", "test"], 600)
    table = {"label": labels, "split": split, "eta": rng.uniform(-1.2, 1.2, 600)}
    for model, separation in zip(MODELS, (2.0, 1.0), strict=True):
        table[model] = 1.0 / (1.0 + np.exp(-rng.normal(separation * (labels - 0.5), 1.0)))
    return pd.DataFrame(table)


@pytest.fixture(autouse=True)
def _close_figures() -> None:
    yield
    plt.close("all")


def texts(fig: Figure) -> list[str]:
    """Every string drawn on the figure (axis labels, legend entries, annotations, the house labels)."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def assert_house_labels(fig: Figure) -> None:
    """ "Private work" and the data's name are shown; the collaboration's "CMS" mark never is."""
    drawn = texts(fig)
    assert "Private work" in drawn
    assert DATA in drawn
    assert not any("CMS" in text for text in drawn)


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_roc_draws_one_curve_per_model_with_its_auc(scores: pd.DataFrame) -> None:
    fig = plot_roc(scores, MODELS, data=DATA, simulated=True)
    test = scores[scores["split"] == "test"]
    lines = [line for line in fig.axes[0].get_lines() if line.get_label() != "random guess"]
    assert len(lines) == len(MODELS)
    for model, line, entry in zip(MODELS, lines, legend_texts(fig)[: len(MODELS)], strict=True):
        background_eff, signal_eff, _ = roc_curve(test["label"], test[model])
        np.testing.assert_allclose(line.get_xdata(), background_eff)
        np.testing.assert_allclose(line.get_ydata(), signal_eff)
        assert entry.startswith(f"{model} (AUC = {roc_auc_score(test['label'], test[model]):.4f} ± 0.0")
    assert_house_labels(fig)
    assert "Simulation" in texts(fig)


def test_roc_refuses_a_split_with_one_class(scores: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"at least 2 electrons and 2 photons in split 'test'; found 0 and \d+"):
        plot_roc(scores[scores["label"] == 0.0], MODELS, data=DATA, simulated=True)


def test_background_rejection_is_one_over_the_photon_efficiency(scores: pd.DataFrame) -> None:
    fig = plot_background_rejection(scores, MODELS, data=DATA, simulated=False, signal_efficiencies=(0.8, 0.9))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    test = scores[scores["split"] == "test"]
    curves = [line for line in ax.get_lines() if line.get_label() in MODELS]
    background_eff, signal_eff, _ = roc_curve(test["label"], test["cnn"])
    kept = background_eff > 0
    np.testing.assert_allclose(curves[1].get_xdata(), signal_eff[kept])
    np.testing.assert_allclose(curves[1].get_ydata(), 1.0 / background_eff[kept])
    markers = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_label() not in MODELS)
    assert markers == [0.8, 0.9]
    assert_house_labels(fig)
    assert "Simulation" not in texts(fig)


def test_score_distributions_fill_train_step_test_and_quote_ks(scores: pd.DataFrame) -> None:
    fig = plot_score_distributions(scores, "cnn", data=DATA, simulated=True)
    steps = [a for a in fig.axes[0].get_children() if isinstance(a, StepPatch)]
    assert sorted(s.get_fill() for s in steps) == [False, False, True, True]
    for step in steps:
        data = step.get_data()
        assert np.sum(data.values * np.diff(data.edges)) == pytest.approx(1.0)  # normalised to unit area
    for label, name in ((1.0, "electron"), (0.0, "photon")):
        own = scores[scores["label"] == label]
        p = ks_2samp(own.loc[own["split"] == "train", "cnn"], own.loc[own["split"] == "test", "cnn"]).pvalue
        assert f"{name}, test (KS p = {p:.3g})" in legend_texts(fig)
    assert_house_labels(fig)


def test_score_distributions_without_train_give_no_ks(scores: pd.DataFrame) -> None:
    fig = plot_score_distributions(scores[scores["split"] == "test"], "cnn", data=DATA, simulated=True)
    assert legend_texts(fig) == ["electron, test", "photon, test"]


def history(steps: int, *, accuracy: bool = True, best: int | None = None) -> TrainingHistory:
    loss = np.linspace(0.69, 0.3, steps)
    curves = {"train": {"logloss": loss}, "validation": {"logloss": loss + 0.05}}
    if accuracy:
        curves["train"]["accuracy"] = 1.0 - loss / 2
        curves["validation"]["accuracy"] = 0.98 - loss / 2
    return TrainingHistory("epoch" if best is None else "boosting round", curves, best=best)


def test_training_curves_show_loss_and_accuracy_per_split() -> None:
    fig = plot_training_curves(history(30, best=25), model="lightgbm", data=DATA, simulated=True)
    loss_ax, accuracy_ax = fig.axes
    assert (loss_ax.get_ylabel(), accuracy_ax.get_ylabel()) == ("Log loss", "Accuracy")
    assert loss_ax.get_xlabel() == "boosting round"
    curves = [line for line in loss_ax.get_lines() if line.get_label() in ("train", "validation")]
    assert [line.get_label() for line in curves] == ["train", "validation"]
    np.testing.assert_allclose(curves[1].get_xdata(), np.arange(1, 31))
    np.testing.assert_allclose(curves[1].get_ydata(), np.linspace(0.69, 0.3, 30) + 0.05)
    best = [line for line in loss_ax.get_lines() if line.get_label().startswith("_")]
    assert [line.get_xdata()[0] for line in best] == [25]
    assert_house_labels(fig)


def test_training_curves_draw_each_fold_thinly() -> None:
    fig = plot_training_curves([history(10, accuracy=False) for _ in range(3)], model="cnn", data=DATA, simulated=True)
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.get_lines()) == 3 * 2
    assert {line.get_linewidth() for line in loss_ax.get_lines()} == {1.0}
    assert legend_texts(fig) == ["train", "validation"]
    assert "accuracy not recorded" in [t.get_text() for t in accuracy_ax.texts]


def test_confusion_matrix_counts_and_fractions(scores: pd.DataFrame) -> None:
    fig = plot_confusion_matrix(scores, "lightgbm", threshold=0.6, data=DATA, simulated=True)
    test = scores[scores["split"] == "test"]
    passed = test["lightgbm"] >= 0.6
    electrons, photons = test["label"] == 1.0, test["label"] == 0.0
    cells = [t.get_text() for t in fig.axes[0].texts if "%" in t.get_text()]
    expected = [
        (photons & ~passed).sum(),
        (photons & passed).sum(),  # true photon row: predicted photon, electron
        (electrons & ~passed).sum(),
        (electrons & passed).sum(),
    ]
    totals = [photons.sum()] * 2 + [electrons.sum()] * 2
    assert cells == [f"{n}\n({100 * n / total:.1f}%)" for n, total in zip(expected, totals, strict=True)]
    assert "0.600" in fig.axes[0].get_xlabel()
    assert_house_labels(fig)


def test_feature_distributions_grid_counts_nan_and_uses_quantile_ranges() -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat([1.0, 0.0], 500)
    features = pd.DataFrame(
        {
            "r9": np.where(labels == 1.0, rng.beta(5, 2, 1000), rng.beta(9, 1, 1000)),
            "n_crystals": rng.poisson(5 + 3 * labels).astype(float),
            "energy": np.append(rng.exponential(10.0, 999), 1e6),  # one far outlier
            "undefined": np.full(1000, np.nan),
        }
    )
    features.loc[:6, "r9"] = np.nan  # seven electrons without r9
    fig = plot_feature_distributions(
        features, labels, list(features.columns), data=DATA, simulated=True, xlabels={"energy": "E (GeV)"}
    )
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 4 and len(fig.axes) == 6  # a 2 x 3 grid, two panels switched off
    r9, n_crystals, energy, undefined = visible
    assert [t.get_text() for t in r9.get_legend().get_texts()] == ["electron (7 NaN)", "photon"]
    integer_edges = next(a for a in n_crystals.get_children() if isinstance(a, StepPatch)).get_data().edges
    np.testing.assert_allclose(integer_edges % 1.0, 0.5)  # one bin per integer value
    energy_edges = next(a for a in energy.get_children() if isinstance(a, StepPatch)).get_data().edges
    assert energy_edges[-1] < 100.0  # the 1e6 outlier does not set the range
    assert energy.get_xlabel() == "E (GeV)"
    assert "undefined: no finite value" in [t.get_text() for t in undefined.texts]
    assert_house_labels(fig)


def test_feature_distributions_reject_unknown_columns() -> None:
    with pytest.raises(ValueError, match=r"missing columns \['s4'\]"):
        plot_feature_distributions(pd.DataFrame({"r9": [0.9]}), [1.0], ["r9", "s4"], data=DATA, simulated=True)


def test_save_figure_writes_png_and_pdf_and_closes(tmp_path: Path) -> None:
    fig = plt.figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    files = save_figure(fig, tmp_path / "figures", "roc")
    assert files.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["roc.pdf", "roc.png"]  # no temp files left
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(ValueError, match=r"plain file name without directories; got '../roc'"):
        save_figure(plt.figure(), tmp_path, "../roc")
