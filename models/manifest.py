"""``manifest.json``: what a model directory holds, and the check that it is the model a caller expects.

Every exporter (boosted trees, the CNN folds, the stacking transform) writes its files into one model directory;
the run then calls :func:`write_manifest` once, which records the feature names and their order, the feature-set
version, the seed, the library versions and the SHA-256 of every file in the directory. :func:`read_manifest`
refuses a directory that no longer matches it, with one line naming the file and the problem: a missing
artifact, a corrupted one, or a model built for other features.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from egid.detector import InputError, atomic_path, file_digest
from egid.detector.errors import shorten

__all__ = ("MANIFEST_NAME", "Manifest", "artifact_digests", "read_manifest", "write_manifest")

MANIFEST_NAME = "manifest.json"
_FORMAT = 1
#: Distributions whose versions a manifest records (those installed).
_LIBRARIES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "optuna",
    "onnx",
    "onnxruntime",
    "onnxmltools",
    "torch",
)


@dataclass(frozen=True)
class Manifest:
    """The contents of ``manifest.json``.

    Parameters
    ----------
    feature_names : tuple of str
        The model inputs in the order the models read them.
    feature_set_version : str
        Version of the feature definitions (``egid.features.FEATURE_SET_VERSION``) the models were trained on.
    seed : int
        The run's seed.
    libraries : mapping of str to str
        Python and library versions at export time.
    artifacts : mapping of str to str
        Path relative to the model directory (POSIX separators) -> SHA-256 hex digest.
    extra : mapping of str to Any
        Free JSON-able metadata supplied by the exporters (e.g. the CNN's input transform, an ONNX input map).
    """

    feature_names: tuple[str, ...]
    feature_set_version: str
    seed: int
    libraries: Mapping[str, str] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


def artifact_digests(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Return relative path -> SHA-256 for every file under ``model_dir``, sorted by path.

    The manifest itself and hidden files (names starting with ``.``, such as the temporary files of an
    atomic write in progress) are left out.
    """
    root = Path(model_dir)
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.name != MANIFEST_NAME
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    return {path.relative_to(root).as_posix(): file_digest(path) for path in files}


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(
    model_dir: str | os.PathLike[str],
    *,
    feature_names: Sequence[str],
    feature_set_version: str,
    seed: int,
    extra: Mapping[str, Any] | None = None,
) -> Manifest:
    """Hash every file in ``model_dir`` and write ``model_dir/manifest.json`` (atomically); return it.

    Call it after every artifact is in place: files written later are not covered and files removed later
    make :func:`read_manifest` fail.
    """
    manifest = Manifest(
        feature_names=tuple(feature_names),
        feature_set_version=str(feature_set_version),
        seed=int(seed),
        libraries=_library_versions(),
        artifacts=artifact_digests(model_dir),
        extra=dict(extra or {}),
    )
    document = {
        "format": _FORMAT,
        "feature_names": list(manifest.feature_names),
        "feature_set_version": manifest.feature_set_version,
        "seed": manifest.seed,
        "libraries": dict(manifest.libraries),
        "artifacts": dict(manifest.artifacts),
        "extra": dict(manifest.extra),
    }
    with atomic_path(Path(model_dir) / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return manifest


def _parse(path: Path) -> Manifest:
    if not path.is_file():
        msg = f"{path}: no model manifest; export the models (egid run) before loading them"
        raise InputError(msg)
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        msg = f"{path}: unreadable manifest, not JSON ({err})"
        raise InputError(msg) from err
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        msg = f"{path}: manifest format {found!r}, expected {_FORMAT}"
        raise InputError(msg)
    try:
        return Manifest(
            feature_names=tuple(str(name) for name in document["feature_names"]),
            feature_set_version=str(document["feature_set_version"]),
            seed=int(document["seed"]),
            libraries=dict(document["libraries"]),
            artifacts={str(k): str(v) for k, v in document["artifacts"].items()},
            extra=dict(document["extra"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        msg = f"{path}: incomplete manifest ({type(err).__name__}: {err})"
        raise InputError(msg) from err


def _check_features(path: Path, manifest: Manifest, feature_names: Sequence[str]) -> None:
    expected = tuple(feature_names)
    if manifest.feature_names == expected:
        return
    if len(manifest.feature_names) != len(expected):
        problem = f"the models read {len(manifest.feature_names)} features, the feature table has {len(expected)}"
    else:
        i = next(i for i, (a, b) in enumerate(zip(manifest.feature_names, expected, strict=True)) if a != b)
        problem = f"feature {i} is '{manifest.feature_names[i]}' for the models but '{expected[i]}' in the table"
    msg = f"{path}: feature names differ: {problem}; retrain or use the matching feature set"
    raise InputError(msg)


def _confined(root: Path, name: str, manifest_path: Path) -> Path:
    """``root / name``, refused before it is opened unless it stays inside ``root``: no absolute path, no ``..``,
    no symbolic link leading out of the model directory."""
    relative = Path(name)
    inside = not relative.is_absolute() and ".." not in relative.parts and name not in ("", ".")
    artifact = root / relative
    if inside:
        with contextlib.suppress(OSError):
            inside = artifact.resolve().is_relative_to(root.resolve())
    if not inside:
        msg = f"{manifest_path}: artifact {shorten(name)!r} lies outside the model directory; refused"
        raise InputError(msg)
    return artifact


def read_manifest(
    model_dir: str | os.PathLike[str],
    *,
    feature_names: Sequence[str] | None,
    feature_set_version: str | None,
) -> Manifest:
    """Read ``model_dir/manifest.json`` and check the directory against it and against the caller.

    Parameters
    ----------
    model_dir : path
        The model directory.
    feature_names : sequence of str or None
        The caller's feature columns, in order; None skips this check (e.g. to only inspect a model).
    feature_set_version : str or None
        The caller's feature-set version; None skips this check.

    Raises
    ------
    InputError
        One line naming the file and the problem when the manifest is missing or unreadable, names an artifact
        outside ``model_dir`` (absolute, with ``..`` or through a link; refused before it is opened), an artifact is
        missing or its SHA-256 differs (corrupted or replaced), or the feature-set version or the feature
        names (and their order) differ.
    """
    root = Path(model_dir)
    path = root / MANIFEST_NAME
    manifest = _parse(path)
    artifacts = {name: _confined(root, name, path) for name in manifest.artifacts}  # all before any is opened
    for name, digest in manifest.artifacts.items():
        artifact = artifacts[name]
        if not artifact.is_file():
            msg = f"{artifact}: artifact listed in {path} is missing"
            raise InputError(msg)
        if file_digest(artifact) != digest:
            msg = f"{artifact}: SHA-256 differs from {path}; the file is corrupted or was replaced"
            raise InputError(msg)
    if feature_set_version is not None and manifest.feature_set_version != str(feature_set_version):
        msg = (
            f"{path}: models were trained on feature set version {manifest.feature_set_version!r}, "
            f"this egid computes version {str(feature_set_version)!r}; retrain the models"
        )
        raise InputError(msg)
    if feature_names is not None:
        _check_features(path, manifest, feature_names)
    return manifest
