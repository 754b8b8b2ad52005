"""Export a :class:`~egid.models.trees.TreeModel` in the formats people deploy, and load it back.

One function per target:

* :func:`to_native` -- the library's own file (LightGBM's text model ``lightgbm.txt``, XGBoost's JSON model
  ``xgboost.json``), carrying the feature names in order;
* :func:`to_onnx` -- an ONNX graph (onnxmltools), written only if onnxruntime reproduces the native
  probabilities within :data:`~egid.models.onnx_parity.ONNX_TOLERANCE` on a check set.

The ONNX graph has one float32 input ``input`` of shape ``(n, n_features)`` whose columns are the model's
``feature_names`` in order, and outputs ``label`` and ``probabilities`` ``(n, 2)`` (column 1: electron); a
three-class model's ``probabilities`` are ``(n, 3)``, column ``k`` the class of label ``k`` (0 photon, 1 electron,
2 pion), checked against the native probabilities of every class. The
names the graph itself uses for its input columns (``f0..f{n-1}`` for XGBoost, whose onnxmltools converter
accepts no others) are stored with the map back to the real names in the graph's metadata (``egid.input_names``,
``egid.feature_names``) and in ``<kind>_params.json``. How each library converts (including LightGBM's
float32 threshold rounding) lives in its module of :mod:`egid.models.boosters`.

Every file is written atomically (:func:`egid.detector.atomic_path`), so a kill never leaves half a model.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from egid.detector import InputError, atomic_path
from egid.detector.schema import FloatArray
from egid.models.artifacts import read_numeric_table, reading
from egid.models.boosters import TreeKind, get_booster_library
from egid.models.boosters.base import BINARY, HISTORY_COLUMNS
from egid.models.manifest import read_manifest
from egid.models.onnx_parity import ONNX_TOLERANCE
from egid.models.trees import TreeModel, feature_matrix

__all__ = (
    "ONNX_INPUT",
    "ONNX_TOLERANCE",
    "OnnxTreeScorer",
    "export_tree_model",
    "load_tree_model",
    "native_path",
    "onnx_path",
    "to_native",
    "to_onnx",
)

logger = logging.getLogger(__name__)

ONNX_INPUT = "input"
"""Name of the ONNX graph's input tensor."""
_META_FEATURES, _META_INPUTS, _META_KIND = "egid.feature_names", "egid.input_names", "egid.kind"


def native_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the native booster of ``kind`` in a model directory (``lightgbm.txt`` or ``xgboost.json``)."""
    return Path(model_dir) / get_booster_library(kind).NATIVE_FILE


def onnx_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the ONNX graph of ``kind`` in a model directory."""
    return Path(model_dir) / f"{kind}.onnx"


def _params_path(model_dir: Path, kind: TreeKind) -> Path:
    return model_dir / f"{kind}_params.json"


def _history_path(model_dir: Path, kind: TreeKind) -> Path:
    return model_dir / f"{kind}_history.csv"


def to_native(model: TreeModel, path: str | os.PathLike[str]) -> Path:
    """Write the model's booster in its library's native format (see :func:`native_path` for the file name)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(get_booster_library(model.kind).native_bytes(model.booster, model.best_iteration))
    return Path(path)


def _session(serialized: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # onnxmltools declares LightGBM's label output as shape (1,); onnxruntime would log that at every call.
    options.log_severity_level = 3
    return ort.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])


def _onnx_scores(session: Any, values: npt.NDArray[np.float64]) -> FloatArray:
    """The electron probability ``(n,)`` of a binary graph, every class's ``(n, n_classes)`` of a multiclass one."""
    probabilities = np.asarray(session.run(["probabilities"], {ONNX_INPUT: values.astype(np.float32)})[0])
    return probabilities.astype(np.float64)[:, 1] if probabilities.shape[1] == BINARY else probabilities


class OnnxTreeScorer:
    """Score a feature table with an exported ONNX tree model through onnxruntime.

    Parameters
    ----------
    path : path
        An ONNX file written by :func:`to_onnx`.

    Attributes
    ----------
    feature_names : tuple of str
        The table columns the graph's input reads, in order.
    input_names : tuple of str
        The names the graph uses for them (``f0..`` for XGBoost).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._session = _session(self.path.read_bytes())
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types, not exported as classes.
            msg = f"{self.path}: cannot load the ONNX model ({str(err).splitlines()[0]})"
            raise InputError(msg) from err
        meta = self._session.get_modelmeta().custom_metadata_map
        if _META_FEATURES not in meta:
            msg = f"{self.path}: ONNX model has no '{_META_FEATURES}' metadata; it was not exported by egid"
            raise InputError(msg)
        self.feature_names: tuple[str, ...] = tuple(json.loads(meta[_META_FEATURES]))
        self.input_names: tuple[str, ...] = tuple(json.loads(meta[_META_INPUTS]))

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Return the electron probability of each row of ``X``, shape ``(n,)`` (computed in float32); a
        multiclass graph's class probabilities ``(n, n_classes)``."""
        return _onnx_scores(self._session, feature_matrix(X, self.feature_names))


def to_onnx(
    model: TreeModel, path: str | os.PathLike[str], *, check_X: pd.DataFrame, tolerance: float = ONNX_TOLERANCE
) -> Path | None:
    """Convert ``model`` to ONNX and write it to ``path`` if onnxruntime reproduces the native scores.

    Parameters
    ----------
    model : TreeModel
        The model to convert.
    path : path
        Destination ``.onnx`` file.
    check_X : pandas.DataFrame
        Rows on which ``max |p_onnx - p_native|`` must stay below ``tolerance`` (e.g. the test split).
    tolerance : float, default=ONNX_TOLERANCE
        The accepted difference in probability (the graph sums its trees' outputs in float32).

    Returns
    -------
    Path or None
        ``path``, or None when the check failed: then a warning says by how much, and no file is written.
    """
    library = get_booster_library(model.kind)
    graph = library.onnx_graph(model.booster, model.best_iteration, ONNX_INPUT, len(model.feature_names))
    input_names = library.onnx_input_names(model.feature_names)
    for key, value in (
        (_META_KIND, model.kind),
        (_META_FEATURES, json.dumps(list(model.feature_names))),
        (_META_INPUTS, json.dumps(input_names)),
    ):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    serialized = graph.SerializeToString()
    values = feature_matrix(check_X, model.feature_names)
    difference = float(np.max(np.abs(_onnx_scores(_session(serialized), values) - model.predict(check_X))))
    if not difference < tolerance:
        logger.warning(
            "%s: not written, ONNX %s scores differ from the native ones by up to %.3g on %d check rows (limit %.1g)",
            path,
            model.kind,
            difference,
            len(values),
            tolerance,
        )
        return None
    logger.debug("%s: ONNX parity %.3g on %d rows", path, difference, len(values))
    with atomic_path(path) as tmp:
        tmp.write_bytes(serialized)
    return Path(path)


def export_tree_model(model: TreeModel, model_dir: str | os.PathLike[str], *, check_X: pd.DataFrame) -> dict[str, Path]:
    """Write a model's native booster, ONNX graph, parameters and training history into ``model_dir``.

    Files: ``lightgbm.txt`` or ``xgboost.json``; ``<kind>.onnx`` (only if the parity check on ``check_X``
    passed, see :func:`to_onnx`); ``<kind>_params.json`` (kind, seed, best iteration, feature names,
    hyperparameters, the ONNX input-name map); ``<kind>_history.csv`` (per-round training curves).

    Returns
    -------
    dict of str to Path
        ``"native"``, ``"params"``, ``"history"`` and, when written, ``"onnx"``.
    """
    root = Path(model_dir)
    kind = model.kind
    written = {"native": to_native(model, native_path(root, kind))}
    onnx_file = to_onnx(model, onnx_path(root, kind), check_X=check_X)
    onnx_inputs = get_booster_library(kind).onnx_input_names(model.feature_names)
    document = {
        "kind": kind,
        "seed": model.seed,
        "best_iteration": model.best_iteration,
        **({} if model.n_classes == BINARY else {"n_classes": model.n_classes}),
        "feature_names": list(model.feature_names),
        "params": model.params_dict(),
        "onnx": None
        if onnx_file is None
        else {"file": onnx_file.name, "input": ONNX_INPUT, "input_names": onnx_inputs},
    }
    with atomic_path(_params_path(root, kind)) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
    with atomic_path(_history_path(root, kind)) as tmp:
        model.history.to_csv(tmp)
    written |= {"params": _params_path(root, kind), "history": _history_path(root, kind)}
    if onnx_file is not None:
        written["onnx"] = onnx_file
    return written


def read_history(path: Path, best_iteration: int) -> pd.DataFrame:
    """The per-round training curves written beside a booster: index ``round`` 1..n (n >= ``best_iteration``),
    the numeric columns :data:`~egid.models.boosters.base.HISTORY_COLUMNS`; anything else is an InputError."""
    history = read_numeric_table(path, "training history", index="round", columns=HISTORY_COLUMNS)
    if not np.array_equal(history.index.to_numpy(), np.arange(1, len(history) + 1)):
        msg = f"{path}: unreadable training history (rounds are not 1, 2, ...)"
        raise InputError(msg)
    if len(history) < best_iteration:
        msg = f"{path}: unreadable training history ({len(history)} rounds, fewer than the model's {best_iteration})"
        raise InputError(msg)
    return history


def load_tree_model(
    model_dir: str | os.PathLike[str],
    kind: TreeKind,
    *,
    feature_names: tuple[str, ...] | None = None,
    feature_set_version: str | None = None,
) -> TreeModel:
    """Load the ``kind`` model that :func:`export_tree_model` wrote, after checking the manifest.

    Parameters
    ----------
    model_dir : path
        The model directory (holding ``manifest.json``).
    kind : {"lightgbm", "xgboost"}
        Which model.
    feature_names, feature_set_version : optional
        When given, the manifest must match them (see :func:`egid.models.manifest.read_manifest`).

    Raises
    ------
    InputError
        On a manifest problem (missing, corrupted or mismatched artifact) or an unreadable booster.
    """
    library = get_booster_library(kind)
    root = Path(model_dir)
    manifest = read_manifest(root, feature_names=feature_names, feature_set_version=feature_set_version)
    params_file, booster_file = _params_path(root, kind), native_path(root, kind)
    for path in (params_file, booster_file, _history_path(root, kind)):
        if path.name not in manifest.artifacts:
            msg = f"{path}: no {kind} model in this directory ({path.name} is not in its manifest)"
            raise InputError(msg)
    with reading(params_file, "model parameters"):
        document = json.loads(params_file.read_text())
        params = library.PARAMS_TYPE(**document["params"])
        names = tuple(str(name) for name in document["feature_names"])
        best_iteration = int(document["best_iteration"])
        seed = int(document["seed"])
    booster = library.load_native(booster_file)
    booster_names = library.feature_names(booster)
    if booster_names != names:
        msg = (
            f"{booster_file}: booster reads features {list(booster_names)[:5]}..., "
            f"{params_file.name} says {list(names)[:5]}..."
        )
        raise InputError(msg)
    history = read_history(_history_path(root, kind), best_iteration)
    return TreeModel(
        kind=kind,
        booster=booster,
        feature_names=names,
        best_iteration=best_iteration,
        params=params,
        history=history,
        seed=seed,
        n_classes=library.n_classes(booster),
    )
