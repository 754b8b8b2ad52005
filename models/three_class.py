"""The three-class (electron / photon / charged pion) boosted trees: tuning, fitting, saving, loading, scoring.

A run with pions trains one LightGBM (``multiclass``) and one XGBoost (``multi:softprob``) model on the
three-class feature set (:data:`egid.features.THREE_CLASS_FEATURES`: the e/gamma features plus the hadronic ones),
each tuned by Optuna on the validation multiclass log-loss (:func:`egid.models.tuning.tune_and_fit`, the same
pruning, resume and refit rules as the binary models).

Class balance: every event is weighted inversely to its class's count in its split part
(:func:`egid.models.trees.class_balance_weights`), in training and in the validation log-loss that early stopping
and Optuna watch, so each class weighs a third whatever the file sizes (the pion files are smaller; pions also
deposit less, which the features, not the weights, have to handle). The reported metrics are unweighted, with the
per-class efficiencies beside the accuracy.

With the CNN head (the default, as in binary runs), a three-class CNN (:class:`egid.models.cnn.CNNConfig` with
``n_classes`` = 3) is cross-fitted on the training split (:func:`egid.models.stacking.cross_fit_cnn`); its class
probabilities, out of fold for training events, become the columns :data:`CNN_COLUMNS` of the table, and a
LightGBM and an XGBoost model tuned on the features plus those columns are the stacked models ``lightgbm+cnn``
and ``xgboost+cnn`` (their studies warm-started from the plain models' best parameters). The CNN is a model of
its own too, named ``cnn``: its probabilities are the same columns.

Saved as the model set ``models/three_class/`` (the stacked models and the CNN fold networks in
``models/three_class_stacked/``): each model's native booster, ONNX graph (parity-checked on every
class), parameters, training curves and per-class gain (``<kind>_class_importance.csv``), under a manifest whose
``task`` is ``"three_class"``. :class:`ThreeClassBundle` loads it; its :meth:`~ThreeClassBundle.predict` returns
one probability column per class and model, ``<model>_electron``, ``<model>_photon``, ``<model>_pion``, each
model's three summing to 1.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from egid.detector import DEFAULT_CHUNK, EventDataset, InputError, Split, load_dataset, stratified_subsample
from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, FloatArray, Images
from egid.models.boosters import TREE_KINDS, TreeKind
from egid.models.catalogue import CNN_MODEL, model_names, stacked_name
from egid.models.export import export_tree_model, load_tree_model
from egid.models.importance import write_class_importances
from egid.models.manifest import MANIFEST_NAME, write_manifest
from egid.models.trees import TreeModel
from egid.models.tuning import TuningSettings, tune_and_fit

if TYPE_CHECKING:  # torch is imported only when the CNN runs
    from egid.models.cnn_ensemble import CNNEnsemble

__all__ = (
    "CNN_COLUMNS",
    "N_CLASSES",
    "STACKED_SET",
    "TASK",
    "THREE_CLASS_SET",
    "ThreeClassBundle",
    "balanced_log_loss",
    "best_models",
    "fit_three_class",
    "is_three_class_run",
    "model_probabilities",
    "probability_frame",
    "run_root",
    "save_three_class_set",
    "score_columns",
    "three_class_features",
)

N_CLASSES: Final = len(CLASS_LABELS)
THREE_CLASS_SET: Final = "three_class"
"""Folder of the three-class model set in a run's ``models/``."""
STACKED_SET: Final = "three_class_stacked"
"""Folder of the three-class stacked models and the CNN fold networks in a run's ``models/``."""
TASK: Final = "three_class"
"""The manifest's ``task`` of a three-class model set."""
_PARITY_ROWS = 20_000
"""Test events, drawn seeded and stratified by class, on which each ONNX export must match its booster."""


def three_class_features() -> tuple[str, ...]:
    """The feature columns of the three-class models: :data:`egid.features.THREE_CLASS_FEATURES`."""
    from egid.features import THREE_CLASS_FEATURES

    return tuple(THREE_CLASS_FEATURES)


def score_columns(model: str) -> list[str]:
    """The probability columns of ``model``: ``<model>_electron``, ``<model>_photon``, ``<model>_pion``."""
    return [f"{model}_{name}" for name in CLASS_NAMES]


CNN_COLUMNS: Final = tuple(score_columns(CNN_MODEL))
"""The feature columns that carry the three-class CNN's class probabilities into the stacked trees (and the CNN
model's own score columns): ``cnn_electron``, ``cnn_photon``, ``cnn_pion``."""


def class_columns(model: str, probabilities: FloatArray) -> dict[str, FloatArray]:
    """``(n, 3)`` probabilities, column ``k`` the class of label ``k``, as the columns :func:`score_columns`."""
    return {
        column: probabilities[:, int(label)] for column, label in zip(score_columns(model), CLASS_LABELS, strict=True)
    }


def probability_frame(models: dict[str, TreeModel], table: pd.DataFrame) -> pd.DataFrame:
    """Every model's class probabilities for each row of ``table``: :func:`score_columns` per model, in order.

    Column ``<model>_<class>`` holds the probability of the class of label ``CLASS_LABELS[i]`` (a model's output
    column ``int(label)``); each model's three columns sum to 1. When ``table`` holds :data:`CNN_COLUMNS`, the
    CNN is a model too (``cnn``, between the plain and the stacked trees).
    """
    with_cnn = set(CNN_COLUMNS) <= set(table.columns)
    parts = {}
    for name in model_names(models, with_cnn=with_cnn):
        if name == CNN_MODEL:
            parts.update({column: table[column].to_numpy(dtype=np.float64) for column in CNN_COLUMNS})
        else:
            parts.update(class_columns(name, models[name].predict(table)))
    return pd.DataFrame(parts, index=table.index)


def model_probabilities(frame: pd.DataFrame, model: str) -> FloatArray:
    """A model's ``(n, 3)`` probabilities back from a :func:`probability_frame`, column ``k`` the class of label
    ``k`` (the layout :func:`egid.evaluation.three_class_metrics.three_class_metrics` reads)."""
    out = np.empty((len(frame), N_CLASSES), dtype=np.float64)
    for column, label in zip(score_columns(model), CLASS_LABELS, strict=True):
        out[:, int(label)] = frame[column].to_numpy(dtype=np.float64)
    return out


def fit_three_class(
    table: pd.DataFrame,
    labels: np.ndarray,
    split: Split,
    settings: TuningSettings,
    *,
    tuning_dir: str | os.PathLike[str],
    kinds: Sequence[TreeKind] = TREE_KINDS,
    stacked: bool = False,
    warm_starts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, TreeModel]:
    """Tune and fit one class-balanced three-class model of each of ``kinds`` on ``split``.

    Parameters
    ----------
    table : DataFrame
        Feature table, one row per event.
    labels : ndarray of shape (n_events,)
        0 photon, 1 electron, 2 pion.
    split : Split
        Train (fits), validation (early stopping and Optuna's objective); test is not touched.
    settings : TuningSettings
        Trials, storage and training settings, as for the binary trees; each model's study is named
        ``egid-three-class-<model>`` (``<study_name>-three-class-<model>`` in a shared storage).
    tuning_dir : path
        Holds the journals, trials tables and best parameters.
    kinds : sequence of {"lightgbm", "xgboost"}
    stacked : bool
        Train on the features and :data:`CNN_COLUMNS` (which ``table`` must hold): the models ``<kind>+cnn``.
    warm_starts : dict of str to dict, optional
        By kind, parameters each study tries first (the stacked studies start from the plain models' best).

    Returns
    -------
    dict of str to TreeModel
        By model name: the kind, or ``<kind>+cnn`` when ``stacked``.
    """
    columns = [*three_class_features(), *(CNN_COLUMNS if stacked else ())]
    y = np.asarray(labels, dtype=np.float64)
    X_train, X_val = table.iloc[split.train][columns], table.iloc[split.validation][columns]
    Path(tuning_dir).mkdir(parents=True, exist_ok=True)
    models: dict[str, TreeModel] = {}
    for kind in kinds:
        name = stacked_name(kind) if stacked else kind
        prefix = settings.study_name or "egid"
        study = dataclasses.replace(settings, study_name=f"{prefix}-three-class-{name}")
        models[name] = tune_and_fit(
            kind,
            X_train,
            y[split.train],
            X_val,
            y[split.validation],
            study,
            out_dir=tuning_dir,
            n_classes=N_CLASSES,
            balanced=True,
            warm_start=(warm_starts or {}).get(kind),
        )
    return models


def balanced_log_loss(model: TreeModel, table: pd.DataFrame, labels: np.ndarray, rows: np.ndarray) -> float:
    """``model``'s class-balanced multiclass log-loss on the ``rows`` of ``table`` (positions), in nats per event.

    .. math:: L = \\frac{1}{K} \\sum_c \\frac{1}{N_c} \\sum_{i \\in c} -\\ln p_c(x_i)

    every class weighing ``1/K`` (the weights of :func:`egid.models.trees.class_balance_weights`): the objective its
    Optuna study minimised on the validation rows. Every class must have rows among ``rows``.
    """
    y = np.asarray(labels)[rows].astype(np.int64)
    probabilities = model.predict(table.iloc[rows])
    # clipped as the libraries' own log-loss: a probability that rounds to 0 in float32 is not an infinite loss
    picked = -np.log(np.clip(probabilities[np.arange(y.size), y], 1e-15, 1.0))
    return float(np.mean([picked[y == k].mean() for k in range(N_CLASSES)]))


def best_models(
    models: Mapping[str, TreeModel], table: pd.DataFrame, labels: np.ndarray, rows: np.ndarray
) -> dict[str, TreeModel]:
    """The best features-only model and, when there are stacked ones, the best stacked model, by
    :func:`balanced_log_loss` on ``rows`` (the validation rows: choosing on the test events would bias them)."""
    families = ([name for name in models if name in TREE_KINDS], [name for name in models if name not in TREE_KINDS])
    chosen = [
        min(family, key=lambda name: balanced_log_loss(models[name], table, labels, rows))
        for family in families
        if family
    ]
    return {name: models[name] for name in chosen}


def save_three_class_set(
    models: dict[str, TreeModel],
    table: pd.DataFrame,
    split: Split,
    model_dir: Path,
    *,
    seed: int,
    thresholds: Sequence[float],
    cnn: CNNEnsemble | None = None,
    probe_images: Images | None = None,
) -> list[Path]:
    """Write the three-class model sets into ``model_dir`` and return their folders.

    ``thresholds`` (GeV), the run's threshold study, go into the manifest: ``egid evaluate`` repeats that study.

    ``three_class/`` holds the models on the features alone; with ``cnn``, ``three_class_stacked/`` holds the
    stacked models (``<kind>+cnn``) and the CNN fold networks (their ONNX graphs checked on ``probe_images``).
    ONNX parity of the trees is checked on up to 20 000 test events drawn stratified by class.
    """
    labels = table["label"].to_numpy()[split.test]
    test_rows = table.iloc[split.test[stratified_subsample(labels, _PARITY_ROWS, seed=seed)]]
    plain: dict[str, TreeModel] = {name: model for name, model in models.items() if name in TREE_KINDS}
    stacked: dict[str, TreeModel] = {model.kind: model for name, model in models.items() if name not in plain}
    extra = {"task": TASK, "classes": list(CLASS_NAMES), "thresholds_gev": [float(t) for t in thresholds]}
    folders = [_save_set(model_dir / THREE_CLASS_SET, plain, test_rows, seed=seed, extra=extra)]
    if cnn is not None:
        folder = _save_set(model_dir / STACKED_SET, stacked, test_rows, seed=seed, extra=extra, stacked=True)
        cnn.save(folder, probe_images=probe_images)
        folders.append(folder)
    return folders


def _save_set(
    folder: Path,
    by_kind: Mapping[str, TreeModel],
    test_rows: pd.DataFrame,
    *,
    seed: int,
    extra: Mapping[str, Any],
    stacked: bool = False,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns = [*three_class_features(), *(CNN_COLUMNS if stacked else ())]
    for model in by_kind.values():
        export_tree_model(model, folder, check_X=test_rows[columns])
        write_class_importances(model, folder)
    write_manifest(
        folder,
        feature_names=columns,
        feature_set_version=_feature_set_version(three_class_features()),
        seed=seed,
        extra={"models": list(by_kind), **extra, "stacked": stacked},
    )
    return folder


def _feature_set_version(columns: Sequence[str]) -> str:
    from egid.features.registry import feature_set_version

    return feature_set_version(columns)


def _set_folder(path: str | os.PathLike[str]) -> Path | None:
    """The three-class model set under ``path`` (a run directory, its ``models/``, the set or the stacked set beside
    it), or None."""
    root = Path(path)
    for folder in (root / "models" / THREE_CLASS_SET, root / THREE_CLASS_SET, root):
        manifest = folder / MANIFEST_NAME
        if manifest.is_file():
            try:
                extra = json.loads(manifest.read_text()).get("extra", {})
                if extra.get("task") == TASK:
                    return folder.parent / THREE_CLASS_SET if extra.get("stacked") else folder
            except (OSError, ValueError, AttributeError):
                return None
    return None


def run_root(path: str | os.PathLike[str]) -> Path:
    """The run directory holding the three-class model set under ``path`` (``<run>/models/three_class``).

    Raises
    ------
    InputError
        No three-class model set under ``path``.
    """
    folder = _set_folder(path)
    if folder is None:
        msg = f"{path}: no three-class model set ({THREE_CLASS_SET}/{MANIFEST_NAME} with task '{TASK}')"
        raise InputError(msg)
    return folder.parent.parent


def is_three_class_run(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (a run directory, its ``models/`` folder or a model set) holds a three-class model set."""
    return _set_folder(path) is not None


@dataclass
class ThreeClassBundle:
    """The three-class models of a run, loaded and checked against their manifest.

    Attributes
    ----------
    trees : dict of str to TreeModel
        By model name (``lightgbm``, ``xgboost`` and, with the CNN, ``lightgbm+cnn``, ``xgboost+cnn``).
    feature_names : tuple of str
        The feature columns every model reads (the stacked ones read :data:`CNN_COLUMNS` too).
    thresholds : tuple of float
        The summed crop energy thresholds (GeV) of the run's threshold study, which ``egid evaluate`` repeats.
    cnn : CNNEnsemble or None
        The three-class CNN fold networks, when the run trained them.
    """

    trees: dict[str, TreeModel]
    feature_names: tuple[str, ...]
    thresholds: tuple[float, ...]
    cnn: CNNEnsemble | None = None

    @property
    def names(self) -> list[str]:
        """Model names in display order (the plain trees, ``cnn``, the stacked trees)."""
        return model_names(self.trees, with_cnn=self.cnn is not None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ThreeClassBundle:
        """Load the three-class model set of a run directory (or of its ``models/`` folder, or the set itself).

        Raises
        ------
        InputError
            No three-class model set there, or an artifact is missing, corrupted or of another feature set.
        """
        folder = _set_folder(path)
        if folder is None:
            msg = f"{path}: no three-class model set ({THREE_CLASS_SET}/{MANIFEST_NAME} with task '{TASK}')"
            raise InputError(msg)
        names = tuple(three_class_features())
        trees = _load_set(folder, names)
        thresholds = _thresholds(folder)
        stacked_folder = folder.parent / STACKED_SET
        if not (stacked_folder / MANIFEST_NAME).is_file():
            return cls(trees=trees, feature_names=names, thresholds=thresholds)
        from egid.models.cnn_ensemble import CNNEnsemble

        stacked = _load_set(stacked_folder, (*names, *CNN_COLUMNS))
        cnn = CNNEnsemble.load(stacked_folder)
        if cnn.n_classes != N_CLASSES:
            msg = f"{stacked_folder}: the CNN separates {cnn.n_classes} classes, expected {N_CLASSES}"
            raise InputError(msg)
        return cls(
            trees=trees | {stacked_name(kind): model for kind, model in stacked.items()},
            feature_names=names,
            thresholds=thresholds,
            cnn=cnn,
        )

    def score(self, dataset: EventDataset) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Features and every model's class probabilities for ``dataset``, one streaming pass.

        Returns
        -------
        table : DataFrame
            The feature columns, one row per event in dataset order.
        scores : DataFrame
            :func:`score_columns` of every model.
        """
        return self._score_blocks(images for _, images in dataset.iter_images())

    def predict(self, images: Images | str | os.PathLike[str]) -> pd.DataFrame:
        """Every model's class probabilities for each crop, as ``egid predict`` writes them.

        Parameters
        ----------
        images : array of shape (N, 32, 32, 2), or path-like
            Crops in file units (GeV / 50, ns / 50), or an HDF5 file holding them as ``X`` (``y`` optional).

        Returns
        -------
        DataFrame of shape (N, 3 x n_models)
            ``<model>_electron``, ``<model>_photon``, ``<model>_pion`` per model, each model's three summing to 1;
            index ``index`` (input order).

        Raises
        ------
        InputError
            Crops of the wrong shape, NaN/inf, negative energies, or an unusable file.
        """
        if isinstance(images, (str, os.PathLike)):
            _, scores = self.score(load_dataset(data=images, labelled=False))
        else:
            from egid.features.crops import checked_crops

            x = checked_crops(images, name="images", allow_empty=False)
            blocks = (x[start : start + DEFAULT_CHUNK] for start in range(0, len(x), DEFAULT_CHUNK))
            _, scores = self._score_blocks(blocks)
        scores.index.name = "index"
        return scores

    def _score_blocks(self, blocks: Iterator[Images]) -> tuple[pd.DataFrame, pd.DataFrame]:
        from egid.features.registry import crop_columns

        # The blocks were checked where they entered (the file reader or checked_crops): not again.
        parts = []
        for images in blocks:
            columns = crop_columns(images, self.feature_names)
            if self.cnn is not None:
                columns |= class_columns(CNN_MODEL, self.cnn.score(images).astype(np.float64))
            parts.append(pd.DataFrame(columns, copy=False))
        table = pd.concat(parts, ignore_index=True)
        return table, probability_frame(self.trees, table)


def _thresholds(folder: Path) -> tuple[float, ...]:
    """The threshold study's thresholds (GeV) recorded in the set's manifest, checked."""
    from egid.evaluation.threshold_study import check_thresholds

    extra = json.loads((folder / MANIFEST_NAME).read_text())["extra"]
    if "thresholds_gev" not in extra:
        msg = f"{folder / MANIFEST_NAME}: no 'thresholds_gev' (the run's threshold study); run egid run again"
        raise InputError(msg)
    return check_thresholds(extra["thresholds_gev"], source=f"{folder / MANIFEST_NAME}: 'thresholds_gev'")


def _load_set(folder: Path, feature_names: tuple[str, ...]) -> dict[str, TreeModel]:
    """The trees of one three-class model set, by kind, checked against its manifest and the feature set."""
    document = json.loads((folder / MANIFEST_NAME).read_text())
    version = _feature_set_version(three_class_features())
    trees = {}
    for kind in document["extra"]["models"]:
        if kind not in TREE_KINDS:
            msg = f"{folder / MANIFEST_NAME}: unknown model '{kind}', expected among {TREE_KINDS}"
            raise InputError(msg)
        trees[kind] = load_tree_model(folder, kind, feature_names=feature_names, feature_set_version=version)
        if trees[kind].n_classes != N_CLASSES:
            msg = f"{folder}: the {kind} model separates {trees[kind].n_classes} classes, expected {N_CLASSES}"
            raise InputError(msg)
    return trees
