"""Compiled C of a boosted-tree model for CPU serving, with treelite and tl2cgen.

treelite (https://github.com/dmlc/treelite) reads the LightGBM or XGBoost booster into its own tree model;
tl2cgen (https://github.com/dmlc/tl2cgen) writes that model as C99 source (one ``if``/``else`` nest per tree) and
compiles it with gcc into a shared library, which :class:`CompiledModel` loads and calls. Missing values (NaN)
follow each split's learned default direction, as in the boosters. Everything treelite/tl2cgen-specific in egid
lives in this module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from egid.detector.schema import FloatArray
from egid.models.trees import TreeModel, feature_matrix

__all__ = ("TOOLCHAIN", "CompiledModel", "compile_tree_model", "write_c_source")

TOOLCHAIN = "gcc"
"""The C compiler tl2cgen builds with."""


def _treelite_model(model: TreeModel) -> Any:
    import treelite

    if model.kind == "lightgbm":
        return treelite.frontend.from_lightgbm(model.booster)
    return treelite.frontend.from_xgboost(model.booster)


def write_c_source(model: TreeModel, directory: str | os.PathLike[str]) -> Path:
    """Write the C99 source of ``model`` (``header.h``, ``main.c``, ``recipe.json``) into ``directory``."""
    import tl2cgen

    tl2cgen.generate_c_code(_treelite_model(model), str(directory), params={})
    return Path(directory)


def compile_tree_model(model: TreeModel, library: str | os.PathLike[str], *, n_threads: int = 1) -> CompiledModel:
    """Generate ``model``'s C code, compile it with gcc into the shared library ``library`` and load it.

    Parameters
    ----------
    model : TreeModel
        The booster to compile (all of its trees).
    library : path
        Destination ``.so`` file (written under a temporary name, then renamed).
    n_threads : int, default=1
        Threads of the compilation and of :meth:`CompiledModel.predict`.
    """
    import tl2cgen

    target = Path(library)
    with tempfile.TemporaryDirectory(prefix="egid-tl2cgen-") as scratch:
        source = write_c_source(model, Path(scratch) / "src")
        built = tl2cgen.create_shared(TOOLCHAIN, str(source), nthread=n_threads)
        staged = target.with_name(f".{target.name}.partial")
        shutil.move(str(built), staged)
        os.replace(staged, target)
    return CompiledModel(target, feature_names=model.feature_names, n_threads=n_threads)


class CompiledModel:
    """A shared library built by :func:`compile_tree_model`, scoring feature tables.

    Parameters
    ----------
    library : path
        The ``.so`` file.
    feature_names : tuple of str
        The columns it reads, in order (the booster's).
    n_threads : int, default=1
        Threads of a batch prediction.
    """

    def __init__(self, library: str | os.PathLike[str], *, feature_names: tuple[str, ...], n_threads: int = 1) -> None:
        import tl2cgen

        self.library = Path(library)
        self.feature_names = feature_names
        self._predictor = tl2cgen.Predictor(str(self.library), nthread=n_threads)

    def _predict(self, values: np.ndarray, *, margin: bool) -> FloatArray:
        import tl2cgen

        matrix = tl2cgen.DMatrix(np.ascontiguousarray(values, dtype=np.float32), dtype="float32")
        out = self._predictor.predict(matrix, pred_margin=margin)
        return np.asarray(out, dtype=np.float64).reshape(len(values))

    def predict_matrix(self, values: np.ndarray) -> FloatArray:
        """Electron probability of each row of a float matrix ``(n, n_features)`` in :attr:`feature_names` order."""
        return self._predict(values, margin=False)

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Electron probability of each row of the feature table ``X``, shape ``(n,)``."""
        return self.predict_matrix(feature_matrix(X, self.feature_names))

    def decision_function(self, X: pd.DataFrame) -> FloatArray:
        """Log-odds of the electron class for each row of ``X``."""
        return self._predict(feature_matrix(X, self.feature_names), margin=True)
