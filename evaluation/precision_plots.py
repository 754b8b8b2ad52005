"""The figure of a firmware precision scan: test AUC and score error of the ``ap_fixed`` emulation versus its width."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from egid.evaluation.style import label_axes, new_figure

__all__ = ("plot_precision_scan",)


def plot_precision_scan(
    scans: Mapping[str, pd.DataFrame], native_auc: Mapping[str, float], *, data: str, simulated: bool
) -> Figure:
    """Draw, per model, the emulated AUC (top) and max |p_emulated - p_native| (bottom) against the total width.

    Parameters
    ----------
    scans : mapping of str to DataFrame
        Model name -> one row per ``ap_fixed`` precision, columns ``width`` (bits), ``auc`` and
        ``max_abs_probability_difference``.
    native_auc : mapping of str to float
        The native booster's AUC on the same events, drawn as a dashed line.
    data : str
        Name of the data, for the upper-right label.
    simulated : bool
        Whether the events are simulated.
    """
    fig, top = new_figure(figsize=(8.0, 8.0))
    top.set_position((0.14, 0.45, 0.82, 0.48))
    bottom = fig.add_axes((0.14, 0.1, 0.82, 0.3), sharex=top)
    for (name, scan), color in zip(scans.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False):
        top.plot(scan["width"], scan["auc"], "o-", color=color, label=f"{name} ap_fixed emulation")
        top.axhline(native_auc[name], color=color, linestyle="--", label=f"{name} native")
        # A difference of 0 cannot be drawn on the log axis; it is clipped to the plot's floor.
        bottom.plot(scan["width"], scan["max_abs_probability_difference"].clip(lower=1e-7), "o-", color=color)
    top.set_ylabel("test AUC")
    top.legend(fontsize="x-small", loc="lower right")
    top.tick_params(labelbottom=False)
    bottom.set_yscale("log")
    bottom.set_xlabel("ap_fixed width W (bits)")
    bottom.set_ylabel(r"max $|p_\mathrm{emul} - p_\mathrm{native}|$", fontsize="small")
    label_axes(top, data=data, simulated=simulated)
    return fig
