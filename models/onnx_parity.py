"""The one tolerance of every ONNX export: how far onnxruntime's probabilities may stray from the native ones.

Both exporters (the boosted trees in :mod:`egid.models.export`, the CNN folds in :mod:`egid.models.stacking`)
score a check set with the native model and with the ONNX graph and write the graph only when
``max |p_onnx - p_native| < ONNX_TOLERANCE``. One limit serves both because both graphs compute in float32
what the native model computes in float64 (tree sums) or float32 with another operation order (the network):
rounding moves a probability in [0, 1] by a few 1e-7, while a structural error (a split taking the other branch,
a wrong input transform) moves it by 1e-3 or more.
"""

from __future__ import annotations

__all__ = ("ONNX_TOLERANCE",)

ONNX_TOLERANCE = 1e-5
"""Largest accepted |p_onnx - p_native| (electron probability) on an export's check set."""
