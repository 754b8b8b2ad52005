"""From scores to conclusions: metrics with DeLong intervals, figures, training histories and the run report.

:mod:`egid.evaluation.metrics` computes every figure of ``metrics.json`` from a table of scores,
:mod:`egid.evaluation.plots` and :mod:`egid.evaluation.importance_plots` draw them in the house style
(:mod:`egid.evaluation.style`), and :mod:`egid.evaluation.publish` writes a run's metrics, plots and report.
Three-class (electron / photon / pion) runs have their own: :mod:`egid.evaluation.three_class_metrics`,
:mod:`egid.evaluation.threshold_study` and :mod:`egid.evaluation.three_class_report`.
"""

__all__: tuple[str, ...] = ()
"""Nothing is re-exported: import the module of the step you need (each has its own ``__all__``)."""
