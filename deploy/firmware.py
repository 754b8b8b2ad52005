"""Trigger firmware of a boosted-tree model with conifer: the HLS project, its C++ emulation, resource estimates.

conifer (https://github.com/thesps/conifer, 1.11) turns a tree ensemble into an intermediate form (a plain dict,
:data:`Ensemble`) and writes it out through a backend: ``xilinxhls`` writes the Vivado/Vitis HLS project of the
firmware, ``cpp`` compiles (g++, pybind11, nlohmann-json) a bit-accurate C++ emulation in ``float``, ``double`` or
``ap_fixed<W,I>`` arithmetic. Everything conifer-specific in egid lives in this module.

Conversion:

* XGBoost: conifer's XGBoost converter reads the booster (split ``x < t``, base score as log-odds), with each
  threshold set back to XGBoost's float32 (:func:`ensemble_from_xgboost`).
* LightGBM: conifer has no LightGBM converter, so the booster goes through egid's ONNX graph
  (:func:`egid.models.export.to_onnx`): its nodes are ``BRANCH_LEQ`` (``x <= t``) with each threshold rounded down
  to float32, which for float32 inputs takes exactly LightGBM's branches. conifer 1.11's ONNX converter reads the
  class count from a ``ZipMap`` node, requires a ``base_values`` attribute and takes the leaf values
  (``class_weights``) in the order the leaves appear among the nodes; egid's graphs (``zipmap=False``, no base
  value, leaf values listed in onnxmltools' traversal order) meet none of the three, so
  :func:`ensemble_from_onnx` hands it a two-node copy of the graph that does (base value 0: the LightGBM margin
  has none).
* Both: the ensemble's depth, which sizes the firmware and its estimates, is read from its trees; conifer's
  converters guess it (XGBoost's from a training configuration that a booster read from its file no longer holds,
  the ONNX one from the node count as if every tree were balanced, which LightGBM's leaf-wise trees are not).

conifer's score (:meth:`Emulation.decision_function`) is the raw sum of the leaf values: the log-odds of the
electron class, to which :meth:`Emulation.predict` applies the sigmoid. conifer routes no missing values (a NaN
feature takes neither learned default direction), so the emulation refuses NaN inputs; a trigger's features
are always defined.

Fixed point: conifer gives every input, threshold and score one ``ap_fixed<W,I>`` type. Fitting ``I`` to the
largest threshold (:func:`integer_bits` of the raw ensemble) leaves features of small magnitude few fractional bits
(energies up to 84 GeV need 8 integer bits; at 18 bits ``sigma_ietaieta``, near 0.01, then spans about ten
steps). :func:`scale_inputs` multiplies each feature's thresholds by its own power of two so that every feature
uses the range the score needs anyway; the firmware then takes each input multiplied by the same power of two.

The ``ap_fixed`` headers come from the hls4ml wheel (``hls4ml/templates/vivado/ap_types``, conifer's wheel lacks
them), handed to conifer through ``XILINX_AP_INCLUDE`` unless that is already set.
"""

from __future__ import annotations

import copy
import gc
import importlib.util
import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from egid.detector.schema import FloatArray

__all__ = (
    "DEFAULT_CLOCK_PERIOD_NS",
    "DEFAULT_FPGA_PART",
    "FLOAT_PRECISIONS",
    "Emulation",
    "Ensemble",
    "InputScaling",
    "build_emulation",
    "check_precision",
    "ensemble_from_onnx",
    "ensemble_from_xgboost",
    "fixed_point",
    "fixed_point_bits",
    "integer_bits",
    "performance_estimates",
    "reference_decision_function",
    "scale_inputs",
    "score_integer_bits",
    "write_hls_project",
)

logger = logging.getLogger(__name__)

Ensemble: TypeAlias = dict[str, Any]
"""conifer's intermediate form of a tree ensemble (keys ``n_trees``, ``max_depth``, ``trees``, ``init_predict``,
``splitting_convention``, ...)."""

FLOAT_PRECISIONS = ("float", "double")
"""Floating-point emulation precisions (no ``ap_fixed`` headers needed)."""
DEFAULT_FPGA_PART = "xcvu9p-flgb2104-2L-e"
"""The FPGA of conifer's HLS default configuration (a Virtex UltraScale+ VU9P, as in the CMS Phase-2 trigger)."""
DEFAULT_CLOCK_PERIOD_NS = 5.0
"""HLS clock period in ns (200 MHz, conifer's default)."""
_AP_INCLUDE = "XILINX_AP_INCLUDE"
_PROJECT = "egid_bdt"
_FIXED = re.compile(r"ap_fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*AP_[A-Z_]+\s*)*>")
# Rounding to nearest (ties to even) and saturation: values beyond the range clip instead of wrapping around.
_FIXED_MODES = "AP_RND_CONV,AP_SAT"


def fixed_point(width: int, integer: int) -> str:
    """The ``ap_fixed`` type of ``width`` bits with ``integer`` integer bits (sign included), rounding, saturating.

    Its step is ``2**-(width - integer)`` and its range ``[-2**(integer-1), 2**(integer-1))``.
    """
    if not 1 <= integer <= width:
        msg = f"Expected 1 <= integer bits <= width; got ap_fixed<{width},{integer}>."
        raise ValueError(msg)
    return f"ap_fixed<{width},{integer},{_FIXED_MODES}>"


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is ``float``, ``double`` or an ``ap_fixed<W,I[,modes]>`` with ``1 <= I <= W``.

    Raises
    ------
    ValueError
        Naming the accepted forms.
    """
    match = _FIXED.fullmatch(precision.strip())
    if precision in FLOAT_PRECISIONS or (match and 1 <= int(match[2]) <= int(match[1])):
        return precision.strip()
    msg = f"expected 'float', 'double' or 'ap_fixed<W,I>' with 1 <= I <= W; got {precision!r}"
    raise ValueError(msg)


def fixed_point_bits(precision: str) -> tuple[int, int] | None:
    """``(W, I)`` of an ``ap_fixed<W,I[,modes]>`` precision; ``None`` for ``float`` and ``double``.

    Raises
    ------
    ValueError
        As :func:`check_precision`.
    """
    match = _FIXED.fullmatch(check_precision(precision))
    return None if match is None else (int(match[1]), int(match[2]))


def ensemble_from_xgboost(booster: Any) -> Ensemble:
    """conifer's intermediate form of an ``xgboost.Booster`` (binary logistic), through conifer's converter.

    XGBoost compares float32 inputs to float32 thresholds; conifer reads them from the booster's text dump, whose
    decimal is not exactly the float32. An input equal to the threshold then branched the other way (a log-odds
    error of 0.4 on one event in ten of ``tests/models/test_firmware.py``), so each threshold is set back to its
    float32 value. The depth is that of the deepest tree: conifer reads it from the booster's training configuration,
    which a booster read from its JSON model file no longer carries (conifer then says XGBoost's default, 6).
    """
    from conifer.converters import get_converter

    ensemble: Ensemble = get_converter("xgboost").convert(booster)
    for tree in (tree for trees in ensemble["trees"] for tree in trees):
        tree["threshold"] = [float(np.float32(t)) for t in tree["threshold"]]
    return _with_tree_depth(ensemble)


def _with_tree_depth(ensemble: Ensemble) -> Ensemble:
    """``ensemble`` with its ``max_depth`` set to that of its deepest tree (see the module notes)."""
    ensemble["max_depth"] = max(_depth(tree) for trees in ensemble["trees"] for tree in trees)
    return ensemble


def _depth(tree: dict[str, Any]) -> int:
    """Levels of splits of one tree of an :data:`Ensemble` (0 for a lone leaf), from its child index lists."""
    deepest, pending = 0, [(0, 0)]
    while pending:
        node, level = pending.pop()
        if tree["children_left"][node] < 0:
            deepest = max(deepest, level)
        else:
            pending += [(tree["children_left"][node], level + 1), (tree["children_right"][node], level + 1)]
    return deepest


def ensemble_from_onnx(graph: Any) -> Ensemble:
    """conifer's intermediate form of an egid ONNX tree graph (``onnx.ModelProto`` from :func:`to_onnx`).

    Only the ``TreeEnsembleClassifier`` node is read; see the module notes for the ZipMap and ``base_values``
    that conifer 1.11 needs and egid's graphs lack, and for the depth.
    """
    import onnx
    from conifer.converters import get_converter

    trees = next((node for node in graph.graph.node if node.op_type == "TreeEnsembleClassifier"), None)
    if trees is None:
        msg = "Expected an ONNX graph with a TreeEnsembleClassifier node (an egid tree export)."
        raise ValueError(msg)
    node = copy.deepcopy(trees)
    _leaves_in_node_order(node)
    if not any(attribute.name == "base_values" for attribute in node.attribute):
        node.attribute.append(onnx.helper.make_attribute("base_values", [0.0]))
    zipmap = onnx.helper.make_node(
        "ZipMap", [node.output[1]], ["zipped"], name="ZipMap", domain="ai.onnx.ml", classlabels_int64s=[0, 1]
    )
    adapted = onnx.helper.make_model(
        onnx.helper.make_graph([node, zipmap], "egid_trees", list(graph.graph.input), list(graph.graph.output))
    )
    ensemble: Ensemble = get_converter("onnx").convert(adapted)
    return _with_tree_depth(ensemble)


def _leaves_in_node_order(node: Any) -> None:
    """Reorder the ``class_*`` attributes of a TreeEnsemble node to follow its ``nodes_*`` order."""
    attributes = {attribute.name: attribute for attribute in node.attribute}
    position = {
        key: k
        for k, key in enumerate(zip(attributes["nodes_treeids"].ints, attributes["nodes_nodeids"].ints, strict=True))
    }
    keys = zip(attributes["class_treeids"].ints, attributes["class_nodeids"].ints, strict=True)
    order = np.argsort([position[key] for key in keys], kind="stable")
    for name in ("class_treeids", "class_nodeids", "class_ids"):
        values = [attributes[name].ints[k] for k in order]
        del attributes[name].ints[:]
        attributes[name].ints.extend(values)
    weights = [attributes["class_weights"].floats[k] for k in order]
    del attributes["class_weights"].floats[:]
    attributes["class_weights"].floats.extend(weights)


def _splits(ensemble: Ensemble) -> Iterator[tuple[int, float]]:
    """``(feature, threshold)`` of every split node of ``ensemble`` (leaves have feature ``-2``)."""
    for tree in (tree for trees in ensemble["trees"] for tree in trees):
        yield from ((f, t) for f, t in zip(tree["feature"], tree["threshold"], strict=True) if f >= 0)


def _score_bound(ensemble: Ensemble) -> float:
    """``|init| + sum over trees of max |leaf value|``: no partial sum of the score (log-odds) exceeds it."""
    leaves = [
        max(abs(float(v)) for v, f in zip(tree["value"], tree["feature"], strict=True) if f < 0)
        for trees in ensemble["trees"]
        for tree in trees
    ]
    return abs(float(ensemble["init_predict"][0])) + sum(leaves)


def _bits_for(bound: float) -> int:
    """Integer bits (sign included) whose range ``[-2**(I-1), 2**(I-1))`` holds ``±bound``; at least 2."""
    return int(np.floor(np.log2(max(bound, 1.0)))) + 2


def integer_bits(ensemble: Ensemble) -> int:
    """Integer bits (sign included) an ``ap_fixed`` needs to hold every threshold and every partial score sum.

    The score bound is ``|init| + sum over trees of max |leaf value|`` (log-odds); ``I = floor(log2(bound)) + 2``
    puts the largest threshold or score bound in ``[2**(I-2), 2**(I-1))``. Of an ensemble from
    :func:`scale_inputs` this is its :attr:`InputScaling.integer_bits` (the thresholds stay below the score's range).
    """
    return _bits_for(max([abs(t) for _, t in _splits(ensemble)] + [_score_bound(ensemble)]))


def score_integer_bits(ensemble: Ensemble) -> int:
    """Integer bits (sign included) that every partial score sum needs, thresholds aside: those of
    :func:`scale_inputs`, which fits the thresholds into the same range."""
    return _bits_for(_score_bound(ensemble))


@dataclass(frozen=True)
class InputScaling:
    """Per-feature power-of-two scaling of an ensemble's inputs, from :func:`scale_inputs`.

    Attributes
    ----------
    shifts : tuple of int
        ``s_i`` per feature index: the firmware's input ``i`` is ``x_i * 2**s_i`` (0 for a feature no split reads).
    integer_bits : int
        ``I`` of the ``ap_fixed<W,I>`` the shifts were chosen for: that of the score bound alone.
    width : int
        ``W``, the narrowest total width at which every scaled threshold is guaranteed to quantise strictly inside
        the range (see :func:`scale_inputs`); any wider width keeps the guarantee.
    """

    shifts: tuple[int, ...]
    integer_bits: int
    width: int

    def apply(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``X`` (n, n_features) with column ``i`` multiplied by ``2**shifts[i]``: exact in floating point."""
        values = np.asarray(X, dtype=np.float64)
        return np.asarray(np.ldexp(values, np.asarray(self.shifts, dtype=np.int64)), dtype=np.float64)


def scale_inputs(ensemble: Ensemble, *, width: int) -> tuple[Ensemble, InputScaling]:
    r"""Scale each feature's thresholds by a power of two so that it uses the range the score needs anyway.

    With ``I`` the integer bits of the score bound alone (:func:`score_integer_bits`), the step
    ``q = 2**(I - width)`` of ``ap_fixed<width, I>`` and ``m_i`` the largest ``|threshold|`` of feature ``i``,

    .. math::

        s_i = \max\{s \in \mathbb{Z} : m_i \, 2^{s} \le 2^{I-1} - 2q\},

    so each feature's largest scaled threshold lies in ``(2**(I-2) - q, 2**(I-1) - 2q]``: the top of the range,
    two steps below its end. The scaled ensemble has every threshold ``t`` of feature ``i`` replaced by
    ``t * 2**s_i`` and the leaves unchanged.

    Why powers of two: multiplying a float by ``2**s`` only changes its exponent, so it is exact (no threshold or
    input moves relative to another; no overflow or underflow at these magnitudes), and the double-precision
    emulation of the scaled ensemble on scaled inputs takes exactly the branches, hence gives exactly the scores,
    of the unscaled one on raw inputs. In firmware a power of two is free: it moves the binary point.

    What the firmware then expects: input ``i`` is ``x_i * 2**s_i`` (:meth:`InputScaling.apply`), converted to
    ``ap_fixed<W,I>`` with rounding and saturation. A trigger upstream that computes ``x_i`` in fixed point
    delivers its bits with the binary point moved ``s_i`` places to the right (left for ``s_i < 0``): the same
    wires, read as a type with ``s_i`` more integer bits, then assigned to the firmware's input type (which
    rounds, and saturates what lies beyond the range) rather than shifted within a narrower type, which would wrap.

    Saturation: an input beyond the range, ``|x_i| * 2**s_i >= 2**(I-1)``, lies beyond every threshold of its
    feature, and its saturated value ``2**(I-1) - q`` (or ``-2**(I-1)``) keeps that side of every threshold that
    quantises strictly inside the range: under both ``<`` and ``<=``. The two steps of headroom guarantee that at
    ``width`` and every wider width: each scaled ``|t| <= 2**(I-1) - 2q`` rounds to at most ``2**(I-1) - 2q``.
    Without them, a largest threshold whose float mantissa is close to 2 can round onto an end of the range
    (``2**(I-1) - q`` or ``-2**(I-1)``), where a saturated input meets it and takes the wrong branch (under ``<=`` at
    the top, ``<`` at the bottom); an unscaled ensemble (:func:`integer_bits`) carries that risk for its largest
    threshold. At widths below ``width`` the shifts still apply, without the guarantee.

    Parameters
    ----------
    ensemble : Ensemble
        From :func:`ensemble_from_xgboost` or :func:`ensemble_from_onnx`; not modified.
    width : int
        Total bits of the narrowest ``ap_fixed`` the scaled ensemble is meant for (the HLS project's); more than
        ``I``.

    Returns
    -------
    scaled : Ensemble
        A copy with scaled thresholds; its :func:`integer_bits` is ``I``.
    scaling : InputScaling
        The shifts, ``I`` and ``width``.

    Raises
    ------
    ValueError
        If ``width <= I``: no fractional bit would be left.
    """
    integer = score_integer_bits(ensemble)
    if width <= integer:
        msg = f"Expected a width above the score's {integer} integer bits; got {width}."
        raise ValueError(msg)
    limit = 2.0 ** (integer - 1) - 2.0 ** (integer + 1 - width)
    largest = np.zeros(int(ensemble["n_features"]))
    for feature, threshold in _splits(ensemble):
        largest[feature] = max(largest[feature], abs(threshold))
    shifts = tuple(_largest_shift(m, limit) for m in largest)
    scaled = copy.deepcopy(ensemble)
    for tree in (tree for trees in scaled["trees"] for tree in trees):
        tree["threshold"] = [
            float(np.ldexp(t, shifts[f])) if f >= 0 else t
            for t, f in zip(tree["threshold"], tree["feature"], strict=True)
        ]
    return scaled, InputScaling(shifts=shifts, integer_bits=integer, width=width)


def _largest_shift(magnitude: float, limit: float) -> int:
    """The largest integer ``s`` with ``magnitude * 2**s <= limit`` (0 for a magnitude of 0: no threshold)."""
    if magnitude == 0.0:
        return 0
    shift = int(np.floor(np.log2(limit / magnitude)))
    # log2 rounds; settle the boundary with exact products.
    while np.ldexp(magnitude, shift + 1) <= limit:
        shift += 1
    while np.ldexp(magnitude, shift) > limit:
        shift -= 1
    return shift


def _ap_types_dir() -> Path:
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        msg = "ap_fixed emulation needs the ap_types headers of the hls4ml wheel: pip install 'egid[deploy]'"
        raise RuntimeError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "templates" / "vivado" / "ap_types"


def _config(backend: str, precision: str, directory: Path) -> dict[str, Any]:
    return {"Backend": backend, "ProjectName": _PROJECT, "OutputDir": str(directory), "Precision": precision}


def _conifer_model(ensemble: Ensemble, config: dict[str, Any] | None) -> Any:
    from conifer.model import make_model

    # conifer's backends pad and annotate the trees in place; keep the caller's ensemble intact.
    return make_model(copy.deepcopy(ensemble), config)


def reference_decision_function(ensemble: Ensemble, X: npt.ArrayLike) -> FloatArray:
    """conifer's plain-Python evaluation of ``ensemble`` (float64, no compilation): the log-odds of each row.

    The reference the compiled emulations are compared to, and a quick check of a conversion.
    """
    values = np.asarray(X, dtype=np.float64)
    return np.asarray(_conifer_model(ensemble, None).decision_function(values), dtype=np.float64).reshape(len(values))


class Emulation:
    """conifer's compiled C++ emulation of an ensemble at one precision.

    Parameters
    ----------
    ensemble : Ensemble
        From :func:`ensemble_from_xgboost` or :func:`ensemble_from_onnx`.
    precision : str
        ``float``, ``double`` or an ``ap_fixed`` (see :func:`fixed_point`), for inputs, thresholds and scores.
    directory : path
        Where conifer writes the project and the shared library (``conifer_bridge_*.so``), which must stay there
        while the emulation is used.
    """

    def __init__(self, ensemble: Ensemble, precision: str, directory: str | os.PathLike[str]) -> None:
        self.precision = check_precision(precision)
        self.directory = Path(directory)
        if self.precision not in FLOAT_PRECISIONS:
            os.environ.setdefault(_AP_INCLUDE, str(_ap_types_dir()))
        self.n_features = int(ensemble["n_features"])
        self._model = _conifer_model(ensemble, _config("cpp", self.precision, self.directory))
        logger.debug("conifer: compiling the %s emulation in %s", self.precision, self.directory)
        try:
            self._model.compile()
        except Exception as err:  # conifer raises a bare Exception when g++ fails.
            msg = f"conifer could not compile the {self.precision} emulation in {self.directory}: {err}"
            raise RuntimeError(msg) from err

    def decision_function(self, X: npt.ArrayLike) -> FloatArray:
        """The emulated score of each row of ``X`` (n, n_features): the log-odds of the electron class.

        Raises
        ------
        ValueError
            If ``X`` has the wrong number of columns or holds NaN (conifer routes no missing values).
        """
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            msg = f"Expected an array of shape (n, {self.n_features}); got shape {values.shape}."
            raise ValueError(msg)
        if np.isnan(values).any():
            msg = f"{int(np.isnan(values).any(axis=1).sum())} rows hold NaN; conifer routes no missing values."
            raise ValueError(msg)
        if len(values) == 0:
            return np.zeros(0)
        return np.asarray(self._model.decision_function(values), dtype=np.float64).reshape(len(values))

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """The emulated electron probability of each row: the sigmoid of :meth:`decision_function`."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.decision_function(X))), dtype=np.float64)


def build_emulation(ensemble: Ensemble, precision: str, directory: str | os.PathLike[str]) -> Emulation:
    """Compile conifer's C++ emulation of ``ensemble`` at ``precision`` in ``directory`` (g++, seconds)."""
    return Emulation(ensemble, precision, directory)


def write_hls_project(
    ensemble: Ensemble,
    precision: str,
    directory: str | os.PathLike[str],
    *,
    fpga_part: str = DEFAULT_FPGA_PART,
    clock_period_ns: float = DEFAULT_CLOCK_PERIOD_NS,
) -> Path:
    """Write the Vivado/Vitis HLS project of the firmware (conifer's ``xilinxhls`` backend, unrolled trees).

    ``directory`` receives ``firmware/`` (``BDT.h``, ``parameters.h``, ``egid_bdt.cpp``), the test bench and the
    ``build_hls.tcl`` that HLS synthesis runs; no Xilinx tool is needed to write it.
    """
    config = _config("xilinxhls", check_precision(precision), Path(directory))
    config |= {"XilinxPart": fpga_part, "ClockPeriod": str(clock_period_ns), "Unroll": True, "AcceleratorConfig": None}
    with warnings.catch_warnings():
        # conifer 1.11's HLS writer opens its templates without closing them; collect those file objects here so
        # their ResourceWarnings stay inside this call instead of surfacing at a random later collection.
        warnings.simplefilter("ignore", ResourceWarning)
        _conifer_model(ensemble, config).write()
        gc.collect()
    return Path(directory)


def performance_estimates(ensemble: Ensemble) -> dict[str, int]:
    """conifer's estimates of the HLS firmware's latency (clock cycles), LUT and FF use.

    They come from conifer 1.11's performance models (``conifer.utils.performance``: BDTs that conifer's authors
    fitted to HLS synthesis results as a function of the ensemble's size, depth, sparsity and feature use), not
    from a synthesis of this model; conifer itself calls them experimental.

    Returns
    -------
    dict
        ``latency`` (clock cycles), ``lut`` and ``ff``.
    """
    from conifer.utils.performance import performance_estimates as estimate

    estimates = estimate(_conifer_model(ensemble, None), backend="xilinxhls")
    return {key: int(value) for key, value in estimates.items()}
