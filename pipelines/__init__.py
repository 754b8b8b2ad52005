"""The egid command line and the steps it orchestrates: run, evaluate, predict, reports."""

__all__: tuple[str, ...] = ()
"""Nothing is re-exported: import the module of the step you need (each has its own ``__all__``)."""
