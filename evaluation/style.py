"""The look of every egid figure: mplhep's CMS style, labelled "Private work" and the data it shows.

The bare "CMS" mark is reserved for the collaboration's approved results, so egid never draws it: the
upper-left label reads "Private work" (bold, where the experiment name would stand) and the upper-right
label names the data, for example "egid simulation", "Geant4 sample" or "CMS Open Data".
"""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import mplhep as hep
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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
    hep.label.exp_label(exp=PRIVATE_WORK, text="", data=not simulated, rlabel=data, ax=ax, loc=0)
