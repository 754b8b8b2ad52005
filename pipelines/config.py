"""The resolved settings of a run: defaults, then a YAML config file, then the command line.

Every option of ``egid run`` can come from ``--config FILE.yaml``, whose keys are the option names with
underscores (``max_events: 20000``). An unknown key or a value of the wrong type is a user error reported as
one line. The resolved settings are saved in the run directory as ``config.yaml``, and loading that file gives
back the same :class:`RunConfig`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from egid.detector import InputError, atomic_path
from egid.models.storage import DEFAULT_HEARTBEAT

__all__ = ("RunConfig", "load_config", "save_config")


@dataclass(frozen=True)
class RunConfig:
    """Settings of one ``egid run``.

    Attributes
    ----------
    electrons, photons : str, list of str or None
        Input files or glob patterns of each class (see :func:`egid.pipelines.inputs.input_files`).
    data : str or None
        A single input file of both classes; none of the three means the embedded simulation.
    n_per_class : int
        Events per class of the embedded simulation when no input file is given.
    max_events : int or None
        Use at most this many events in total.
    trials : int
        Optuna trials per boosted-tree model.
    timeout : float or None
        Tuning time limit per model, in seconds.
    tuning_rows : int or None
        Optuna trials train on a stratified subsample of at most this many training events (the final models
        use them all); None tunes on the whole training split.
    cnn : bool
        Train the CNN head and stack its out-of-fold score into the trees.
    cnn_folds : int
        Folds of the CNN's cross-fitting over the training split.
    cnn_epochs : int
        Maximum CNN training epochs per fold (early stopping on validation AUC may stop sooner).
    seed : int
        Seed of the split, the folds, the samplers and the models.
    out : str or None
        Run directory; default ``reports/runs/<name>``.
    name : str or None
        Run name; default a UTC time stamp.
    resume : bool
        Continue the Optuna studies stored in an existing run directory ``out``.
    storage : str or None
        Optuna storage URL shared by several processes (for example ``postgresql://...``); default a journal
        file inside the run directory.
    study_name : str or None
        Prefix of the Optuna study names in ``storage``. With ``storage``, the run joins the studies of that
        name (``egid tune`` workers fill them) instead of refusing existing ones.
    heartbeat : int
        Seconds between heartbeats of a running trial in a database ``storage``; a trial silent for twice as
        long belongs to a dead worker and is retried (:mod:`egid.models.storage`).
    scheduler : str or None
        Address of a Dask scheduler (``tcp://host:port``) that extracts the features, one task per file.
    workers : int or None
        Extract the features on a local Dask cluster of this many worker processes.
    data_label : str or None
        Name of the data on the plots; default "egid simulation" for the embedded default, else "CMS Open Data".
    simulated : bool or None
        Whether the input is simulated (plots say "Simulation"); default true for the embedded simulation only.
    cache_dir : str
        Where the simulated sample and the feature tables are cached.
    """

    electrons: str | list[str] | None = None
    photons: str | list[str] | None = None
    data: str | None = None
    n_per_class: int = 30_000
    max_events: int | None = None
    trials: int = 12
    timeout: float | None = None
    tuning_rows: int | None = 60_000
    cnn: bool = True
    cnn_folds: int = 3
    cnn_epochs: int = 6
    seed: int = 0
    out: str | None = None
    name: str | None = None
    resume: bool = False
    storage: str | None = None
    study_name: str | None = None
    heartbeat: int = DEFAULT_HEARTBEAT
    scheduler: str | None = None
    workers: int | None = None
    data_label: str | None = None
    simulated: bool | None = None
    cache_dir: str = dataclasses.field(default_factory=lambda: os.environ.get("EGID_CACHE_DIR", ".egid-cache"))

    @property
    def uses_embedded_simulation(self) -> bool:
        """True when no input file is named, so the run simulates (or reuses) the default sample."""
        return self.electrons is None and self.photons is None and self.data is None


def _allowed_types(annotation: str) -> tuple[type, ...]:
    hint = typing.get_type_hints(RunConfig)[annotation]
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return tuple(typing.get_origin(m) or m for m in members)  # list[str] -> list


def _check_value(key: str, value: Any, source: str) -> Any:
    allowed = _allowed_types(key)
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = False if isinstance(value, bool) and bool not in allowed else isinstance(value, allowed)
    if not ok:
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        msg = f"{source}: key '{key}' must be {names}, got {type(value).__name__} {value!r}"
        raise InputError(msg)
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        msg = f"{source}: key '{key}' must be a list of file names, got {value!r}"
        raise InputError(msg)
    return value


def load_config(path: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> RunConfig:
    """Build the run's settings from defaults, then the YAML file at ``path``, then ``overrides``.

    Raises
    ------
    InputError
        The file is missing or not a YAML mapping, or holds an unknown key or a value of the wrong type.
    """
    valid = [f.name for f in fields(RunConfig)]
    values: dict[str, Any] = {}
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            msg = f"{source}: no such file"
            raise InputError(msg) from None
        except (OSError, yaml.YAMLError) as err:
            msg = f"{source}: not a readable YAML file ({str(err).splitlines()[0]})"
            raise InputError(msg) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            msg = f"{source}: expected a mapping of option names to values, got {type(loaded).__name__}"
            raise InputError(msg)
        for key, value in loaded.items():
            if key not in valid:
                msg = f"{source}: unknown key '{key}' (valid keys: {', '.join(valid)})"
                raise InputError(msg)
            values[key] = _check_value(key, value, source)
    for key, value in overrides.items():
        values[key] = _check_value(key, value, f"--{key.replace('_', '-')}")
    return RunConfig(**values)


def save_config(config: RunConfig, path: str | os.PathLike[str]) -> None:
    """Write ``config`` as YAML (atomically); :func:`load_config` reads it back to an equal RunConfig."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
