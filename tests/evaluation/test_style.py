"""Tests for egid.evaluation.style: mplhep's CMS look, labelled "Private work" and the data, never the "CMS" mark."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import mplhep as hep
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox, TextArea
from matplotlib.text import Text

from egid.evaluation.style import PRIVATE_WORK, label_axes, new_figure


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _boxes(ax: Axes) -> list[AnchoredOffsetbox]:
    return [a for a in ax.get_children() if isinstance(a, AnchoredOffsetbox)]


def _areas(box: AnchoredOffsetbox) -> list[TextArea]:
    return [a for a in box.findobj(TextArea) if isinstance(a, TextArea)]


def _drawn_texts(fig: Figure) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_private_work_is_the_label() -> None:
    assert PRIVATE_WORK == "Private work"


def test_new_figure_has_one_axes_of_the_asked_size() -> None:
    fig, ax = new_figure(figsize=(5.0, 4.0))
    assert fig.axes == [ax]
    assert tuple(fig.get_size_inches()) == (5.0, 4.0)
    default, _ = new_figure()
    assert tuple(default.get_size_inches()) == (8.0, 7.0)


def test_new_figure_uses_the_cms_style_without_changing_the_global_style() -> None:
    before = dict(plt.rcParams)
    fig, ax = new_figure()
    # mplhep's CMS style puts ticks on all four sides, pointing in (matplotlib's default: bottom only, out).
    assert hep.style.CMS["xtick.direction"] == "in"
    tick = ax.xaxis.majorTicks[0]
    assert tick.tick2line.get_visible()
    assert ax.xaxis.get_tick_params(which="major")["top"] is True
    _, plain = plt.subplots()
    assert not plain.xaxis.majorTicks[0].tick2line.get_visible()
    assert plt.rcParams["xtick.direction"] == before["xtick.direction"]
    assert plt.rcParams["font.size"] == before["font.size"]
    assert fig is ax.figure


@pytest.mark.parametrize("simulated", [True, False])
def test_labels_name_private_work_and_the_data(simulated: bool) -> None:
    fig, ax = new_figure()
    label_axes(ax, data="CMS Open Data", simulated=simulated)
    left, right = _boxes(ax)
    left_texts = [a.get_text() for a in _areas(left)]
    assert left_texts == (["Private work", "Simulation"] if simulated else ["Private work"])
    assert [a.get_text() for a in _areas(right)] == ["CMS Open Data"]
    drawn = _drawn_texts(fig)
    assert "Private work" in drawn
    assert ("Simulation" in drawn) is simulated


@pytest.mark.parametrize("data", ["egid simulation", "Geant4 sample"])
def test_the_bare_cms_mark_is_never_drawn(data: str) -> None:
    fig, ax = new_figure()
    label_axes(ax, data=data, simulated=True)
    drawn = _drawn_texts(fig)
    assert data in drawn
    assert not any("CMS" in text for text in drawn)


def test_labels_sit_above_the_axes_left_and_right() -> None:
    _, ax = new_figure()
    label_axes(ax, data="egid simulation", simulated=False)
    left, right = _boxes(ax)
    assert left.loc == AnchoredOffsetbox.codes["lower left"]
    assert right.loc == AnchoredOffsetbox.codes["lower right"]
    left_anchor = left.get_bbox_to_anchor()
    right_anchor = right.get_bbox_to_anchor()
    axes_box = ax.get_window_extent()
    assert left_anchor.x0 == pytest.approx(axes_box.x0)
    assert right_anchor.x0 == pytest.approx(axes_box.x1)
    assert left_anchor.y0 > axes_box.y1


def test_private_work_is_bold_and_larger_and_simulation_italic() -> None:
    _, ax = new_figure()
    label_axes(ax, data="egid simulation", simulated=True)
    size = plt.rcParams["font.size"]
    left, right = _boxes(ax)
    private, simulation = (a._text for a in _areas(left))
    assert private.get_fontweight() in ("bold", 700)
    assert private.get_fontsize() == pytest.approx(1.3 * size)
    assert simulation.get_fontstyle() == "italic"
    assert simulation.get_fontsize() == pytest.approx(size)
    (data,) = (a._text for a in _areas(right))
    assert data.get_fontsize() == pytest.approx(0.95 * size)
