"""The look of every egid figure: mplhep's CMS style, labelled "Private work" and the data it shows.

The bare "CMS" mark is reserved for the collaboration's approved results, so egid never draws it: the
upper-left label reads "Private work" (bold, where the experiment name would stand) and the upper-right
label names the data, for example "egid simulation", "Geant4 sample" or "CMS Open Data".

The labels sit above the axes as mplhep's ``exp_label(loc=0)`` places them, but as anchored text boxes that
matplotlib lays out while it draws: mplhep draws the whole figure to measure its label (0.4-2 s per figure,
a fifth of a run's report step on 2 cores), egid's figures are drawn once, when they are saved.
"""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import mplhep as hep
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea

# mplhep's CMS style names a 'cursive' mathtext font that few systems have; matplotlib's fallback is fine,
# so its once-per-process "findfont" complaint is noise on every run.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

__all__ = ("PRIVATE_WORK", "label_axes", "new_figure")

PRIVATE_WORK = "Private work"


def new_figure(*, figsize: tuple[float, float] = (8.0, 7.0)) -> tuple[Figure, Axes]:
    """Return a figure and axes drawn in mplhep's CMS style (without the CMS mark)."""
    with plt.style.context(hep.style.CMS):
        fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def label_axes(ax: Axes, *, data: str, simulated: bool) -> None:
    """Label ``ax``: "Private work" (plus "Simulation" when ``simulated``) upper left, ``data`` upper right.

    Parameters
    ----------
    data : str
        The data's name, for example "egid simulation", "Geant4 sample" or "CMS Open Data".
    simulated : bool
        Whether the events are simulated.
    """
    size = plt.rcParams["font.size"]
    parts: list[Artist] = [TextArea(PRIVATE_WORK, textprops={"fontweight": "bold", "fontsize": _EXP_SCALE * size})]
    if simulated:
        parts.append(TextArea("Simulation", textprops={"fontstyle": "italic", "fontsize": size}))
    left = HPacker(children=parts, sep=0.3 * size, align="baseline")
    right = TextArea(data, textprops={"fontsize": _DATA_SCALE * size})
    for box, corner, x in ((left, "lower left", 0.0), (right, "lower right", 1.0)):
        anchored = AnchoredOffsetbox(
            corner, child=box, pad=0, borderpad=0, frameon=False, bbox_to_anchor=(x, 1.005), bbox_transform=ax.transAxes
        )
        ax.add_artist(anchored)


_EXP_SCALE = 1.3
"""Size of "Private work" relative to the font size, as mplhep draws an experiment's name."""
_DATA_SCALE = 0.95
"""Size of the data's name relative to the font size (mplhep's right-hand label)."""
