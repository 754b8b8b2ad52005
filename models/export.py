"""Export a :class:`~egid.models.trees.TreeModel` in the formats people deploy, and load it back.

One function per target, as conifer has one converter per library:

* :func:`to_txt` -- LightGBM's text model (``save_model`` format), carrying the feature names in order;
* :func:`to_json` -- XGBoost's JSON model, carrying the feature names in order;
* :func:`to_onnx` -- an ONNX graph (onnxmltools), written only if onnxruntime reproduces the native
  probabilities within a tolerance on a check set.

The ONNX graph has one float32 input ``input`` of shape ``(n, n_features)`` whose columns are the model's
``feature_names`` in order, and outputs ``label`` and ``probabilities`` ``(n, 2)`` (column 1: electron).
onnxmltools' XGBoost converter only accepts the feature names ``f0..f{n-1}``; the converted booster is renamed
that way and the map back to the real names is stored in the graph's metadata (``egid.input_names``,
``egid.feature_names``) and in ``<kind>_params.json``. LightGBM compares inputs to its thresholds in float64,
the ONNX graph in float32: each exported LightGBM threshold is the largest float32 not above the original, so
that float32 inputs take the same branches.

Every file is written atomically (:func:`egid.detector.atomic_path`), so a kill never leaves half a model.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

from egid.detector import InputError, atomic_path
from egid.detector.schema import FloatArray
from egid.models.manifest import read_manifest
from egid.models.trees import TREE_KINDS, LightGBMParams, TreeKind, TreeModel, XGBoostParams, feature_matrix

__all__ = (
    "ONNX_INPUT",
    "ONNX_TOLERANCE",
    "OnnxTreeScorer",
    "export_tree_model",
    "load_tree_model",
    "native_path",
    "onnx_path",
    "to_json",
    "to_onnx",
    "to_txt",
)

logger = logging.getLogger(__name__)

ONNX_INPUT = "input"
"""Name of the ONNX graph's input tensor."""
ONNX_TOLERANCE = 1e-5
"""Largest accepted |p_onnx - p_native| on the check set."""
_NATIVE_NAMES = {"lightgbm": "lightgbm.txt", "xgboost": "xgboost.json"}
_META_FEATURES, _META_INPUTS, _META_KIND = "egid.feature_names", "egid.input_names", "egid.kind"


def native_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the native booster of ``kind`` in a model directory (``lightgbm.txt`` or ``xgboost.json``)."""
    return Path(model_dir) / _NATIVE_NAMES[kind]


def onnx_path(model_dir: str | os.PathLike[str], kind: TreeKind) -> Path:
    """Path of the ONNX graph of ``kind`` in a model directory."""
    return Path(model_dir) / f"{kind}.onnx"


def _params_path(model_dir: Path, kind: TreeKind) -> Path:
    return model_dir / f"{kind}_params.json"


def _history_path(model_dir: Path, kind: TreeKind) -> Path:
    return model_dir / f"{kind}_history.csv"


def _require_kind(model: TreeModel, kind: TreeKind, target: str) -> None:
    if model.kind != kind:
        msg = f"Expected a {kind} model for {target}; got a {model.kind} model."
        raise TypeError(msg)


def to_txt(model: TreeModel, path: str | os.PathLike[str]) -> Path:
    """Write a LightGBM model as LightGBM's text format (readable by ``lightgbm.Booster(model_file=...)``)."""
    _require_kind(model, "lightgbm", "to_txt")
    with atomic_path(path) as tmp:
        tmp.write_text(model.booster.model_to_string(num_iteration=model.best_iteration))
    return Path(path)


def to_json(model: TreeModel, path: str | os.PathLike[str]) -> Path:
    """Write an XGBoost model as XGBoost's JSON format (readable by ``xgboost.Booster().load_model(...)``)."""
    _require_kind(model, "xgboost", "to_json")
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(model.booster[: model.best_iteration].save_raw("json")))
    return Path(path)


def _onnx_graph(model: TreeModel) -> tuple[Any, list[str]]:
    """Convert with onnxmltools; return the ONNX ModelProto and the graph's own feature names."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    input_type = [(ONNX_INPUT, FloatTensorType([None, len(model.feature_names)]))]
    if model.kind == "lightgbm":
        booster = lgb.Booster(model_str=model.booster.model_to_string(num_iteration=model.best_iteration))
        graph = onnxmltools.convert_lightgbm(booster, initial_types=input_type, zipmap=False)
        splits = booster.trees_to_dataframe().dropna(subset=["split_feature"])
        _round_thresholds_down(graph, splits, booster.feature_name())
        return graph, list(model.feature_names)
    renamed = model.booster[: model.best_iteration]
    input_names = [f"f{i}" for i in range(len(model.feature_names))]
    renamed.feature_names = input_names
    return onnxmltools.convert_xgboost(renamed, initial_types=input_type), input_names


def _round_thresholds_down(graph: Any, splits: pd.DataFrame, feature_names: list[str]) -> None:
    """Replace each LightGBM threshold ``t`` in ``graph`` by the largest float32 not above it.

    LightGBM compares the input, as float64, to float64 thresholds (midpoints between bin bounds); the ONNX
    tree ensemble compares float32 to float32, and onnxmltools rounds ``t`` to the nearest float32. Rounded
    up, an input equal to the rounded value goes left in the graph and right in LightGBM (an electron
    probability off by 0.04 on the default run). For a float32 input ``x``, ``x <= t`` holds exactly when
    ``x`` is at most the largest float32 not above ``t``. A graph node is matched to its split by tree,
    feature and float32 threshold; a match that is not unique is left as converted (the parity check of
    :func:`to_onnx` then decides).

    ``splits`` are the split rows of ``booster.trees_to_dataframe()``.
    """
    column = {name: i for i, name in enumerate(feature_names)}
    exact: dict[tuple[int, int, np.float32], set[float]] = {}
    for tree, feature, threshold in zip(
        splits["tree_index"], splits["split_feature"], splits["threshold"], strict=True
    ):
        exact.setdefault((int(tree), column[feature], np.float32(threshold)), set()).add(float(threshold))
    ensemble = next(node for node in graph.graph.node if node.op_type.startswith("TreeEnsemble"))
    attributes = {attribute.name: attribute for attribute in ensemble.attribute}
    values = attributes["nodes_values"].floats
    for k, (tree, feature, mode) in enumerate(
        zip(
            attributes["nodes_treeids"].ints,
            attributes["nodes_featureids"].ints,
            attributes["nodes_modes"].strings,
            strict=True,
        )
    ):
        if mode != b"BRANCH_LEQ":
            continue
        rounded = np.float32(values[k])
        thresholds = exact.get((tree, feature, rounded), set())
        if len(thresholds) == 1 and float(rounded) > next(iter(thresholds)):
            values[k] = float(np.nextafter(rounded, np.float32(-np.inf)))


def _session(serialized: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # onnxmltools declares LightGBM's label output as shape (1,); onnxruntime would log that at every call.
    options.log_severity_level = 3
    return ort.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])


def _onnx_scores(session: Any, values: np.ndarray) -> FloatArray:
    probabilities = session.run(["probabilities"], {ONNX_INPUT: values.astype(np.float32)})[0]
    return np.asarray(probabilities, dtype=np.float64)[:, 1]


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
        """Return the electron probability of each row of ``X``, shape ``(n,)`` (computed in float32)."""
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
    tolerance : float, default=1e-5
        The accepted difference in probability (the graph sums its trees' outputs in float32).

    Returns
    -------
    Path or None
        ``path``, or None when the check failed: then a warning says by how much, and no file is written.
    """
    graph, input_names = _onnx_graph(model)
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
    written = {"native": (to_txt if kind == "lightgbm" else to_json)(model, native_path(root, kind))}
    onnx_file = to_onnx(model, onnx_path(root, kind), check_X=check_X)
    onnx_inputs = [f"f{i}" for i in range(len(model.feature_names))] if kind == "xgboost" else list(model.feature_names)
    document = {
        "kind": kind,
        "seed": model.seed,
        "best_iteration": model.best_iteration,
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


def _load_booster(path: Path, kind: TreeKind) -> lgb.Booster | xgb.Booster:
    try:
        if kind == "lightgbm":
            return lgb.Booster(model_file=str(path))
        booster = xgb.Booster()
        booster.load_model(str(path))
        return booster
    except (lgb.basic.LightGBMError, xgb.core.XGBoostError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        msg = f"{path}: unreadable {kind} booster ({reason})"
        raise InputError(msg) from err


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
    if kind not in TREE_KINDS:
        msg = f"Expected a tree kind among {TREE_KINDS}; got {kind!r}."
        raise ValueError(msg)
    root = Path(model_dir)
    manifest = read_manifest(root, feature_names=feature_names, feature_set_version=feature_set_version)
    params_file, booster_file = _params_path(root, kind), native_path(root, kind)
    for path in (params_file, booster_file, _history_path(root, kind)):
        if path.name not in manifest.artifacts:
            msg = f"{path}: no {kind} model in this directory ({path.name} is not in its manifest)"
            raise InputError(msg)
    try:
        document = json.loads(params_file.read_text())
        params_type = LightGBMParams if kind == "lightgbm" else XGBoostParams
        params = params_type(**document["params"])
        names = tuple(document["feature_names"])
        best_iteration = int(document["best_iteration"])
        seed = int(document["seed"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        msg = f"{params_file}: unreadable model parameters ({type(err).__name__}: {err})"
        raise InputError(msg) from err
    booster = _load_booster(booster_file, kind)
    booster_names = tuple(booster.feature_name() if kind == "lightgbm" else booster.feature_names or ())
    if booster_names != names:
        msg = (
            f"{booster_file}: booster reads features {list(booster_names)[:5]}..., "
            f"{params_file.name} says {list(names)[:5]}..."
        )
        raise InputError(msg)
    history = pd.read_csv(_history_path(root, kind), index_col="round")
    return TreeModel(
        kind=kind,
        booster=booster,
        feature_names=names,
        best_iteration=best_iteration,
        params=params,
        history=history,
        seed=seed,
    )
