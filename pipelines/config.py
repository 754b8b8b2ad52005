"""The resolved settings of a run: defaults, then a YAML config file, then the command line.

Every option of ``egid run`` can come from ``--config FILE.yaml``, whose keys are the option names with
underscores (``max_events: 20000``). The file must be UTF-8, at most 64 KiB, and one YAML mapping without
duplicate keys; an unknown key or a value of the wrong type or range is a user error reported as one line
(any value echoed is cut short, so a YAML alias bomb gives a short line too). The resolved settings are
saved in the run directory as ``config.yaml``, and loading that file gives back the same :class:`RunConfig`.
"""

from __future__ import annotations

import dataclasses
import os
import reprlib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from egid.detector import InputError, atomic_path
from egid.detector.errors import shorten
from egid.detector.paths import check_input_file
from egid.models.cnn_budget import CNN_INIT_PRETRAINED, DEFAULT_FOLDS
from egid.models.storage import DEFAULT_HEARTBEAT
from egid.pipelines.options import BOUNDS
from egid.pipelines.vocabulary import RENAMED_OPTIONS, deprecation_notice

__all__ = (
    "THREE_CLASS_TUNING_ROWS",
    "RunConfig",
    "given_settings",
    "job_settings",
    "load_config",
    "restore_config",
    "save_config",
)


@dataclass(frozen=True)
class RunConfig:
    """Settings of one ``egid run``.

    Attributes
    ----------
    electrons, photons : str, list of str or None
        Input files or glob patterns of each class (see :func:`egid.pipelines.inputs.input_files`).
    pions : str, list of str or None
        Input files or glob patterns of charged pions (y = 2): the run trains the three-class electron / photon /
        pion models (:mod:`egid.pipelines.three_class`).
    data : str or None
        A single input file of the classes (labels 0 and 1, or 0, 1 and 2 for the three-class job); none of the
        input settings means the embedded simulation.
    events_per_class : int
        Events per class of the embedded simulation when no input file is given.
    with_pions : bool
        Embedded simulation only: simulate ``events_per_class`` charged pions too and train the three-class models.
    thresholds : list of float or None
        Three-class runs: the summed crop energy thresholds of the threshold study, in GeV; None:
        :data:`egid.evaluation.threshold_study.DEFAULT_THRESHOLDS_GEV`.
    max_events : int or None
        Use at most this many events in total.
    trials : int
        Optuna trials per boosted-tree model.
    timeout : float or None
        Tuning time limit per model, in seconds.
    tuning_rows : int or None
        Optuna trials train on a stratified subsample of at most this many training events (the final models
        use them all); None tunes on the whole training split. A three-class run given no value tunes on at most
        :data:`THREE_CLASS_TUNING_ROWS` (:func:`job_settings`).
    cnn : bool
        Train the CNN head and stack its out-of-fold score into the trees.
    stacked_trials : int
        Optuna trials of each stacked tree (features + ``cnn_score``). The first is the features-only model's best
        parameters; with the default of 1 it is the only one, trained once on every training event (the stacked
        trees gained under 0.001 validation AUC from 11 more trials on 30k + 30k simulated events).
    cnn_folds : int
        Folds of the CNN's cross-fitting over the training split.
    cnn_epochs : int or None
        Optional cap on the passes each CNN fold network makes over its training images; None: the training
        budget alone decides (images seen adapt to the sample size, :mod:`egid.models.cnn_budget`).
    cnn_init : str
        Where the CNN fold networks start: ``"pretrained"`` (the weights shipped with egid, pretrained on its
        own simulation, then fine-tuned on each fold), ``"scratch"`` (random weights), or the path of a file
        written by ``egid pretrain``.
    trigger : bool
        Train the trigger-sized model ``trigger`` (a booster within :data:`egid.models.trigger.TRIGGER_LIMITS`)
        and state its AUC cost against the features-only boosters.
    seed : int
        Seed of the split, the folds, the samplers and the models.
    threads : int or None
        Threads of each boosted-tree fit; None: before each fit, the cores other jobs leave idle
        (:func:`egid.models.cpu.threads_for_next_fit`). A fixed value makes a run on a busy machine reproducible.
    out_dir : str or None
        Run directory; default ``reports/runs/<name>``.
    name : str or None
        Run name; default a UTC time stamp.
    resume : bool
        Continue the Optuna studies stored in an existing run directory ``out_dir``.
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
    pions: str | list[str] | None = None
    data: str | None = None
    events_per_class: int = 30_000
    with_pions: bool = False
    thresholds: list[float] | None = None
    max_events: int | None = None
    trials: int = 12
    timeout: float | None = None
    tuning_rows: int | None = 60_000
    cnn: bool = True
    stacked_trials: int = 1
    cnn_folds: int = DEFAULT_FOLDS
    cnn_epochs: int | None = None
    cnn_init: str = CNN_INIT_PRETRAINED
    trigger: bool = True
    seed: int = 0
    threads: int | None = None
    out_dir: str | None = None
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
        return self.electrons is None and self.photons is None and self.pions is None and self.data is None


THREE_CLASS_TUNING_ROWS = 20_000
"""Default ``tuning_rows`` of a three-class run: a third of the binary default, because a multiclass booster grows
one tree per class each round, so a trial on N events costs about what a binary trial on 3N does. The refits still
use every training event, with early stopping."""


def job_settings(config: RunConfig, given: Mapping[str, Any], *, three_class: bool) -> RunConfig:
    """``config`` of a new run with the defaults that depend on its job: a three-class run not ``given`` a
    ``tuning_rows`` tunes on at most :data:`THREE_CLASS_TUNING_ROWS` events. The saved config then records the
    value, so a resumed run keeps it."""
    if three_class and "tuning_rows" not in given:
        return dataclasses.replace(config, tuning_rows=THREE_CLASS_TUNING_ROWS)
    return config


MAX_CONFIG_BYTES = 64 * 1024
"""Largest config file read: a settings file is a few hundred bytes; a bigger one is not a config."""
RESUMABLE_CHANGES = ("resume", "trials", "stacked_trials", "timeout", "threads", "cache_dir", "out_dir", "name")
"""Settings a resumed run may change: the tuning budget and where things live (a run directory may have been
moved), not what is computed."""
PATH_KEYS = ("electrons", "photons", "pions", "data", "out_dir", "cache_dir")
"""Settings that name a path; two spellings of the same path are the same setting."""

RENAMED_KEYS = {
    old.removeprefix("--").replace("-", "_"): new.removeprefix("--").replace("-", "_")
    for old, new in RENAMED_OPTIONS["run"].items()
}
"""Config keys of egid 0.1 -> their names now (the options' renames, spelled as keys); read with a notice."""

_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxlist, _PREVIEW.maxdict, _PREVIEW.maxstring, _PREVIEW.maxother = 2, 4, 4, 40, 40


def _preview(value: Any) -> str:
    """A short, bounded ``repr`` of a YAML value (an alias bomb must not become a megabyte error line)."""
    return _PREVIEW.repr(value)


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate key {_preview(key)} at line {line}")


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The one YAML mapping in the file at ``path``, or InputError with one line saying why not."""
    source = str(path)
    file = check_input_file(path, what="a YAML file")
    size = file.stat().st_size
    if size > MAX_CONFIG_BYTES:
        msg = f"{source}: {size} bytes, too large for a config file (at most {MAX_CONFIG_BYTES})"
        raise InputError(msg)
    raw = file.read_bytes()[: MAX_CONFIG_BYTES + 1]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"{source}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})"
        raise InputError(msg) from None
    try:
        documents = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if err.problem_mark is not None else ""
        msg = f"{source}: not a readable YAML file{where} ({shorten(err.problem or err.context)})"
        raise InputError(msg) from None
    except yaml.YAMLError as err:
        msg = f"{source}: not a readable YAML file ({shorten(err)})"
        raise InputError(msg) from None
    except RecursionError:
        msg = f"{source}: not a config file, its YAML is nested too deeply"
        raise InputError(msg) from None
    if len(documents) > 1:
        msg = f"{source}: holds {len(documents)} YAML documents, expected one mapping of option names to values"
        raise InputError(msg)
    loaded = documents[0] if documents and documents[0] is not None else {}
    if not isinstance(loaded, dict):
        msg = f"{source}: expected a mapping of option names to values, got {type(loaded).__name__}"
        raise InputError(msg)
    return loaded


def _allowed_types(annotation: str) -> tuple[type, ...]:
    hint = typing.get_type_hints(RunConfig)[annotation]
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return tuple(typing.get_origin(m) or m for m in members)  # list[str] -> list


def _check_value(key: str, value: Any, source: str) -> Any:
    """``value`` of setting ``key`` if its type and range are right (ints pass as floats), else InputError."""
    if key == "thresholds" and value is not None:
        from egid.evaluation.threshold_study import check_thresholds

        given = value if isinstance(value, list) else [value]  # one value on the command line comes as a scalar
        name = source if source.startswith("--") else f"{source}: key 'thresholds'"
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in given):
            msg = f"{name}: expected a list of energies in GeV, got {_preview(value)}"
            raise InputError(msg)
        return list(check_thresholds(given, source=name))
    allowed = _allowed_types(key)
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = False if isinstance(value, bool) and bool not in allowed else isinstance(value, allowed)
    if not ok:
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        msg = f"{source}: key '{key}' must be {names}, got {type(value).__name__} {_preview(value)}"
        raise InputError(msg)
    bound = BOUNDS.get(key)
    if bound is not None and value is not None and not bound.allows(value):
        msg = f"{source}: key '{key}' must be {bound.describe()}, got {_preview(value)}"
        raise InputError(msg)
    if isinstance(value, str) and (not value or "\0" in value):
        msg = f"{source}: key '{key}' must be a non-empty text without NUL characters, got {_preview(value)}"
        raise InputError(msg)
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        msg = f"{source}: key '{key}' must be a list of file names, got {_preview(value)}"
        raise InputError(msg)
    return value


def given_settings(
    path: str | os.PathLike[str] | None, overrides: dict[str, Any], *, saved: bool = False
) -> dict[str, Any]:
    """The settings given explicitly: the YAML file at ``path`` (if any), then ``overrides``, each checked.

    A key of egid 0.1 (:data:`RENAMED_KEYS`) is read as its new name, with a deprecation notice unless the file is
    a run directory's own record (``saved``).

    Raises
    ------
    InputError
        The file is missing, unreadable, too large, not UTF-8, not one YAML mapping, or has a duplicate key,
        an unknown key, or a value of the wrong type or outside its range (:data:`egid.pipelines.options.BOUNDS`).
    """
    valid = [f.name for f in fields(RunConfig)]
    values: dict[str, Any] = {}
    if path is not None:
        source = str(path)
        for key, value in _read_yaml(path).items():
            if key in RENAMED_KEYS:
                if not saved:
                    deprecation_notice(f"{source}: key '{key}'", f"'{RENAMED_KEYS[key]}'")
                key = RENAMED_KEYS[key]
            if key not in valid:
                msg = f"{source}: unknown key {_preview(key)} (valid keys: {', '.join(valid)})"
                raise InputError(msg)
            values[key] = _check_value(key, value, source)
    for key, value in overrides.items():
        values[key] = _check_value(key, value, f"--{key.replace('_', '-')}")
    return values


def load_config(path: str | os.PathLike[str] | None, overrides: dict[str, Any], *, saved: bool = False) -> RunConfig:
    """Build the run's settings from defaults, then the YAML file at ``path``, then ``overrides``.

    Raises
    ------
    InputError
        As :func:`given_settings`.
    """
    return RunConfig(**given_settings(path, overrides, saved=saved))


def restore_config(path: str | os.PathLike[str], given: dict[str, Any]) -> RunConfig:
    """The saved settings of a run being resumed, with the ``given`` ones checked against them.

    Only :data:`RESUMABLE_CHANGES` may differ (they are applied); any other given setting must equal the saved
    one (paths compared after resolving), so a resumed run never continues its studies on other settings.

    Raises
    ------
    InputError
        Naming the first option that contradicts the saved run.
    """
    saved = load_config(path, {}, saved=True)
    changes = {}
    for key, value in given.items():
        old = getattr(saved, key)
        same = _same_path(old, value) if key in PATH_KEYS else old == value
        if key in RESUMABLE_CHANGES:
            changes[key] = value
        elif not same:
            option = f"--{key.replace('_', '-')}"
            msg = (
                f"{option}: the run being resumed was made with {key} = {_preview(old)}, not {_preview(value)}; "
                f"a resumed run keeps its settings (see {path})"
            )
            raise InputError(msg)
    return dataclasses.replace(saved, **changes)


def _same_path(a: str | list[str] | None, b: str | list[str] | None) -> bool:
    """Whether two settings name the same file(s): one path or a list of them, compared after resolving."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    first, second = ([a] if isinstance(a, str) else a), ([b] if isinstance(b, str) else b)
    return len(first) == len(second) and all(
        Path(x).resolve() == Path(y).resolve() for x, y in zip(first, second, strict=True)
    )


def save_config(config: RunConfig, path: str | os.PathLike[str]) -> None:
    """Write ``config`` as YAML (atomically); :func:`load_config` reads it back to an equal RunConfig."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
