"""egid: electron/photon identification from CMS ECAL crystal images.

The package follows the data flow, one subpackage per step: :mod:`egid.detector` (files -> images),
:mod:`egid.simulation` (the embedded default data), :mod:`egid.features` (images -> feature table),
:mod:`egid.models` (boosted trees, the CNN head, the saved models of a run), :mod:`egid.evaluation` (scores -> metrics,
figures, reports), :mod:`egid.deploy` (trigger firmware and compiled C) and :mod:`egid.pipelines` (the command line
and the order of the steps).

The library entry points::

    import egid
    table = egid.features.build_table(images)      # (N, 32, 32, 2) crops -> one column per feature
    run = egid.load("reports/latest")              # a trained run's model sets
    scores = run.predict(images)                   # one column per model, as `egid predict` writes

``import egid`` is cheap: the subpackages load on first use, so LightGBM, torch and matplotlib are imported only
by the code that needs them.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from egid._version import __version__

if TYPE_CHECKING:
    from egid import deploy, detector, evaluation, features, models, pipelines, simulation
    from egid.models.bundle import ModelBundle
    from egid.models.three_class import ThreeClassBundle

__all__ = (
    "__version__",
    "deploy",
    "detector",
    "evaluation",
    "features",
    "load",
    "models",
    "pipelines",
    "simulation",
)

_SUBPACKAGES = frozenset({"deploy", "detector", "evaluation", "features", "models", "pipelines", "simulation"})


def load(run_dir: str | os.PathLike[str]) -> ModelBundle | ThreeClassBundle:
    """Load the saved model sets of a run directory (or of its ``models/`` folder).

    Returns
    -------
    ModelBundle or ThreeClassBundle
        Every saved model (features-only and stacked); ``.predict(images)`` scores an in-memory
        ``(N, 32, 32, 2)`` array or a file exactly as ``egid predict`` does. A three-class (electron / photon /
        charged pion) run gives a :class:`~egid.models.three_class.ThreeClassBundle`, whose ``.predict`` returns
        ``<model>_electron``, ``<model>_photon`` and ``<model>_pion`` probabilities (summing to 1 per model).

    Raises
    ------
    egid.detector.InputError
        ``run_dir`` is no egid run, an artifact is missing or corrupted, or the models were trained on another
        feature set.
    """
    from egid.models.bundle import ModelBundle
    from egid.models.three_class import ThreeClassBundle, is_three_class_run

    if is_three_class_run(run_dir):
        return ThreeClassBundle.load(run_dir)
    return ModelBundle.load(run_dir)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"egid.{name}")
    msg = f"module 'egid' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return list(__all__)
