"""Feature-importance figures of the boosted trees: ranked bars and a SHAP summary (beeswarm).

Each function draws one :class:`~matplotlib.figure.Figure` in the house style (:mod:`egid.evaluation.style`) and
returns it; nothing is written here (the run saves figures with ``egid.evaluation.plots.save_figure``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure

from egid.detector import stratified_subsample
from egid.evaluation.style import label_axes, new_figure
from egid.models.importance import ImportanceKind, ShapValues, ranked

__all__ = ("plot_importance_bars", "plot_shap_summary")

_AXIS_LABELS: dict[str, str] = {
    "gain": "Total gain",
    "split": "Number of splits",
    "shap": "Mean |SHAP value| (log-odds)",
}
#: Events drawn per feature in the beeswarm (a random subset above it keeps the plot legible).
MAX_SWARM_EVENTS = 2000


def _figsize(n_rows: int) -> tuple[float, float]:
    return (9.0, max(7.0, 2.5 + 0.42 * n_rows))


def plot_importance_bars(
    values: pd.Series, *, kind: ImportanceKind, model: str, top: int = 20, data: str, simulated: bool
) -> Figure:
    """Horizontal bars of the ``top`` most important features, the largest at the top.

    Parameters
    ----------
    values : pandas.Series
        Importance per feature (index: feature names), e.g. one column of
        :func:`egid.models.importance.importance_table`.
    kind : {"gain", "split", "shap"}
        What ``values`` measure (sets the axis label).
    model : str
        The model's name, for the legend ("LightGBM").
    top : int, default=20
        How many features to show.
    data, simulated
        Passed to :func:`egid.evaluation.style.label_axes`.
    """
    shown = ranked(values.astype(np.float64), top)
    fig, ax = new_figure(figsize=_figsize(len(shown)))
    positions = np.arange(len(shown))[::-1]
    ax.barh(positions, shown.to_numpy(), color="tab:blue", label=model)
    ax.set_yticks(positions, [str(name) for name in shown.index], fontsize="small")
    ax.set_xlabel(_AXIS_LABELS[kind])
    ax.set_ylim(-0.7, len(shown) + 0.7)
    ax.legend(loc="lower right", fontsize="small", title=f"top {len(shown)} of {len(values)}", title_fontsize="small")
    ax.tick_params(axis="y", which="minor", left=False, right=False)
    label_axes(ax, data=data, simulated=simulated)
    fig.tight_layout()
    return fig


def _swarm_offsets(x: np.ndarray, rng: np.random.Generator, *, width: float = 0.4, bins: int = 50) -> np.ndarray:
    """Vertical offsets that spread points in proportion to the local density of ``x`` (a beeswarm look)."""
    if x.size == 0 or np.ptp(x) == 0:
        flat: np.ndarray = rng.uniform(-width, width, size=x.size) * (x.size > 1)
        return flat
    counts, edges = np.histogram(x, bins=bins)
    density = counts[np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)] / counts.max()
    spread: np.ndarray = rng.uniform(-1.0, 1.0, size=x.size) * width * density
    return spread


def plot_shap_summary(
    shap: ShapValues,
    X: pd.DataFrame,
    *,
    model: str,
    labels: npt.ArrayLike | None = None,
    top: int = 15,
    data: str,
    simulated: bool,
    seed: int = 0,
) -> Figure:
    """SHAP summary: one row per feature (top ``top`` by mean |SHAP|), one point per event.

    The x position is the event's SHAP value (log-odds contribution to the electron score); the colour is the
    feature's value as a percentile among the events (blue low, red high; grey where the feature is NaN), so
    the plot shows in which direction each feature pushes the decision.

    Parameters
    ----------
    shap : ShapValues
        From :func:`egid.models.importance.shap_values` on ``X``.
    X : pandas.DataFrame
        The feature values of the same events (same index as ``shap.values``).
    model : str
        The model's name, for the title of the legend.
    labels : array-like of shape (n,), optional
        The class of each event; above :data:`MAX_SWARM_EVENTS` events the subset shown keeps each class's share.
    top : int, default=15
        How many features to show.
    seed : int, default=0
        Seed of the event subset (above :data:`MAX_SWARM_EVENTS`) and of the vertical jitter.
    """
    order = shap.mean_abs().index[:top]
    rng = np.random.default_rng(seed)
    classes = np.zeros(len(shap.values)) if labels is None else np.asarray(labels)
    rows = stratified_subsample(classes, MAX_SWARM_EVENTS, seed=seed)
    fig, ax = new_figure(figsize=_figsize(len(order)))
    scatter = None
    for position, feature in zip(np.arange(len(order))[::-1], order, strict=True):
        x = shap.values[feature].to_numpy(dtype=np.float64)[rows]
        colour = X.loc[shap.values.index[rows], feature].rank(pct=True).to_numpy(dtype=np.float64)
        y = position + _swarm_offsets(x, rng)
        undefined = np.isnan(colour)
        ax.scatter(x[undefined], y[undefined], s=6, color="lightgrey", rasterized=True)
        scatter = ax.scatter(
            x[~undefined], y[~undefined], s=6, c=colour[~undefined], cmap="coolwarm", vmin=0, vmax=1, rasterized=True
        )
    ax.axvline(0.0, color="grey", linewidth=1)
    ax.set_yticks(np.arange(len(order))[::-1], [str(name) for name in order], fontsize="small")
    ax.set_ylim(-0.7, len(order) + 0.7)
    ax.set_xlabel("SHAP value (log-odds)")
    ax.text(0.98, 0.02, model, transform=ax.transAxes, ha="right", va="bottom", fontsize="small")
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, pad=0.01)
        bar.set_label("Feature value (percentile)")
    ax.tick_params(axis="y", which="minor", left=False, right=False)
    label_axes(ax, data=data, simulated=simulated)
    fig.tight_layout()
    return fig
