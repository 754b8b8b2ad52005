"""The CNN head's fold ensemble: K fold networks and their input transform, scoring crops with the fold mean, saved
and loaded as a model set's files.

The ensemble is saved as one PyTorch ``state_dict`` (``cnn_fold{k}.pt``) and one ONNX graph (``cnn_fold{k}.onnx``,
raw crops in file units -> electron probability, or the class probabilities of a network of ``n_classes`` > 2,
transform included) per fold, plus the input transform
(``cnn_transform.json``) and the architecture/training settings (``cnn_config.json``). How the folds are trained
without ever scoring their own training events is :mod:`egid.models.stacking`'s job.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from egid.detector.atomic import atomic_path
from egid.detector.errors import InputError
from egid.detector.schema import IMAGE_SHAPE, Images
from egid.models.artifacts import reading
from egid.models.boosters.base import BINARY
from egid.models.cnn import CNNConfig, EgammaCNN, InputTransform, predict_proba, probabilities_of, resolve_device
from egid.models.onnx_parity import ONNX_TOLERANCE

__all__ = ("CNN_FILES", "CONFIG_FILE", "TRANSFORM_FILE", "CNNEnsemble")

logger = logging.getLogger(__name__)

CONFIG_FILE = "cnn_config.json"
TRANSFORM_FILE = "cnn_transform.json"
CNN_FILES = (CONFIG_FILE, TRANSFORM_FILE, "cnn_fold{k}.pt", "cnn_fold{k}.onnx")
"""The files :meth:`CNNEnsemble.save` writes into a model directory (``{k}`` = 0 .. K-1)."""

ONNX_OPSET = 17


class CNNEnsemble:
    """The K fold networks and their input transform; scores crops in file units.

    Parameters
    ----------
    models : sequence of EgammaCNN
        The fold networks, fold 0 first.
    config : CNNConfig
        The settings they were built and trained with (its ``transform`` is applied to every input).
    device : str or torch.device, optional
        Where to run; None picks a GPU when present.
    """

    def __init__(
        self, models: Sequence[EgammaCNN], config: CNNConfig, *, device: str | torch.device | None = None
    ) -> None:
        if not models:
            msg = "a CNNEnsemble needs at least one model"
            raise ValueError(msg)
        self.device = resolve_device(device)
        self.models = [m.to(self.device).eval() for m in models]
        self.config = config

    @property
    def transform(self) -> InputTransform:
        """The input transform shared by every fold network."""
        return self.config.transform

    def __len__(self) -> int:
        return len(self.models)

    @property
    def n_classes(self) -> int:
        """Classes the fold networks separate (2: one electron probability per crop)."""
        return self.config.n_classes

    @property
    def score_shape(self) -> tuple[int, ...]:
        """The shape of one crop's score: ``()`` (the electron probability), or ``(n_classes,)``."""
        return () if self.n_classes == BINARY else (self.n_classes,)

    def member_scores(self, images: Images) -> npt.NDArray[np.float32]:
        """Electron probability of each fold network, shape (K, n), float32, for crops (n, 32, 32, 2); with
        ``n_classes`` > 2 the class probabilities, shape (K, n, n_classes)."""
        x = _check_crops(images)
        out = np.empty((len(self.models), len(x), *self.score_shape), dtype=np.float32)
        step = self.config.inference_batch_size
        for start in range(0, len(x), step):
            inputs = self.transform(x[start : start + step])
            for k, model in enumerate(self.models):
                out[k, start : start + len(inputs)] = predict_proba(model, inputs, batch_size=step, device=self.device)
        return out

    def score(self, images: Images) -> npt.NDArray[np.float32]:
        """``cnn_score``: the mean electron probability of the fold networks, shape (n,), float32; with
        ``n_classes`` > 2 their mean class probabilities, shape (n, n_classes)."""
        mean: npt.NDArray[np.float32] = self.member_scores(images).mean(axis=0, dtype=np.float32)
        return mean

    def save(self, model_dir: str | os.PathLike[str], *, probe_images: Images | None = None) -> list[Path]:
        """Write the ensemble into ``model_dir`` (created if needed), each file atomically; return the paths.

        Writes ``cnn_config.json``, ``cnn_transform.json``, ``cnn_fold{k}.pt`` and ``cnn_fold{k}.onnx``. Each
        ONNX graph takes crops ``images`` (n, 32, 32, 2) float32 in file units and returns ``probability``
        (n,), or (n, n_classes) for a multiclass ensemble; it is checked against torch with onnxruntime on
        ``probe_images`` (default: 256 synthetic crops) and skipped with a logged warning when they differ by
        more than :data:`ONNX_TOLERANCE`.
        Fold files of an earlier, larger ensemble in the same directory are removed.
        """
        directory = Path(model_dir)
        directory.mkdir(parents=True, exist_ok=True)
        probe = _synthetic_probe() if probe_images is None else _check_crops(probe_images)
        settings = {"n_folds": len(self.models), "config": self.config.to_dict()}
        written = [directory / CONFIG_FILE]
        with atomic_path(written[0]) as tmp:
            tmp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        written.append(directory / TRANSFORM_FILE)
        self.transform.to_json(written[-1])
        for k, model in enumerate(self.models):
            weights = directory / f"cnn_fold{k}.pt"
            with atomic_path(weights) as tmp:
                torch.save(model.state_dict(), tmp)
            written.append(weights)
            onnx_path = directory / f"cnn_fold{k}.onnx"
            if _export_onnx(model, self.transform, onnx_path, probe):
                written.append(onnx_path)
        for stale in set(directory.glob("cnn_fold*")) - set(written):
            stale.unlink()
        return written

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], *, device: str | torch.device | None = None) -> CNNEnsemble:
        """Read an ensemble written by :meth:`save`; missing or malformed files raise InputError."""
        directory = Path(model_dir)
        config_path = directory / CONFIG_FILE
        try:
            settings = json.loads(config_path.read_text())
            n_folds = int(settings["n_folds"])
            config = CNNConfig.from_dict(settings["config"], InputTransform.from_json(directory / TRANSFORM_FILE))
        except InputError:  # the transform file's own message names that file
            raise
        except FileNotFoundError:
            msg = f"{config_path}: no such file; is {directory} a model directory?"
            raise InputError(msg) from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            msg = f"{config_path}: not a CNN configuration ({type(err).__name__}: {err})"
            raise InputError(msg) from None
        dev = resolve_device(device)
        models = []
        for k in range(n_folds):
            weights = directory / f"cnn_fold{k}.pt"
            if not weights.exists():
                msg = f"{weights}: no such file; the ensemble has {n_folds} folds"
                raise InputError(msg)
            model = EgammaCNN.from_config(config)
            with reading(weights, "CNN weights (torch state dict)"):
                model.load_state_dict(torch.load(weights, map_location=dev, weights_only=True))
            models.append(model)
        return cls(models, config, device=dev)


def _check_crops(images: npt.ArrayLike) -> Images:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        msg = f"expected crops of shape (n, 32, 32, 2), got {x.shape}"
        raise ValueError(msg)
    return x


def _synthetic_probe(n: int = 256, seed: int = 0) -> Images:
    """Crops that exercise every branch of the transform: empty crystals, a hot seed, clipped times."""
    rng = np.random.default_rng(seed)
    energy_gev = rng.exponential(0.3, size=(n, *IMAGE_SHAPE[:2])) * (rng.random((n, *IMAGE_SHAPE[:2])) < 0.3)
    energy_gev[:, 16, 16] += rng.uniform(5, 60, size=n)
    time_ns = np.where(energy_gev > 0, rng.normal(0, 15, size=energy_gev.shape), 0.0)
    return (np.stack((energy_gev, time_ns), axis=-1) / 50.0).astype(np.float32)


class _ScoringGraph(nn.Module):
    """Crops in file units -> electron (or class) probabilities: the transform and one fold network, for ONNX."""

    def __init__(self, model: EgammaCNN, transform: InputTransform) -> None:
        super().__init__()
        self.model = model
        self.transform = transform

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return probabilities_of(self.model(self.transform(images)))


def _export_onnx(model: EgammaCNN, transform: InputTransform, path: Path, probe: Images) -> bool:
    """Export one fold's scoring graph to ``path`` if onnxruntime reproduces torch; return whether it did."""
    import onnxruntime

    graph = _ScoringGraph(copy.deepcopy(model).cpu(), transform).eval()  # export and check on the CPU
    with torch.no_grad():
        expected = graph(torch.from_numpy(probe)).numpy()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # The dynamo exporter needs onnxscript, which egid does not depend on; the TorchScript exporter and
            # its internals warn that they are deprecated, but it is exact for this graph (checked below).
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                graph,
                (torch.from_numpy(probe[:2]),),
                str(tmp),
                input_names=["images"],
                output_names=["probability"],
                dynamic_axes={"images": {0: "n"}, "probability": {0: "n"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
            session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
            got = session.run(None, {"images": probe})[0]
            diff = float(np.max(np.abs(got - expected)))
            if not diff < ONNX_TOLERANCE:
                raise _ParityError(diff)
    except _ParityError as err:
        logger.warning("%s: not written, onnxruntime differs from torch by %.3g (> %g)", path, err.diff, ONNX_TOLERANCE)
        path.unlink(missing_ok=True)
        return False
    return True


class _ParityError(Exception):
    def __init__(self, diff: float) -> None:
        super().__init__(diff)
        self.diff = diff
