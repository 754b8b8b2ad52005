"""The saved models of a run (its model sets), loading them back, and scoring crops with them.

A run's ``models/`` folder holds up to three self-contained model sets, each with its own ``manifest.json``::

    models/features_only/   lightgbm.txt, xgboost.json, their .onnx graphs, parameters, training curves,
                            feature importances, working_points.json
    models/trigger/         the same for the trigger-sized model (xgboost.json: an XGBoost booster reading only
                            its 5x5-window features)
    models/stacked/         the same for the trees that also read cnn_score, plus the CNN fold networks
                            (cnn_fold{k}.pt / .onnx), cnn_config.json and cnn_transform.json

Each manifest pins the feature names (``stacked`` adds ``cnn_score``, ``trigger`` reads a subset), the feature-set
version and the SHA-256 of every file, so loading refuses a model set that does not match the features egid
computes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from egid.detector import (
    DEFAULT_CHUNK,
    EventDataset,
    InputError,
    Split,
    atomic_path,
    load_dataset,
    stratified_subsample,
)
from egid.detector.schema import Images
from egid.features import FEATURE_NAMES, FEATURE_SET_VERSION
from egid.features.crops import checked_crops
from egid.features.extract import LABEL_COLUMN
from egid.features.registry import crop_columns
from egid.models.catalogue import (
    CNN_MODEL,
    CNN_SCORE,
    FEATURES_ONLY,
    MODEL_SETS,
    SET_COLUMNS,
    STACKED,
    FittedModels,
    model_names,
    score_table,
    set_members,
)
from egid.models.export import export_tree_model, load_tree_model
from egid.models.importance import ShapValues, write_importances
from egid.models.manifest import MANIFEST_NAME, write_manifest
from egid.models.trees import TreeKind, TreeModel

if TYPE_CHECKING:
    from egid.models.cnn_ensemble import CNNEnsemble

__all__ = ("WORKING_POINTS_FILE", "ModelBundle", "model_dir_of", "model_sets", "save_model_sets")

logger = logging.getLogger(__name__)

WORKING_POINTS_FILE = "working_points.json"
_PARITY_ROWS = 20_000
"""Test events, drawn seeded and stratified by class, on which each ONNX export must match its booster."""


def model_sets(path: str | os.PathLike[str]) -> list[Path]:
    """The model sets (folders holding a ``manifest.json``) of a run directory, sorted by name.

    ``path`` may be a run directory, its ``models/`` folder, or one model set; a single flat ``models/``
    folder with its own manifest is one set.

    Raises
    ------
    InputError
        When ``path`` is not a directory or holds no manifest at any of those places.
    """
    root = Path(path)
    if not root.exists():
        msg = f"{root}: no such model directory"
        raise InputError(msg)
    if not root.is_dir():
        msg = f"{root}: is not a directory, expected a run directory or its models/ folder"
        raise InputError(msg)
    base = root / "models" if (root / "models").is_dir() and not (root / MANIFEST_NAME).is_file() else root
    if (base / MANIFEST_NAME).is_file():
        return [base]
    folders = sorted(sub for sub in base.iterdir() if (sub / MANIFEST_NAME).is_file())
    if not folders:
        msg = f"{root}: no {MANIFEST_NAME} here, in models/ or in their subfolders; not an egid run directory"
        raise InputError(msg)
    return folders


def model_dir_of(path: str | os.PathLike[str]) -> Path:
    """Return the ``models/`` folder of a run directory (``path`` may also be that folder itself).

    Raises
    ------
    InputError
        As :func:`model_sets`, or when the folder holds neither a features-only nor a stacked model set.
    """
    sets = [folder for folder in model_sets(path) if folder.name in (FEATURES_ONLY, STACKED)]
    if not sets:
        msg = f"{path}: no {FEATURES_ONLY}/ or {STACKED}/ model set with a {MANIFEST_NAME}, not an egid run directory"
        raise InputError(msg)
    return sets[0].parent


def save_model_sets(
    fitted: FittedModels,
    table: pd.DataFrame,
    split: Split,
    model_dir: Path,
    *,
    thresholds: dict[str, dict[float, float]],
    seed: int,
    shap: Mapping[str, ShapValues],
    probe_images: np.ndarray | None = None,
) -> list[Path]:
    """Write the run's model sets into ``model_dir`` and return their folders.

    Parameters
    ----------
    fitted : FittedModels
    table : DataFrame
        Feature table (with ``cnn_score`` when the CNN ran); its test rows check the ONNX parity.
    split : Split
    model_dir : Path
        The run's ``models/`` folder.
    thresholds : dict
        Working-point thresholds per model (chosen on validation), stored for later evaluations.
    seed : int
    shap : mapping of str to ShapValues
        TreeSHAP values of every tree on test events (:func:`egid.evaluation.publish.shap_on_test_events`), whose mean
        |SHAP| is stored with the feature importances.
    probe_images : ndarray, optional
        Crops on which the CNN's ONNX parity is checked.
    """
    drawn = stratified_subsample(table[LABEL_COLUMN].to_numpy()[split.test], _PARITY_ROWS, seed=seed)
    test_rows = table.iloc[split.test[drawn]]
    written = []
    for set_name in MODEL_SETS:
        names = set_members(set_name, fitted.names)
        if not names:
            continue
        first_tree = next(name for name in names if name in MODEL_SETS[set_name])
        columns = list(fitted.trees[first_tree].feature_names)  # every tree of a set reads the same columns
        folder = model_dir / set_name
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name == CNN_MODEL:
                assert fitted.cnn is not None
                fitted.cnn.ensemble.save(folder, probe_images=probe_images)
                continue
            model = fitted.trees[name]
            export_tree_model(model, folder, check_X=test_rows[columns])
            write_importances(model, shap[name], folder)
        with atomic_path(folder / WORKING_POINTS_FILE) as tmp:
            tmp.write_text(json.dumps({name: thresholds.get(name, {}) for name in names}, indent=2) + "\n")
        write_manifest(
            folder,
            feature_names=columns,
            feature_set_version=FEATURE_SET_VERSION,
            seed=seed,
            extra={"models": names},
        )
        written.append(folder)
    return written


@dataclass
class ModelBundle:
    """The models of a run, loaded and checked against their manifests, ready to score new crops.

    Attributes
    ----------
    trees : dict of str to TreeModel
        By model name (``lightgbm``, ``xgboost``, ``trigger``, ``lightgbm+cnn``, ``xgboost+cnn``).
    cnn : CNNEnsemble or None
        The CNN fold networks when the run trained them.
    thresholds : dict
        Working-point thresholds per model, chosen on the training run's validation split.
    """

    trees: dict[str, TreeModel]
    cnn: CNNEnsemble | None = None
    thresholds: dict[str, dict[float, float]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Model names in display order (see :func:`egid.models.catalogue.model_names`)."""
        return model_names(self.trees, with_cnn=self.cnn is not None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelBundle:
        """Load the model sets of a run directory (or of its ``models/`` folder).

        Raises
        ------
        InputError
            The folder is no egid run, an artifact is missing or corrupted, or the models were trained on
            another feature set.
        """
        root = model_dir_of(path)
        trees: dict[str, TreeModel] = {}
        cnn = None
        thresholds: dict[str, dict[float, float]] = {}
        for set_name, members in MODEL_SETS.items():
            folder = root / set_name
            if not folder.is_dir():
                continue
            for name, kind in members.items():
                trees[name] = _load_member(folder, kind, SET_COLUMNS[set_name])
            if set_name == STACKED:
                from egid.models.cnn_ensemble import CNNEnsemble

                cnn = CNNEnsemble.load(folder)
            thresholds |= _read_thresholds(folder / WORKING_POINTS_FILE)
        if not trees:
            msg = f"{root}: holds neither {FEATURES_ONLY}/ nor {STACKED}/ models"
            raise InputError(msg)
        return cls(trees=trees, cnn=cnn, thresholds=thresholds)

    def score(self, dataset: EventDataset, *, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Compute features (and ``cnn_score``) and every model's score in one streaming pass over ``dataset``.

        Returns
        -------
        table : DataFrame
            Feature columns (plus ``cnn_score``), one row per event in dataset order.
        scores : DataFrame
            One column per model (:attr:`names`), electron probabilities.
        """
        blocks = (images for _, images in dataset.iter_images())
        return self._score_blocks(blocks, len(dataset), progress=progress)

    def predict(self, images: Images | str | os.PathLike[str], *, progress: bool = False) -> pd.DataFrame:
        """Every saved model's electron probability for each crop, exactly as ``egid predict`` writes them.

        Parameters
        ----------
        images : array of shape (N, 32, 32, 2), or path-like
            Crops in the file units of the CMS layout (channel 0 energy in GeV / 50, channel 1 time in ns / 50,
            energies >= 0), or an HDF5 file holding them as dataset ``X`` (labels ``y`` optional).
        progress : bool, default=False
            Show a progress bar.

        Returns
        -------
        scores : DataFrame of shape (N, n_models)
            One column per model (:attr:`names`: features-only and stacked), electron probabilities in
            [0, 1], one row per crop in input order (index ``index``).

        Raises
        ------
        InputError
            The array is not of real numbers (complex, a torch tensor that requires grad) of shape (N, 32, 32, 2),
            breaks the pixel rule (NaN/inf, negative energies, values beyond physics, see
            :func:`egid.detector.check_images`), or the file cannot be used.
        """
        if isinstance(images, (str, os.PathLike)):
            _, scores = self.score(load_dataset(data=images, labelled=False), progress=progress)
        else:
            x = checked_crops(images, name="images", allow_empty=False)
            blocks = (x[start : start + DEFAULT_CHUNK] for start in range(0, len(x), DEFAULT_CHUNK))
            _, scores = self._score_blocks(blocks, len(x), progress=progress)
        scores.index.name = "index"
        return scores

    def _score_blocks(
        self, blocks: Iterator[Images], n_events: int, *, progress: bool
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        parts = []
        with tqdm(total=n_events, unit="img", desc="scoring", disable=None if progress else True) as bar:
            for images in blocks:  # checked where they entered (the file reader or checked_crops): not again
                part = pd.DataFrame(crop_columns(images), copy=False)
                if self.cnn is not None:
                    part[CNN_SCORE] = self.cnn.score(images)
                parts.append(part)
                bar.update(len(images))
        table = pd.concat(parts, ignore_index=True)
        return table, score_table(self.trees, table, with_cnn=self.cnn is not None)


def _load_member(folder: Path, kind: TreeKind, columns: tuple[str, ...] | None) -> TreeModel:
    """The ``kind`` model of a model set, checked to read ``columns`` (None: only features egid computes)."""
    model = load_tree_model(folder, kind, feature_names=columns, feature_set_version=FEATURE_SET_VERSION)
    unknown = [name for name in model.feature_names if name not in FEATURE_NAMES]
    if columns is None and unknown:
        msg = f"{folder / MANIFEST_NAME}: the {kind} model reads {unknown[:3]}, which egid does not compute"
        raise InputError(msg)
    return model


def _read_thresholds(path: Path) -> dict[str, dict[float, float]]:
    try:
        document: dict[str, Any] = json.loads(path.read_text())
        return {name: {float(k): float(v) for k, v in points.items()} for name, points in document.items()}
    except (OSError, json.JSONDecodeError, AttributeError, ValueError) as err:
        msg = f"{path}: unreadable working points ({err})"
        raise InputError(msg) from None
